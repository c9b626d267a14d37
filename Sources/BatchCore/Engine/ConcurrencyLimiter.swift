// ConcurrencyLimiter: one endpoint's adaptive limit on requests in flight (additive increase, backoff on overload).
import Foundation

/// The limit grows by one for each limit's worth of successes while the limit is what holds requests back and
/// latency stays within twice its baseline (the lowest average seen, forgotten by half every ten minutes, so a
/// slower mix of rows does not freeze the limit for good). An overload (429, 503, 504, a timeout) of a
/// request sent with f requests in flight cuts the limit to f - 1 when the answers to requests sent with f or
/// more in flight look like a capacity: at least two overloads among them, and more than one in five. Overloads
/// that strike at random while most requests at the same concurrency succeed (a rate limiter's 429 with
/// Retry-After) are retried without a cut: cutting on them would shrink the limit to nothing.
/// After a cut the limit probes one step above the level that failed only after exponentially more
/// successes each time the same level fails again, so a server with a hard number of slots that answers 503
/// beyond them sees almost no rejected requests once the limit has found the number.
///
/// Overloads from requests sent before the last cut belong to the same event: they only lower the limit
/// further to the concurrency at which they were sent.
struct ConcurrencyLimiter: Sendable {
    /// `--concurrency` or the endpoint's own: the limit never exceeds it.
    let ceiling: Int
    /// A pinned limit stays at the ceiling.
    let pinned: Bool
    private(set) var limit: Double
    /// Successes towards the next step, in units of the current limit.
    private var credit = 0.0
    /// The concurrency at which the server last refused: probing above it waits for `probeSpacing` limits' worth of successes.
    private(set) var knownCapacity: Int?
    private var probeSpacing = 1.0
    /// Requests sent at or after this sequence number see the limit of the last cut.
    private var eventStart: UInt64 = 0
    /// Answers by the concurrency their requests were sent at (index: requests in flight, the ceiling for more),
    /// halved now and then so that old evidence fades.
    private var successesAt: [Double]
    private var overloadsAt: [Double]
    private var answersCounted = 0.0
    private var latencyAverage: Double?
    private var latencyBaseline: Double?
    private var baselineTime = 0.0

    static let maxProbeSpacing = 512.0

    init(ceiling: Int, start: Int?, pinned: Bool) {
        self.ceiling = max(1, ceiling)
        self.pinned = pinned
        limit = Double(pinned ? self.ceiling : min(self.ceiling, max(1, start ?? self.ceiling)))
        successesAt = Array(repeating: 0, count: self.ceiling + 1)
        overloadsAt = Array(repeating: 0, count: self.ceiling + 1)
    }

    /// Requests allowed in flight now.
    var current: Int { max(1, Int(limit)) }

    /// A success of a request sent while `inFlight` requests (itself included) were out; `now` is a monotonic
    /// clock in seconds.
    mutating func success(latency: Double, inFlight: Int, now: Double = 0) {
        if latency.isFinite && latency >= 0 {
            let average = latencyAverage.map { $0 * 0.9 + latency * 0.1 } ?? latency
            latencyAverage = average
            let relaxed = (latencyBaseline ?? average) * pow(2, max(0, now - baselineTime) / 600)
            latencyBaseline = min(average, relaxed)
            baselineTime = now
        }
        guard !pinned else { return }
        count(success: true, inFlight: inFlight)
        guard current < ceiling, inFlight >= current else { return }
        if let average = latencyAverage, let baseline = latencyBaseline, average > 2 * baseline { return }
        let probing = knownCapacity.map { current >= $0 } ?? false
        credit += 1 / (limit * (probing ? probeSpacing : 1))
        if credit >= 1 {
            credit = 0
            limit = min(Double(ceiling), Double(current + 1))
        }
    }

    /// Counts an answer at its concurrency; every eight ceilings' worth of answers the counts are halved.
    private mutating func count(success: Bool, inFlight: Int) {
        let level = min(ceiling, max(0, inFlight))
        if success { successesAt[level] += 1 } else { overloadsAt[level] += 1 }
        answersCounted += 1
        if answersCounted > Double(8 * ceiling + 32) {
            answersCounted /= 2
            for i in successesAt.indices { successesAt[i] /= 2; overloadsAt[i] /= 2 }
        }
    }

    /// The server refused (429, 503) or timed out a request sent with sequence number `sequence` while
    /// `inFlight` requests (itself included) were out; `nextSequence` is the number the next send will get.
    mutating func overload(sequence: UInt64, inFlight: Int, nextSequence: UInt64) {
        guard !pinned else { return }
        let shown = max(1, inFlight - 1)
        count(success: false, inFlight: inFlight)
        if sequence >= eventStart {
            let level = min(ceiling, max(0, inFlight))
            let overloads = overloadsAt[level...].reduce(0, +), successes = successesAt[level...].reduce(0, +)
            guard overloads >= 2 && overloads * 4 > successes else { return }
        }
        if sequence < eventStart {
            // Part of the event already answered: only what this request shows about the server's capacity.
            if shown < current { limit = Double(shown); knownCapacity = min(knownCapacity ?? shown, shown) }
            return
        }
        // The same level failing again: probe it half as often. A higher one (the server took more, or a request
        // slipped in as another finished): a little more often, not from scratch, since timing alone does that.
        if knownCapacity == shown {
            probeSpacing = min(Self.maxProbeSpacing, probeSpacing * 2)
        } else if let known = knownCapacity, known < shown {
            probeSpacing = max(1, probeSpacing / 2)
        }
        knownCapacity = shown
        limit = max(1, min(limit - 1, Double(shown)))
        credit = 0
        eventStart = nextSequence
    }
}
