// Tests of ConcurrencyLimiter against simulated servers: slots with 503 beyond them, a latency that grows
// with the load, and a pinned limit.
import XCTest
@testable import BatchEngine

final class ConcurrencyLimiterTests: XCTestCase {
    /// A server with `slots` slots that refuses beyond them, driven in rounds: each round sends up to the limit
    /// one request after the other (the i-th with i in flight), the requests past the slots are refused, the
    /// others succeed. Returns (requests, refused) of the last `measured` rounds and the limit at the end.
    func simulate(slots: Int, ceiling: Int, start: Int? = nil, rounds: Int, measured: Int) -> (requests: Int, refused: Int, limit: Int) {
        var limiter = ConcurrencyLimiter(ceiling: ceiling, start: start, pinned: false)
        var sequence: UInt64 = 0
        var requests = 0, refused = 0
        for round in 0..<rounds {
            let sent = limiter.current
            let first = sequence + 1
            sequence += UInt64(sent)
            for i in 1...sent {
                let counting = round >= rounds - measured
                if counting { requests += 1 }
                if i > slots {
                    if counting { refused += 1 }
                    limiter.overload(sequence: first + UInt64(i - 1), inFlight: i, nextSequence: sequence + 1)
                } else {
                    limiter.success(latency: 0.1, inFlight: i)
                }
            }
        }
        return (requests, refused, limiter.current)
    }

    func testFindsTheSlotsFromTheCeilingAndThenRarelyProbesPastThem() {
        for slots in [1, 4, 16, 50] {
            let result = simulate(slots: slots, ceiling: 64, rounds: 3_000, measured: 2_000)
            XCTAssertLessThanOrEqual(abs(result.limit - slots), 1, "slots \(slots): limit \(result.limit)")
            let share = Double(result.refused) / Double(result.requests)
            XCTAssertLessThan(share, 0.01, "slots \(slots): \(result.refused) of \(result.requests) refused once settled")
            // Throughput: the requests that found a slot, against a server kept full.
            let served = Double(result.requests - result.refused) / Double(2_000 * slots)
            XCTAssertGreaterThan(served, 0.9, "slots \(slots): \(served) of the capacity used")
        }
    }

    func testStartsFromTheReportedSlotsWithinTheCeiling() {
        XCTAssertEqual(ConcurrencyLimiter(ceiling: 64, start: 8, pinned: false).current, 8)
        XCTAssertEqual(ConcurrencyLimiter(ceiling: 4, start: 8, pinned: false).current, 4)
        XCTAssertEqual(ConcurrencyLimiter(ceiling: 64, start: nil, pinned: false).current, 64)
        let result = simulate(slots: 8, ceiling: 64, start: 8, rounds: 200, measured: 200)
        XCTAssertLessThan(Double(result.refused) / Double(result.requests), 0.02, "starting at the slots, almost nothing is refused")
    }

    func testAPinnedLimitNeverMoves() {
        var limiter = ConcurrencyLimiter(ceiling: 12, start: 3, pinned: true)
        XCTAssertEqual(limiter.current, 12)
        limiter.overload(sequence: 1, inFlight: 12, nextSequence: 2)
        XCTAssertEqual(limiter.current, 12)
    }

    /// Growth needs the limit to be what holds requests back: a job that keeps only 3 in flight leaves it.
    func testGrowsOnlyWhenTheLimitIsReached() {
        var limiter = ConcurrencyLimiter(ceiling: 64, start: 8, pinned: false)
        for _ in 0..<1_000 { limiter.success(latency: 0.1, inFlight: 3) }
        XCTAssertEqual(limiter.current, 8)
        for _ in 0..<1_000 { limiter.success(latency: 0.1, inFlight: limiter.current) }
        XCTAssertGreaterThan(limiter.current, 8)
    }

    /// A server that queues instead of refusing: latency doubles past its slots, and the limit stops growing.
    func testStopsGrowingWhenLatencyDoubles() {
        var limiter = ConcurrencyLimiter(ceiling: 256, start: 8, pinned: false)
        for _ in 0..<20_000 {
            let inFlight = limiter.current
            // 8 slots of 1 s: a request past them waits for a slot.
            let latency = Double(max(8, inFlight)) / 8
            limiter.success(latency: latency, inFlight: inFlight)
        }
        XCTAssertLessThanOrEqual(limiter.current, 20, "latency held the limit near the slots: \(limiter.current)")
        XCTAssertGreaterThanOrEqual(limiter.current, 8)
    }

    /// Overloads from requests sent before a cut are one event: the limit falls to what they showed, once.
    func testABurstOfRefusalsCutsOnce() {
        var limiter = ConcurrencyLimiter(ceiling: 64, start: nil, pinned: false)
        for i in 1...64 { limiter.overload(sequence: UInt64(i), inFlight: 64, nextSequence: 65) }
        XCTAssertEqual(limiter.current, 63, "one cut for the burst, not 64")
        limiter.overload(sequence: 10, inFlight: 10, nextSequence: 65)
        XCTAssertEqual(limiter.current, 9, "a refusal at 10 in flight shows room for 9")
    }

    /// 429s that strike one request in ten at random while the others succeed (a rate limiter's, with
    /// Retry-After) leave the limit where it is: cutting on each would shrink it to a handful.
    func testRandomRefusalsWhileMostSucceedDoNotShrinkTheLimit() {
        var limiter = ConcurrencyLimiter(ceiling: 32, start: nil, pinned: false)
        var generator = SystemRandomNumberGenerator()
        var sequence: UInt64 = 0
        for _ in 0..<20_000 {
            sequence += 1
            let inFlight = limiter.current
            if Int.random(in: 0..<10, using: &generator) == 0 {
                limiter.overload(sequence: sequence, inFlight: inFlight, nextSequence: sequence + 1)
            } else {
                limiter.success(latency: 0.1, inFlight: inFlight)
            }
        }
        XCTAssertGreaterThanOrEqual(limiter.current, 28, "the limit stayed near its ceiling: \(limiter.current)")
    }
}
