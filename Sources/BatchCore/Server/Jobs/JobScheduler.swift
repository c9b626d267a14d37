// The job scheduler: walks each job through VALIDATING -> PENDING -> RUNNING -> WRITING_RESULTS -> an end
// state, first in first out, running rows through the engine and keeping the job record true as it goes.
import BatchHTTP
import BatchAPI
import BatchEngine
import BatchJSONL
import Foundation

/// `@unchecked Sendable`: `queue`, `runners`, `active`, `stopping` and `recent` are guarded by `lock`; the rest is immutable.
final class JobScheduler: @unchecked Sendable {
    let store: Store
    let pool: InferencePool
    let options: RunnerOptions
    let maxRunningJobs: Int
    let log: (String) -> Void
    private let lock = NSLock()
    private let wake = DispatchSemaphore(value: 0)
    private var queue: [String] = []
    private var runners: [String: JobRunner] = [:]
    private var active: Set<String> = []
    private var stopping = false
    /// The last jobs that ended, newest last, with their throughput: `server status` shows them.
    private var recent: [(name: String, state: JobState, summary: RunSummary)] = []

    init(store: Store, pool: InferencePool, options: RunnerOptions, maxRunningJobs: Int = 4,
         log: @escaping (String) -> Void) {
        self.store = store
        self.pool = pool
        self.options = options
        self.maxRunningJobs = maxRunningJobs
        self.log = log
    }

    /// Starts the worker threads and queues every unfinished job found on disk, oldest first.
    func start() {
        let unfinished = store.allJobs().filter { !$0.job.isTerminal }.sorted { ($0.job.createTime ?? "") < ($1.job.createTime ?? "") }
        for (account, job) in unfinished {
            if job.state == JobState.running || job.state == JobState.writingResults {
                log("resuming \(job.name) from its checkpoint")
            }
            enqueue(account: account, id: job.id)
        }
        for i in 0..<maxRunningJobs {
            let t = Thread { [weak self] in self?.workLoop() }
            t.name = "job-worker-\(i)"
            t.start()
        }
    }

    func enqueue(account: String, id: String) {
        lock.lock()
        queue.append(Store.key(account, id))
        lock.unlock()
        wake.signal()
    }

    /// Cancel or delete: stops the runner, or finishes a job that has not started yet.
    func stop(account: String, id: String) {
        let key = Store.key(account, id)
        lock.lock()
        let runner = runners[key]
        let isActive = active.contains(key)
        if !isActive, let i = queue.firstIndex(of: key) { queue.remove(at: i) }
        lock.unlock()
        if let runner { runner.cancel(); return }
        if !isActive { finishStopped(account: account, id: id) }
    }

    /// Graceful shutdown: running jobs stop at a checkpoint and stay RUNNING, to resume on the next start.
    func shutdown() {
        beginShutdown()
        waitForShutdown(until: Date().addingTimeInterval(30))
    }

    func beginShutdown() {
        lock.lock()
        stopping = true
        let all = Array(runners.values)
        lock.unlock()
        for r in all { r.cancel() }
        for _ in 0..<maxRunningJobs { wake.signal() }
    }

    func waitForShutdown(until deadline: Date) {
        while Date() < deadline {
            lock.lock(); let busy = !active.isEmpty; lock.unlock()
            if !busy { break }
            usleep(20_000)
        }
    }

    var runningCount: Int { lock.lock(); defer { lock.unlock() }; return active.count }

    private func workLoop() {
        while true {
            wake.wait()
            lock.lock()
            if stopping { lock.unlock(); return }
            guard !queue.isEmpty else { lock.unlock(); continue }
            let key = queue.removeFirst()
            active.insert(key)
            lock.unlock()
            let parts = key.split(separator: "/").map(String.init)
            runJob(account: parts[0], id: parts[1])
            lock.lock()
            active.remove(key)
            runners[key] = nil
            let more = !queue.isEmpty
            lock.unlock()
            if more { wake.signal() }
        }
    }

    private func update(_ account: String, _ id: String, durable: Bool = true, _ change: (inout BatchInferenceJob) -> Void) -> BatchInferenceJob? {
        do { return try store.updateJob(account, id, durable: durable, change) } catch {
            log("cannot save job \(account)/\(id): \(error)")
            // The change still shows; the next durable save (or the end of the job) writes it.
            return (try? store.updateJob(account, id, durable: false, change)) ?? store.job(account, id)
        }
    }

    /// A job stopped before it ran (or found stopped on start): CANCELLED, or gone when it was being deleted.
    private func finishStopped(account: String, id: String) {
        guard let job = store.job(account, id) else { return }
        if job.state == JobState.deletingCleaningUp {
            delete(account, id)
            return
        }
        finish(account, id, state: JobState.cancelled, status: ResourceStatus(code: "CANCELLED",
            message: store.checkpointedProgress(of: job, account) == nil ? "cancelled before it ran" : "cancelled; finished rows are kept"))
    }

    /// The end of a deleted job: its rows stay as a READY dataset, then the record goes. Each step is durable
    /// before the next, so a kill between them is finished by the reconciliation pass.
    private func delete(_ account: String, _ id: String) {
        guard let job = store.job(account, id) else { return }
        store.locked(.job(account, id)) {
            store.finalizeOutput(of: job, account)
            do { try store.deleteJob(account, id) } catch { log("cannot delete job \(job.name): \(error)") }
        }
        log("\(job.name) deleted")
    }

    /// Ends a job as one compare-and-set: a job that has already ended keeps its end (terminal states are
    /// final), a job being deleted is deleted, and the counters are the checkpoint's. The output dataset is
    /// made READY first, so whoever sees the job ended sees its output complete (and a kill in between only
    /// resumes a job that has nothing left to do); both are retried until a full disk takes them.
    private func finish(_ account: String, _ id: String, state: JobState, status: ResourceStatus = ResourceStatus()) {
        let now = Timestamp.now()
        var deleting = false
        let ended: BatchInferenceJob? = store.locked(.job(account, id)) {
            guard let current = store.job(account, id), !current.isTerminal else { return nil }
            if current.state == JobState.deletingCleaningUp { deleting = true; return nil }
            let checkpointed = store.checkpointedProgress(of: current, account)
            store.finalizeOutput(of: current, account)
            return store.updateJobEventually(account, id) { j in
                if let checkpointed { j.jobProgress = checkpointed }
                if state == JobState.completed, var p = j.jobProgress { p.percent = 100; j.jobProgress = p }
                j.state = state
                j.status = status
                if j.lifecycle == nil { j.lifecycle = JobLifecycle() }
                j.lifecycle?.endTime = now
            }
        }
        if deleting { delete(account, id); return }
        guard let job = ended else { return }
        log("\(job.name) ended \(state)\(status.message.isEmpty ? "" : ": \(status.message)")")
    }

    /// The status of a job the disk stopped: RESOURCE_EXHAUSTED, naming the data dir.
    private func diskFullStatus() -> ResourceStatus {
        ResourceStatus(code: "RESOURCE_EXHAUSTED",
                       message: "the disk holding the data dir \(store.root) is full; finished rows are kept (free space, then continue the job)")
    }

    /// The JSONL the engine reads. A dataset of several files (the shards `upload_dataset_shards` sends) is read
    /// as one: their concatenation in name order, made once per job in its folder, so checkpoints (byte offsets)
    /// stay valid across restarts.
    private func inputFile(_ account: String, _ datasetName: String, job id: String) -> String? {
        guard let n = ResourceName(datasetName, kind: .dataset) else { return nil }
        let files = store.datasetFiles(account, n.id)
        let dir = store.datasetFilesDir(account, n.id)
        guard let first = files.first else { return nil }
        if files.count == 1 { return dir + "/" + first.name }
        let combined = store.jobDir(account, id) + "/input.jsonl"
        if FileManager.default.fileExists(atPath: combined) { return combined }
        var parts: [StreamCopyPart] = []
        for file in files {
            parts.append(.file(dir + "/" + file.name))
            // A shard whose last line has no newline must not run into the next shard's first line.
            if let handle = FileHandle(forReadingAtPath: dir + "/" + file.name) {
                defer { try? handle.close() }
                if file.size > 0 { try? handle.seek(toOffset: UInt64(file.size - 1)) }
                if file.size > 0, handle.readData(ofLength: 1) != Data([0x0A]) { parts.append(.newline) }
            }
        }
        do { try JobScheduler.concatenate(parts, into: combined) } catch {
            log("cannot combine the files of \(datasetName): \(error)")
            return nil
        }
        return combined
    }

    enum StreamCopyPart { case file(String), newline }

    /// Writes `parts` to a temporary file, fsyncs it and renames it to `path`.
    static func concatenate(_ parts: [StreamCopyPart], into path: String) throws {
        let temporary = path + ".tmp-\(UInt32.random(in: 0...UInt32.max))"
        let out = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw FileError("create", temporary, errno: errno) }
        defer { close(out); unlink(temporary) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for part in parts {
            switch part {
            case .newline: try AtomicFile.writeAll(out, [0x0A], path: temporary)
            case .file(let source):
                let input = open(source, O_RDONLY | O_CLOEXEC)
                guard input >= 0 else { throw FileError("read", source, errno: errno) }
                defer { close(input) }
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
                    if n < 0 { if errno == EINTR { continue }; throw FileError("read", source, errno: errno) }
                    if n == 0 { break }
                    try buffer.withUnsafeBytes { try AtomicFile.writeAll(out, UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: temporary) }
                }
            }
        }
        guard fsync(out) == 0 else { throw FileError("fsync", temporary, errno: errno) }
        guard rename(temporary, path) == 0 else { throw FileError("rename", path, errno: errno) }
    }

    private func runJob(account: String, id: String) {
        guard var job = store.job(account, id), !job.isTerminal else { return }
        if job.state == JobState.cancelling || job.state == JobState.deletingCleaningUp {
            finishStopped(account: account, id: id)
            return
        }
        if let expire = job.expireTime.flatMap(Timestamp.date(from:)), Date() >= expire, job.state != JobState.running,
           job.state != JobState.writingResults {
            finish(account, id, state: JobState.expired, status: ResourceStatus(code: "DEADLINE_EXCEEDED", message: "the job expired before it ran"))
            return
        }
        guard let input = inputFile(account, job.inputDatasetId, job: id) else {
            finish(account, id, state: JobState.failed, status: ResourceStatus(code: "FAILED_PRECONDITION", message: "input dataset \(job.inputDatasetId) has no file"))
            return
        }
        if job.state == JobState.validating {
            let report: ValidationReport
            do {
                report = try DatasetValidator(DatasetValidator.Options(keptProblems: 1, stopAfterProblems: 1)).validate(path: input)
            } catch {
                finish(account, id, state: JobState.failed, status: ResourceStatus(code: "INTERNAL", message: "cannot read the input dataset: \(error)"))
                return
            }
            if let problem = report.firstProblem {
                let file = (input as NSString).lastPathComponent
                finish(account, id, state: JobState.failed, status: ResourceStatus(code: "INVALID_ARGUMENT",
                    message: "Dataset has a syntax error: invalid row on \(file):\(problem.line): \(problem.reason)"))
                // A job that never ran leaves no output dataset behind.
                if let out = ResourceName(job.outputDatasetId, kind: .dataset), store.datasetFiles(account, out.id).isEmpty {
                    try? store.deleteDataset(account, out.id)
                }
                return
            }
            job = update(account, id) { j in
                if j.state == JobState.validating { j.state = JobState.pending }
                j.lifecycle = j.lifecycle ?? JobLifecycle()
                j.lifecycle?.validatedTime = Timestamp.now()
            } ?? job
        }
        if job.state == JobState.cancelling || job.state == JobState.deletingCleaningUp { finishStopped(account: account, id: id); return }

        // Rows already successful anywhere earlier in the continuation chain are skipped.
        var skip = CustomIDSet()
        let outputs = store.earlierJobs(account, continuedFrom: job.continuedFromJobName).compactMap { earlier in
            ResourceName(earlier.outputDatasetId, kind: .dataset).map { store.datasetFilesDir(account, $0.id) }
        }
        if !outputs.isEmpty {
            do { skip = try succeededCustomIDs(inOutputDirectories: outputs) } catch {
                finish(account, id, state: JobState.failed, status: ResourceStatus(code: "INTERNAL", message: "cannot read the earlier results: \(error)"))
                return
            }
        }
        guard let out = ResourceName(job.outputDatasetId, kind: .dataset) else {
            finish(account, id, state: JobState.failed, status: ResourceStatus(code: "INTERNAL", message: "job has no output dataset"))
            return
        }
        let outputDir = store.datasetFilesDir(account, out.id)
        try? FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
        let spec = JobSpec(jobName: job.name, model: job.model, inferenceParameters: job.inferenceParameters?.json,
                           systemPrompt: job.systemPrompt.isEmpty ? nil : job.systemPrompt, inputPath: input,
                           outputDirectory: outputDir, skipCustomIDs: skip,
                           deadline: job.expireTime.flatMap(Timestamp.date(from:)))
        let runner = JobRunner(spec: spec, pool: pool, options: options)
        let key = Store.key(account, id)
        lock.lock()
        runners[key] = runner
        let shuttingDown = stopping
        lock.unlock()
        if shuttingDown { return }
        let started = update(account, id) { j in
            if j.state == JobState.pending || j.state == JobState.validating { j.state = JobState.running }
            if j.lifecycle?.runStartTime == nil { j.lifecycle = j.lifecycle ?? JobLifecycle(); j.lifecycle?.runStartTime = Timestamp.now() }
            if j.jobProgress == nil { j.jobProgress = JobProgress() }
        }
        // A cancel or delete that arrived while the job was being validated or queued stops it before any row.
        if let state = started?.state, state == JobState.cancelling || state == JobState.deletingCleaningUp { runner.cancel() }
        var lastPersist = Date.distantPast
        var waiting = false
        let outcome = runner.run { [self] counters in
            let now = Date()
            // An outage shows at once, and so does its end.
            let nowWaiting = runner.isWaitingOnCapacity
            let changed = nowWaiting != waiting
            if changed {
                log(nowWaiting ? "\(job.name) is \(pool.outageMessage)" : "\(job.name) runs again")
            }
            waiting = nowWaiting
            let durable = changed || now.timeIntervalSince(lastPersist) >= 1
            if durable { lastPersist = now }
            let message = nowWaiting ? pool.outageMessage : ""
            _ = update(account, id, durable: durable) { j in
                j.jobProgress = JobScheduler.progress(counters)
                if j.state == JobState.running {
                    j.waitingOnCapacity = nowWaiting
                    if changed || nowWaiting { j.status = ResourceStatus(code: "OK", message: message) }
                }
            }
        }
        let summary = runner.summary
        _ = update(account, id, durable: false) { j in j.waitingOnCapacity = false }
        for e in pool.status() {
            log(String(format: "endpoint %@: %@, %d in flight, limit %d of %d, %.1f requests/s, %d ok, %d failed", e.name, e.health.rawValue,
                       e.inFlight, e.limit, e.ceiling, e.requestsPerSecond, e.successes, e.failures))
        }
        lock.lock()
        let wasStopping = stopping
        lock.unlock()
        let current = store.job(account, id)
        switch outcome {
        case .completed:
            _ = update(account, id) { if $0.state == JobState.running { $0.state = JobState.writingResults } }
            remember(job.name, JobState.completed, summary)
            finish(account, id, state: JobState.completed, status: ResourceStatus(code: "OK", message: "completed: \(summary)"))
        case .expired:
            remember(job.name, JobState.expired, summary)
            finish(account, id, state: JobState.expired, status: ResourceStatus(code: "DEADLINE_EXCEEDED",
                message: "the job's time window ran out; finished rows are kept (continue the job to run the rest); \(summary)"))
        case .cancelled:
            if wasStopping, current?.state == JobState.running { return }  // a graceful shutdown: resumes on the next start
            if current?.state == JobState.deletingCleaningUp { delete(account, id); return }
            remember(job.name, JobState.cancelled, summary)
            finish(account, id, state: JobState.cancelled, status: ResourceStatus(code: "CANCELLED", message: "cancelled; finished rows are kept; \(summary)"))
        case let .failed(message):
            if runner.writeFailure?.isDiskFull == true {
                finish(account, id, state: JobState.failed, status: diskFullStatus())
                return
            }
            if wasStopping { return }
            finish(account, id, state: JobState.failed, status: ResourceStatus(code: "INTERNAL", message: message))
        }
    }

    private func remember(_ name: String, _ state: JobState, _ summary: RunSummary) {
        lock.lock()
        recent.append((name, state, summary))
        if recent.count > 10 { recent.removeFirst(recent.count - 10) }
        lock.unlock()
    }

    /// `GET /batchctl/status`: the endpoints (health, in flight, limit, rates) and the last jobs' throughput.
    func statusJSON() -> JSONValue {
        lock.lock()
        let ended = recent
        let running = active.count
        lock.unlock()
        func number(_ value: Double) -> JSONValue { .number(String(format: "%.2f", value)) }
        let endpoints: [JSONValue] = pool.status().map { e in
            var members: [(String, JSONValue)] = [
                ("url", .string(e.name)), ("health", .string(e.health.rawValue)), ("inFlight", .int(e.inFlight)),
                ("concurrencyLimit", .int(e.limit)), ("concurrencyCeiling", .int(e.ceiling)), ("adaptive", .bool(e.adaptive)),
                ("reportedSlots", e.reportedSlots.map { .int($0) } ?? .null),
                ("successes", .int(e.successes)), ("failures", .int(e.failures)),
                ("requestsPerSecond", number(e.requestsPerSecond)), ("successesPerSecond", number(e.successesPerSecond)),
                ("averageLatencySeconds", e.averageLatencySeconds.map { number($0) } ?? .null),
                ("lastError", e.lastError.map(JSONValue.string) ?? .null),
            ]
            if let since = e.downSince { members.append(("downSince", .string(Timestamp.string(from: since)))) }
            return .object(members)
        }
        let jobs: [JSONValue] = ended.reversed().map { job in
            .object([
                ("name", .string(job.name)), ("state", .string(job.state.rawValue)), ("rows", .int(job.summary.rows)),
                ("seconds", number(job.summary.seconds)), ("rowsPerSecond", number(job.summary.rowsPerSecond)),
                ("inputTokensPerSecond", number(job.summary.inputTokensPerSecond)),
                ("outputTokensPerSecond", number(job.summary.outputTokensPerSecond)),
            ])
        }
        return .object([
            ("runningJobs", .int(running)), ("waitingOnCapacity", .bool(pool.isWaitingOnCapacity)),
            ("heldResponseBytes", .int(pool.budget.heldBytes)), ("endpoints", .array(endpoints)), ("recentJobs", .array(jobs)),
        ])
    }

    static func progress(_ c: JobCounters) -> JobProgress {
        func i32(_ n: Int) -> Int32 { Int32(clamping: n) }
        var p = JobProgress()
        p.percent = i32(c.percent)
        p.totalInputRequests = i32(c.totalInputRequests)
        p.totalProcessedRequests = i32(c.totalProcessedRequests)
        p.successfullyProcessedRequests = i32(c.successfullyProcessedRequests)
        p.failedRequests = i32(c.failedRequests)
        p.outputRows = i32(c.outputRows)
        p.inputTokens = i32(c.inputTokens)
        p.outputTokens = i32(c.outputTokens)
        p.cachedInputTokenCount = i32(c.cachedInputTokenCount)
        return p
    }
}
