// Following a job until it ends: a live line on a terminal; elsewhere one line per state change and at least
// every --progress-interval; a summary of failed rows on stderr; and the exit-status contract (0 completed,
// 8 other end state, 9 --wait-timeout, 10 failed rows with --fail-on-row-errors, 130 Ctrl-C).
import BatchAPI
import BatchClient
import BatchJSONL
import Foundation

enum Follow {
    struct Options {
        /// Seconds between polls once the job has settled.
        var pollInterval: Double
        /// Nil: as long as it takes.
        var timeout: Double?
        /// Exit 8 when the job ends in a state other than COMPLETED (`wait`, `create --wait`; not `get --watch`).
        var exitContract: Bool
        var failOnRowErrors: Bool
        /// Off a terminal, a progress line at least this often.
        var progressInterval: Double

        init(poll: Double, _ follow: FollowArguments, exitContract: Bool) {
            pollInterval = poll
            timeout = follow.waitTimeout.map(DurationText.seconds)
            self.exitContract = exitContract
            failOnRowErrors = follow.failOnRowErrors
            progressInterval = DurationText.seconds(follow.progressInterval)
        }
    }

    /// Follows `name` to its end; `afterEnd` runs before the final job is printed and returns the files it
    /// wrote (a `--download`), where the failed-row summary looks for `error-data` first.
    @discardableResult
    static func run(_ c: Context, name: ResourceName, options: Options,
                    afterEnd: (BatchInferenceJob) throws -> [String] = { _ in [] }) throws -> BatchInferenceJob {
        let client = try c.client()
        Interrupt.setMessage("interrupted; \(name.id) keeps running on the gateway (follow it again with 'batchctl bij wait \(name.id)')")
        defer { Interrupt.setMessage(nil) }
        let start = Date()
        var lastState: JobState?
        var firstSample: (Date, Int64)?
        var lastProgress: (Date, Int64)?
        var lastLine = Date.distantPast
        var warnedStall = false
        let live = c.streams.showsProgress
        // Poll quickly at first (short jobs end in a second), then settle at the interval.
        var pace = min(options.pollInterval, 0.25)
        while true {
            guard let raw = try client.send(Endpoints.getJob(name)) else { return BatchInferenceJob() }
            let job = try BatchInferenceJob(json: raw)
            let now = Date()
            let processed = Int64(job.jobProgress?.totalProcessedRequests ?? 0)
            if firstSample == nil || processed < firstSample!.1 { firstSample = (now, processed) }
            if lastProgress == nil || processed != lastProgress!.1 { lastProgress = (now, processed) }
            let stalled = job.state == JobState.running && now.timeIntervalSince(lastProgress!.0) > max(120, 10 * options.pollInterval)
            let rate = rate(job, first: firstSample!, now: now)

            if live {
                c.streams.progress("\r\u{1B}[K" + liveLine(job, elapsed: now.timeIntervalSince(start), rate: rate, stalled: stalled))
            } else if job.state != lastState || now.timeIntervalSince(lastLine) >= options.progressInterval - 0.01 {
                c.streams.note(progressLine(job, id: name.id, rate: rate))
                lastLine = now
            }
            if stalled, !warnedStall, !live {
                c.streams.note("warning: \(name.id) has made no progress for \(DurationText.human(now.timeIntervalSince(lastProgress!.0)))")
                warnedStall = true
            }
            lastState = job.state

            if job.isTerminal {
                if live { c.streams.progress("\r\u{1B}[K") }
                let written = try afterEnd(job)
                c.render([raw], kind: .batchInferenceJob, isList: false)
                let failed = Int(job.jobProgress?.failedRequests ?? 0)
                if failed > 0 { summarizeFailedRows(c, job: job, name: name, written: written) }
                if options.exitContract, job.state != JobState.completed {
                    throw CLIError.jobEnded(state: job.state.rawValue, message: job.status.message)
                }
                if options.failOnRowErrors, failed > 0 {
                    throw CLIError.rowErrors("\(name.id) ended with \(failed) failed row\(failed == 1 ? "" : "s") (--fail-on-row-errors)")
                }
                return job
            }
            var sleep = pace * Double.random(in: 0.9...1.1)
            pace = min(options.pollInterval, pace * 2)
            // The next progress line is printed from a fresh poll, so poll when it is due.
            if !live { sleep = min(sleep, max(0.05, options.progressInterval - now.timeIntervalSince(lastLine))) }
            if let timeout = options.timeout {
                let left = timeout - now.timeIntervalSince(start)
                if left <= 0 {
                    if live { c.streams.progress("\r\u{1B}[K") }
                    let counts = counts(job)
                    throw CLIError.waitTimedOut("\(name.id) is still \(job.state.shortName) after \(DurationText.human(timeout))"
                        + (counts.isEmpty ? "" : " (\(counts))"))
                }
                sleep = min(sleep, left)
            }
            Thread.sleep(forTimeInterval: sleep)
        }
    }

    /// `3/10 rows, 3 ok, 0 failed`, or nothing while the gateway has not counted the rows yet.
    static func counts(_ job: BatchInferenceJob) -> String {
        guard let p = job.jobProgress, p.totalInputRequests > 0 || p.totalProcessedRequests > 0 else { return "" }
        return "\(p.totalProcessedRequests)/\(p.totalInputRequests) rows, \(p.successfullyProcessedRequests) ok, \(p.failedRequests) failed"
    }

    /// Rows per second since the first sample of this run; nil until something was processed.
    static func rate(_ job: BatchInferenceJob, first: (Date, Int64), now: Date) -> Double? {
        guard let p = job.jobProgress else { return nil }
        let span = now.timeIntervalSince(first.0)
        let done = Int64(p.totalProcessedRequests) - first.1
        guard span > 0.5, done > 0 else { return nil }
        return Double(done) / span
    }

    /// ` 12.5 rows/s ETA 3s` when the rate is known.
    static func speed(_ job: BatchInferenceJob, rate: Double?, separator: String) -> String {
        guard let rate, let p = job.jobProgress else { return "" }
        var text = separator + String(format: "%.1f rows/s", rate)
        let left = Double(p.totalInputRequests - p.totalProcessedRequests)
        if left > 0 { text += separator + "ETA \(DurationText.human(left / rate))" }
        return text
    }

    /// One line for a log: time, state, processed/total, ok, failed, rate, ETA.
    static func progressLine(_ job: BatchInferenceJob, id: String, rate: Double?) -> String {
        var line = "\(Timestamp.now().prefix(19))Z \(id): \(job.state.shortName)"
        let counts = counts(job)
        if !counts.isEmpty { line += " " + counts + speed(job, rate: rate, separator: ", ") }
        return line
    }

    static func liveLine(_ job: BatchInferenceJob, elapsed: Double, rate: Double?, stalled: Bool) -> String {
        var line = job.state.shortName
        if let p = job.jobProgress, p.totalInputRequests > 0 {
            let fraction = min(1, Double(p.totalProcessedRequests) / Double(p.totalInputRequests))
            let width = 20
            let filled = Int(fraction * Double(width))
            line += " [" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            line += counts(job) + speed(job, rate: rate, separator: " ")
        }
        line += " elapsed \(DurationText.human(elapsed))"
        if stalled { line += " (no progress lately)" }
        return line
    }

    // MARK: failed rows

    /// On stderr: how many rows failed, the three commonest error codes, where `error-data` is, and the command
    /// that reruns them. Never fails the command: what cannot be read is left out.
    static func summarizeFailedRows(_ c: Context, job: BatchInferenceJob, name: ResourceName, written: [String]) {
        guard let p = job.jobProgress, p.failedRequests > 0 else { return }
        let failed = Int(p.failedRequests)
        var lines = ["warning: \(name.id) ended with \(failed) failed row\(failed == 1 ? "" : "s") of \(p.totalInputRequests) (\(p.successfullyProcessedRequests) ok)"]
        let output = ResourceName(job.outputDatasetId, kind: .dataset)
        let downloaded = written.first { path in
            path.hasSuffix("/error-data") && (output.map { path.hasSuffix("/dataset/\($0.id)/error-data") } ?? true)
        }
        var temporary: String?
        if downloaded == nil, let output { temporary = try? fetchErrorData(c, output) }
        defer { if let temporary { unlink(temporary); TemporaryFiles.shared.remove(temporary) } }
        if let path = downloaded ?? temporary, let tally = ErrorTally(path: path) {
            for entry in tally.commonest(3) {
                lines.append("  \(entry.count) x code \(entry.code): \(entry.example)")
            }
        }
        if let downloaded {
            lines.append("  failed rows are in \(downloaded)")
        } else if let output {
            lines.append("  failed rows are in error-data of dataset \(output.id) (batchctl dataset download \(output.id))")
        }
        lines.append("  rerun them: \(rerunCommand(c, jobID: name.id))")
        for line in lines { c.streams.error(line) }
    }

    /// `error-data` of `dataset` into a temporary file; nil when the dataset has none.
    static func fetchErrorData(_ c: Context, _ dataset: ResourceName) throws -> String? {
        let client = try c.client()
        guard let answer = try client.send(Endpoints.getDownloadEndpoint(dataset, lineage: false)),
              let url = answer["filenameToSignedUrls"]?["dataset/\(dataset.id)/error-data"]?.stringValue else { return nil }
        let path = NSTemporaryDirectory() + "batchctl-error-data-\(getpid())-\(dataset.id)"
        TemporaryFiles.shared.add(path)
        _ = try client.download(url, to: path, progress: { _, _ in })
        return path
    }

    /// The command that reruns the failed and unfinished rows, with the connection flags of this one.
    static func rerunCommand(_ c: Context, jobID: String) -> String {
        var parts = ["batchctl"]
        let g = c.global
        if g.local { parts.append("--local") }
        if let server = g.server { parts += ["--server", shellQuoted(server)] }
        if let account = g.accountID { parts += ["-a", shellQuoted(account)] }
        if let profile = g.profile { parts += ["-p", shellQuoted(profile)] }
        parts += ["bij", "create", "--continue-from", jobID, "--wait"]
        return parts.joined(separator: " ")
    }

    static func shellQuoted(_ s: String) -> String {
        let plain = s.allSatisfy { $0.isLetter || $0.isNumber || "-_./:@=%+,".contains($0) }
        return plain && !s.isEmpty ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// The error codes of an `error-data` file, counted (`{"custom_id", "error": {"code", "message"}}` a line).
struct ErrorTally {
    struct Entry: Equatable {
        var code: String
        var count: Int
        /// The first message seen with this code, shortened.
        var example: String
    }

    private(set) var entries: [String: Entry] = [:]

    init?(path: String) {
        guard let reader = try? JSONLLineReader(path: path) else { return nil }
        do {
            try reader.forEachLine { line in
                guard !line.isTooLong, let row = try? JSONValue(parsing: Array(line.bytes)) else { return }
                let error = row["error"]
                var code = "?"
                if let n = error?["code"]?.int64Value { code = String(n) } else if let s = error?["code"]?.stringValue { code = s }
                let message = error?["message"]?.stringValue ?? ""
                entries[code, default: Entry(code: code, count: 0, example: ErrorTally.shortened(message))].count += 1
            }
        } catch {
            return nil
        }
    }

    /// The `n` commonest codes, most rows first (ties by code).
    func commonest(_ n: Int) -> [Entry] {
        Array(entries.values.sorted { $0.count != $1.count ? $0.count > $1.count : $0.code < $1.code }.prefix(n))
    }

    static func shortened(_ message: String) -> String {
        let oneLine = message.replacingOccurrences(of: "\n", with: " ")
        return oneLine.count > 120 ? String(oneLine.prefix(117)) + "..." : oneLine
    }
}
