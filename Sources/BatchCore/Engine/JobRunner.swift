// JobRunner: runs one job's rows through a backend into durable output files, resumably.
import Foundation
import BatchJSONL

/// Runs one job. `run` blocks until the job is done, cancelled, expired or failed; it can be called once.
///
/// How a run goes: recover the output directory (cut the files back to the checkpoint and learn which rows
/// are done), count the input rows, then stream the input: each row becomes a task on the job's lane of the
/// shared `InferencePool`, with at most `window` rows read ahead. Workers build the request, call the backend,
/// retry with backoff, and hand the finished line to the runner; a flusher thread writes, fsyncs and
/// checkpoints the lines every `flushInterval` and reports progress. A new runner on the same directory after
/// a crash picks up where the last checkpoint left off.
/// `@unchecked Sendable`: the mutable state is guarded by `state` (an NSCondition), as marked below.
public final class JobRunner: @unchecked Sendable {
    public let spec: JobSpec
    public let backend: InferenceBackend
    public let pool: InferencePool
    public let options: RunnerOptions

    private enum StopReason { case cancelled, expired, failed(String) }

    private struct RowTask {
        var customID: String
        var request: [UInt8]
        var attempt: Int
    }

    // Everything below is guarded by `state`.
    private let state = NSCondition()
    private var started = false
    private var stopReason: StopReason?
    private var stopTime = Date.distantFuture
    /// Rows handed to the pool and not yet finished, dropped or skipped.
    private var outstanding = 0
    private var feederWaiting = false
    private var acceptingResults = true
    private var flusherShouldExit = false
    private var pendingResults: [UInt8] = []
    private var pendingErrors: [UInt8] = []
    private var pendingDelta = JobCounters()
    private var pendingRows = 0
    private var committed = JobCounters()
    private var lane: InferencePool.Lane?
    private var writeError: EngineError?

    // Set before the first row is dispatched, read-only afterwards.
    private var finished = CustomIDSet()
    private var builder: RequestBuilder?
    private var window = 128

    public init(spec: JobSpec, backend: InferenceBackend, pool: InferencePool, options: RunnerOptions = RunnerOptions()) {
        self.spec = spec
        self.backend = backend
        self.pool = pool
        self.options = options
    }

    /// Why writing the output failed, when it did (a full disk shows as `isDiskFull`): the server tells the
    /// job's owner what to do about it.
    public var writeFailure: EngineError? {
        state.lock(); defer { state.unlock() }
        return writeError
    }

    /// The counters of the rows durable so far.
    public var counters: JobCounters {
        state.lock(); defer { state.unlock() }
        return committed
    }

    /// Stops dispatching, waits up to `drainTimeout` for requests in flight, keeps every finished row, and makes
    /// `run` return `.cancelled`. Safe from any thread, before or during `run`.
    public func cancel() {
        state.lock()
        stopLocked(.cancelled)
        state.unlock()
    }

    /// Runs the job. `progress` gets the committed counters once the input is counted, about every
    /// `progressInterval`, and once at the end, never from two threads at once.
    public func run(progress: @escaping (JobCounters) -> Void = { _ in }) -> JobOutcome {
        state.lock()
        if started { state.unlock(); return .failed(message: "\(spec.jobName): this runner has already run") }
        started = true
        state.unlock()

        let store: OutputStore
        do {
            builder = try RequestBuilder(model: options.modelMap.map(spec.model), inferenceParameters: spec.inferenceParameters,
                                         systemPrompt: spec.systemPrompt)
            store = try OutputStore(directory: spec.outputDirectory)
            let recovered = try store.recover()
            finished = recovered.finished
            var counters = recovered.counters
            counters.totalInputRequests = try countInputRows()
            state.lock()
            committed = counters
            state.unlock()
        } catch {
            let counters = self.counters
            progress(counters)
            return .failed(message: "\(spec.jobName): \(error)")
        }

        // The server learns totalInputRequests (and a resumed job's counters) before the first row runs.
        progress(counters)

        window = max(1, options.window ?? 2 * pool.concurrency)
        let lane = pool.addLane()
        state.lock()
        self.lane = lane
        state.unlock()

        let flusherDone = DispatchSemaphore(value: 0)
        // The store and the progress callback go to the flusher thread and come back after `flusherDone`: never
        // used by two threads at once, which the compiler cannot see through Thread's @Sendable closure.
        let handOver = HandOver((store, progress))
        let flusher = Thread { [self] in
            flushLoop(store: handOver.value.0, progress: handOver.value.1)
            flusherDone.signal()
        }
        flusher.name = "batchctl-flush"
        flusher.start()

        feed()
        drain()

        state.lock()
        acceptingResults = false
        flusherShouldExit = true
        state.broadcast()
        state.unlock()
        flusherDone.wait()
        flush(store: store)
        pool.removeLane(lane)

        state.lock()
        let outcome: JobOutcome
        switch stopReason {
        case nil: outcome = .completed
        case .cancelled?: outcome = .cancelled
        case .expired?: outcome = .expired
        case let .failed(message)?: outcome = .failed(message: "\(spec.jobName): \(message)")
        }
        let final = committed
        state.unlock()
        progress(final)
        return outcome
    }

    // MARK: reading the input

    /// Rows in the input, less those an earlier job of the chain finished. Rows that failed to parse count:
    /// they will land in `error-data`.
    private func countInputRows() throws -> Int {
        var rows = 0
        let skip = spec.skipCustomIDs
        try forEachInputLine(path: spec.inputPath) { _, item in
            if !skip.isEmpty, case let .line(bytes) = item, let row = try? InputRow(parsing: Array(bytes)), skip.contains(row.customID) {
                return true
            }
            rows += 1
            return true
        }
        return rows
    }

    private func feed() {
        let lowWater = window / 2
        do {
            try forEachInputLine(path: spec.inputPath) { lineNumber, item in
                state.lock()
                if stopReason == nil, outstanding >= window {
                    // Wait for the window to drain to half, so the feeder wakes once per batch, not per row.
                    feederWaiting = true
                    while stopReason == nil && outstanding > lowWater {
                        _ = state.wait(until: Date(timeIntervalSinceNow: 0.2))
                        checkDeadlineLocked()
                    }
                    feederWaiting = false
                }
                checkDeadlineLocked()
                if stopReason != nil { state.unlock(); return false }
                outstanding += 1
                state.unlock()
                switch item {
                case let .line(bytes):
                    let line = Array(bytes)
                    submit { [self] in startRow(line, lineNumber: lineNumber) }
                case let .tooLong(count):
                    finishFailure(customID: nil, lineNumber: lineNumber,
                                  InferenceFailure(status: 400, message: "line \(lineNumber): row of \(count) bytes is longer than the limit of \(maxInputLineBytes) bytes", retryable: false))
                }
                return true
            }
        } catch {
            state.lock()
            stopLocked(.failed("reading the input: \(error)"))
            state.unlock()
        }
    }

    /// Waits for the rows in flight; after a stop, no longer than `drainTimeout`.
    private func drain() {
        state.lock()
        defer { state.unlock() }
        while outstanding > 0 {
            checkDeadlineLocked()
            if stopReason != nil, Date() >= stopTime.addingTimeInterval(options.drainTimeout) { break }
            _ = state.wait(until: Date(timeIntervalSinceNow: 0.1))
        }
    }

    private func checkDeadlineLocked() {
        if stopReason == nil, let deadline = spec.deadline, Date() >= deadline { stopLocked(.expired) }
    }

    private func stopLocked(_ reason: StopReason) {
        guard stopReason == nil else { return }
        stopReason = reason
        stopTime = Date()
        if let lane { outstanding -= pool.dropQueued(lane) }
        state.broadcast()
    }

    private var isStopped: Bool {
        state.lock(); defer { state.unlock() }
        return stopReason != nil
    }

    private func submit(_ task: @escaping () -> Void) {
        guard let lane, pool.submit(task, to: lane) else { finishUnfinished(); return }
    }

    // MARK: one row

    private func startRow(_ line: [UInt8], lineNumber: Int) {
        if isStopped { finishUnfinished(); return }
        let row: InputRow
        do { row = try InputRow(parsing: line) } catch {
            let customID = (error as? RowError)?.customID
            if let customID, spec.skipCustomIDs.contains(customID) || finished.contains(customID) { finishUnfinished(); return }
            if customID == nil, finished.contains(OutputStore.lineKey(lineNumber)) { finishUnfinished(); return }
            finishFailure(customID: customID, lineNumber: lineNumber,
                          InferenceFailure(status: 400, message: "line \(lineNumber): \(error)", retryable: false))
            return
        }
        if spec.skipCustomIDs.contains(row.customID) || finished.contains(row.customID) { finishUnfinished(); return }
        guard let builder else { finishUnfinished(); return }
        attempt(RowTask(customID: row.customID, request: builder.requestBytes(for: row.body), attempt: 1))
    }

    private func attempt(_ task: RowTask) {
        if isStopped { finishUnfinished(); return }
        let failure: InferenceFailure
        switch backend.complete(task.request) {
        case let .success(body):
            if let line = Self.resultLine(customID: task.customID, response: body) {
                finishSuccess(line.bytes, line.counters)
                return
            }
            failure = InferenceFailure(status: 502, message: "the backend answered with something that is not a JSON object", retryable: true)
        case let .failure(reason):
            failure = reason
        }
        guard failure.retryable, task.attempt < options.retry.maxAttempts else {
            finishFailure(customID: task.customID, lineNumber: nil, failure)
            return
        }
        // A row stopped mid-retry is unfinished, not failed: a continuation job gets to run it.
        if isStopped { finishUnfinished(); return }
        let next = RowTask(customID: task.customID, request: task.request, attempt: task.attempt + 1)
        let delay = options.retry.delay(afterAttempt: task.attempt, retryAfter: failure.retryAfter)
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [self] in
            if isStopped { finishUnfinished(); return }
            submit { [self] in attempt(next) }
        }
    }

    /// The `BIJOutputSet.jsonl` line for a response, or nil when the response is not a JSON object.
    static func resultLine(customID: String, response: [UInt8]) -> (bytes: [UInt8], counters: JobCounters)? {
        guard let json = try? JSONValue(parsing: response), case .object = json else { return nil }
        var counters = JobCounters()
        counters.successfullyProcessedRequests = 1
        counters.outputRows = 1
        if let usage = json["usage"] {
            counters.inputTokens = Int(clamping: usage["prompt_tokens"]?.int64Value ?? 0)
            counters.outputTokens = Int(clamping: usage["completion_tokens"]?.int64Value ?? 0)
            counters.cachedInputTokenCount = Int(clamping: usage["prompt_tokens_details"]?["cached_tokens"]?.int64Value ?? 0)
        }
        var line: [UInt8] = []
        line.reserveCapacity(response.count + customID.utf8.count + 32)
        line.append(contentsOf: #"{"custom_id":"#.utf8)
        JSONValue.writeString(customID, to: &line)
        line.append(contentsOf: #","response":"#.utf8)
        // Stored as received, unless it spans lines (a pretty-printing server): a raw newline in valid JSON is
        // whitespace, so the compact form is the same document on one line.
        if response.contains(0x0A) || response.contains(0x0D) { json.write(to: &line, pretty: false, indent: 0) } else { line.append(contentsOf: response) }
        line.append(contentsOf: "}\n".utf8)
        return (line, counters)
    }

    /// The `error-data` line: `{"custom_id", "error": {"code", "message"}}`; a row without a custom_id gets
    /// `"custom_id": null` and its input `"line"`, so that a resume recognises it.
    static func errorLine(customID: String?, lineNumber: Int?, _ failure: InferenceFailure) -> [UInt8] {
        var line: [UInt8] = []
        line.append(contentsOf: #"{"custom_id":"#.utf8)
        if let customID { JSONValue.writeString(customID, to: &line) } else { line.append(contentsOf: "null".utf8) }
        line.append(contentsOf: #","error":{"code":"#.utf8)
        line.append(contentsOf: String(failure.status).utf8)
        line.append(contentsOf: #","message":"#.utf8)
        JSONValue.writeString(failure.message, to: &line)
        line.append(UInt8(ascii: "}"))
        if customID == nil, let lineNumber { line.append(contentsOf: #","line":"#.utf8); line.append(contentsOf: String(lineNumber).utf8) }
        line.append(contentsOf: "}\n".utf8)
        return line
    }

    private func finishSuccess(_ line: [UInt8], _ counters: JobCounters) {
        state.lock()
        if acceptingResults {
            pendingResults.append(contentsOf: line)
            pendingDelta.add(counters)
            pendingRows += 1
        }
        rowDoneLocked()
        state.unlock()
    }

    private func finishFailure(customID: String?, lineNumber: Int?, _ failure: InferenceFailure) {
        let line = Self.errorLine(customID: customID, lineNumber: lineNumber, failure)
        state.lock()
        if acceptingResults {
            pendingErrors.append(contentsOf: line)
            pendingDelta.failedRequests += 1
            pendingRows += 1
        }
        rowDoneLocked()
        state.unlock()
    }

    /// A row that leaves no line: skipped, already done, or dropped by a stop.
    private func finishUnfinished() {
        state.lock()
        rowDoneLocked()
        state.unlock()
    }

    private func rowDoneLocked() {
        outstanding -= 1
        if outstanding == 0 || (feederWaiting && outstanding == window / 2) || pendingRows == options.flushRows {
            state.broadcast()
        }
    }

    // MARK: writing

    private func flushLoop(store: OutputStore, progress: (JobCounters) -> Void) {
        var lastProgress = Date()
        while true {
            state.lock()
            let wakeAt = Date(timeIntervalSinceNow: options.flushInterval)
            while !flusherShouldExit && pendingRows < options.flushRows && Date() < wakeAt {
                _ = state.wait(until: wakeAt)
            }
            let exit = flusherShouldExit
            checkDeadlineLocked()
            state.unlock()
            if exit { return }
            flush(store: store)
            if Date().timeIntervalSince(lastProgress) >= options.progressInterval {
                lastProgress = Date()
                progress(counters)
            }
        }
    }

    /// Commits what finished since the last flush. Called by the flusher thread, and once by `run` after it.
    private func flush(store: OutputStore) {
        state.lock()
        let results = pendingResults, errors = pendingErrors, delta = pendingDelta
        pendingResults = []
        pendingErrors = []
        pendingDelta = JobCounters()
        pendingRows = 0
        state.unlock()
        do {
            try store.commit(results: results, errors: errors, delta: delta)
            state.lock()
            committed.add(delta)
            state.unlock()
        } catch {
            state.lock()
            stopLocked(.failed("writing results: \(error)"))
            if writeError == nil { writeError = error as? EngineError }
            acceptingResults = false
            state.unlock()
        }
    }
}

/// A value passed to another thread and back without overlapping use (the caller says why that holds).
private struct HandOver<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
