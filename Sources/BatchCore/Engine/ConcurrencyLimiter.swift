// ConcurrencyLimiter: one endpoint's adaptive limit on requests in flight (additive increase, backoff on overload).
import Foundation

/// The limit grows by one for each limit's worth of successes while the limit is what holds requests back and
/// latency stays within twice its baseline (the lowest average seen, forgotten by half every ten minutes, so a
/// slower mix of rows does not freeze the limit for good). An overload (429, 503, 504, a timeout) of a
/// request sent at the limit cuts it to one below the concurrency the request was sent at, when the overloads
/// at the limit look like a capacity: at least two of them, and more than one in five of the answers there. Overloads that strike at random while most requests at the limit succeed (a rate limiter's 429 with
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
    /// Answers to requests sent at the current limit since it last changed (or since the counts were halved).
    private var successesAtLimit = 0.0
    private var overloadsAtLimit = 0.0
    private var latencyAverage: Double?
    private var latencyBaseline: Double?
    private var baselineTime = 0.0

    static let maxProbeSpacing = 512.0

    init(ceiling: Int, start: Int?, pinned: Bool) {
        self.ceiling = max(1, ceiling)
        self.pinned = pinned
        limit = Double(pinned ? self.ceiling : min(self.ceiling, max(1, start ?? self.ceiling)))
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
        if inFlight >= current { countAtLimit(success: true) }
        guard current < ceiling, inFlight >= current else { return }
        if let average = latencyAverage, let baseline = latencyBaseline, average > 2 * baseline { return }
        let probing = knownCapacity.map { current >= $0 } ?? false
        credit += 1 / (limit * (probing ? probeSpacing : 1))
        if credit >= 1 {
            credit = 0
            limit = min(Double(ceiling), Double(current + 1))
            successesAtLimit = 0
            overloadsAtLimit = 0
        }
    }

    /// Counts at the limit over a sliding window of about eight limits' worth of answers.
    private mutating func countAtLimit(success: Bool) {
        if success { successesAtLimit += 1 } else { overloadsAtLimit += 1 }
        if successesAtLimit + overloadsAtLimit > Double(8 * current + 32) {
            successesAtLimit /= 2
            overloadsAtLimit /= 2
        }
    }

    /// The server refused (429, 503) or timed out a request sent with sequence number `sequence` while
    /// `inFlight` requests (itself included) were out; `nextSequence` is the number the next send will get.
    mutating func overload(sequence: UInt64, inFlight: Int, nextSequence: UInt64) {
        guard !pinned else { return }
        let shown = max(1, inFlight - 1)
        if sequence >= eventStart {
            // A request below the limit says nothing about it; one at the limit counts.
            guard inFlight >= current else { return }
            countAtLimit(success: false)
            guard overloadsAtLimit >= 2 && overloadsAtLimit * 4 > successesAtLimit else { return }
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
        successesAtLimit = 0
        overloadsAtLimit = 0
        eventStart = nextSequence
    }
}
