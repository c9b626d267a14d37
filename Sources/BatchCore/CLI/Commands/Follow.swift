// Following a job until it ends: a live line on a terminal, one line per state change elsewhere, and the
// exit-status contract of `wait` (0 completed, 8 other end state, 9 timeout, 130 Ctrl-C).
import BatchAPI
import BatchClient
import BatchJSONL
import Foundation

enum Follow {
    static func run(_ c: Context, name: ResourceName, interval: Double, timeout: Double?, exitContract: Bool,
                    afterEnd: (BatchInferenceJob) throws -> Void) throws -> BatchInferenceJob {
        let client = try c.client()
        Interrupt.setMessage("interrupted; \(name.id) keeps running on the gateway (follow it again with 'batchctl bij wait \(name.id)')")
        defer { Interrupt.setMessage(nil) }
        let start = Date()
        var lastState: JobState?
        var firstSample: (Date, Int64)?
        var lastProgress: (Date, Int64)?
        var warnedStall = false
        let live = c.streams.showsProgress
        // Poll quickly at first (short jobs end in a second), then settle at the interval.
        var pace = min(interval, 0.25)
        while true {
            guard let raw = try client.send(Endpoints.getJob(name)) else { return BatchInferenceJob() }
            let job = try BatchInferenceJob(json: raw)
            let now = Date()
            let p = job.jobProgress
            let processed = Int64(p?.totalProcessedRequests ?? 0)
            if firstSample == nil || processed < firstSample!.1 { firstSample = (now, processed) }
            if lastProgress == nil || processed != lastProgress!.1 { lastProgress = (now, processed) }
            let stalled = job.state == JobState.running && now.timeIntervalSince(lastProgress!.0) > max(120, 10 * interval)

            if live {
                c.streams.progress("\r\u{1B}[K" + liveLine(job, elapsed: now.timeIntervalSince(start), first: firstSample!, now: now, stalled: stalled))
            } else if job.state != lastState {
                c.streams.note("\(Timestamp.now().prefix(19))Z \(name.id): \(job.state.shortName) \(counts(job))")
            }
            if stalled, !warnedStall, !live {
                c.streams.note("warning: \(name.id) has made no progress for \(DurationText.human(now.timeIntervalSince(lastProgress!.0)))")
                warnedStall = true
            }
            lastState = job.state

            if job.isTerminal {
                if live { c.streams.progress("\r\u{1B}[K") }
                try afterEnd(job)
                c.render([raw], kind: .batchInferenceJob, isList: false)
                if exitContract, job.state != JobState.completed {
                    throw CLIError.jobEnded(state: job.state.rawValue, message: job.status.message)
                }
                return job
            }
            var sleep = pace * Double.random(in: 0.9...1.1)
            pace = min(interval, pace * 2)
            if let timeout {
                let left = timeout - now.timeIntervalSince(start)
                if left <= 0 {
                    if live { c.streams.progress("\r\u{1B}[K") }
                    throw CLIError.waitTimedOut("\(name.id) is still \(job.state.shortName) after \(DurationText.human(timeout)) (\(counts(job)))")
                }
                sleep = min(sleep, left)
            }
            Thread.sleep(forTimeInterval: sleep)
        }
    }

    static func counts(_ job: BatchInferenceJob) -> String {
        guard let p = job.jobProgress else { return "" }
        return "\(p.totalProcessedRequests)/\(p.totalInputRequests) rows (\(p.successfullyProcessedRequests) ok, \(p.failedRequests) failed)"
    }

    static func liveLine(_ job: BatchInferenceJob, elapsed: Double, first: (Date, Int64), now: Date, stalled: Bool) -> String {
        var line = job.state.shortName
        if let p = job.jobProgress, p.totalInputRequests > 0 {
            let fraction = min(1, Double(p.totalProcessedRequests) / Double(p.totalInputRequests))
            let width = 20
            let filled = Int(fraction * Double(width))
            line += " [" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            line += counts(job)
            let span = now.timeIntervalSince(first.0)
            let done = Int64(p.totalProcessedRequests) - first.1
            if span > 0.5, done > 0 {
                let rate = Double(done) / span
                line += String(format: " %.0f rows/s", rate)
                let left = Double(p.totalInputRequests - p.totalProcessedRequests)
                if left > 0 { line += " ETA \(DurationText.human(left / rate))" }
            }
        }
        line += " elapsed \(DurationText.human(elapsed))"
        if stalled { line += " (no progress lately)" }
        return line
    }
}
