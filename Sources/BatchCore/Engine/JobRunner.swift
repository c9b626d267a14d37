// JobRunner: runs one job's rows through a backend into durable output files, resumably.
import Foundation
import BatchJSONL

/// Runs one job. `run` blocks until the job is done, cancelled, expired or failed; it can be called once.
///
/// How a run goes: recover the output directory (cut the files back to the checkpoint and learn which rows
/// are done), count the input rows, then stream the input: each row becomes a request on the job's lane of the
/// shared `InferencePool`, with at most `window` rows read ahead and not yet answered. The pool's workers send
/// it to an endpoint and hand back the answer: a success becomes the row's line; a retryable failure waits for
/// its backoff outside the window (so other rows take its place) and goes again, preferring another endpoint;
/// a row whose endpoint went down goes back to the queue without losing an attempt. A flusher thread writes,
/// fsyncs and checkpoints the lines every `flushInterval` and reports progress. A new runner on the same
/// directory after a crash picks up where the last checkpoint left off.
/// `@unchecked Sendable`: the mutable state is guarded by `state` (an NSCondition), as marked below.
public final class JobRunner: @unchecked Sendable {
    public let spec: JobSpec
    public let pool: InferencePool
    public let options: RunnerOptions

    private enum StopReason { case cancelled, expired, failed(String) }

    private struct RowTask {
        var customID: String
        /// The request after its model name (`RequestBuilder.requestTail`).
        var tail: [UInt8]
        var attempt: Int
        /// The endpoint the last attempt failed on, -1 for none.
        var avoid = -1
        /// The choices asked for (`n`): an answer with fewer fails the row, since a server that ignores `n`
        /// (llama.cpp, Ollama) would otherwise pass one choice off as the n asked for.
        var choices = 1
    }

    // Everything below is guarded by `state`.
    private let state = NSCondition()
    private var started = false
    private var stopReason: StopReason?
    private var stopTime = Date.distantFuture
    /// Rows handed to the pool and not yet finished, dropped or skipped...
    private var outstanding = 0
    /// ...of which these wait for a retry's backoff: they leave their place in the window to other rows.
    private var waitingRetry = 0
    /// Answer bytes of `pendingResults` still accounted in the pool's budget.
    private var pendingHeld = 0
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
    /// `{"model":NAME` for each endpoint of the pool.
    private var modelPrefixes: [[UInt8]] = []
    private var window = 128
    private var runStart = Date()
    private var startCounters = JobCounters()
    private var runEnd: Date?

    /// `pool` carries the requests to the inference endpoints; it is shared by every job of the server.
    public init(spec: JobSpec, pool: InferencePool, options: RunnerOptions = RunnerOptions()) {
        self.spec = spec
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

    /// True while the job has rows to run and no endpoint is answering: nothing is sent, and the job goes on
    /// by itself once a probe succeeds (`pool.outageMessage` says why).
    public var isWaitingOnCapacity: Bool {
        state.lock()
        let busy = outstanding > 0 && stopReason == nil
        state.unlock()
        return busy && pool.isWaitingOnCapacity
    }

    /// Rows and tokens of this run over its running time so far (or until it ended).
    public var summary: RunSummary {
        state.lock(); defer { state.unlock() }
        let seconds = (runEnd ?? Date()).timeIntervalSince(runStart)
        return RunSummary(rows: committed.totalProcessedRequests - startCounters.totalProcessedRequests,
                          inputTokens: committed.inputTokens - startCounters.inputTokens,
                          outputTokens: committed.outputTokens - startCounters.outputTokens, seconds: seconds)
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
            modelPrefixes = pool.models(for: spec.model, fallback: options.modelMap).map(RequestBuilder.modelPrefix)
            store = try OutputStore(directory: spec.outputDirectory)
            let recovered = try store.recover()
            finished = recovered.finished
            var counters = recovered.counters
            counters.totalInputRequests = try countInputRows()
            state.lock()
            committed = counters
            startCounters = counters
            runStart = Date()
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
        runEnd = Date()
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
                if stopReason == nil, windowFullLocked(outstanding - waitingRetry >= window) {
                    // Wait for the window to drain to half, so the feeder wakes once per batch, not per row.
                    feederWaiting = true
                    while stopReason == nil && windowFullLocked(outstanding - waitingRetry > lowWater) {
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
                    startRow(Array(bytes), lineNumber: lineNumber)
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

    /// Whether the feeder waits: the window is full (`full`), or so many rows wait for a backoff that their
    /// requests would weigh on memory.
    private func windowFullLocked(_ full: Bool) -> Bool { full || waitingRetry >= 16 * window }

    /// Waits for the rows in flight; after a stop, no longer than `drainTimeout`, and not for rows waiting
    /// for a backoff (they are unfinished, a continuation runs them).
    private func drain() {
        state.lock()
        defer { state.unlock() }
        while outstanding > 0 {
            checkDeadlineLocked()
            if stopReason != nil, outstanding == waitingRetry || Date() >= stopTime.addingTimeInterval(options.drainTimeout) { break }
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

    /// Queues one attempt of a row on the job's lane; `urgent` ones (back from a backoff or an outage) go first.
    private func dispatch(_ task: RowTask, urgent: Bool) {
        let prefixes = modelPrefixes
        let request = PoolRequest(avoid: task.avoid, body: { index in prefixes[index] + task.tail },
                                  done: { [self] result, verdict, endpoint, held in answered(task, result, verdict, endpoint, held) })
        guard let lane, pool.submit(request, to: lane, urgent: urgent) else { finishUnfinished(); return }
    }

    // MARK: one row

    /// Parses a row and queues its first attempt (on the feeder's thread).
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
        dispatch(RowTask(customID: row.customID, tail: builder.requestTail(for: row.body), attempt: 1,
                         choices: builder.choices(for: row.body)), urgent: false)
    }

    /// An attempt's answer, on a pool worker.
    private func answered(_ task: RowTask, _ result: InferenceResult, _ verdict: PoolVerdict, _ endpoint: Int, _ held: Int) {
        var failure: InferenceFailure
        switch result {
        case let .success(body):
            if let line = Self.resultLine(customID: task.customID, response: body) {
                if line.choices >= task.choices || line.choices == 0 {
                    finishSuccess(line.bytes, line.counters, held: held)
                    return
                }
                pool.releaseHeld(held)
                finishFailure(customID: task.customID, lineNumber: nil, InferenceFailure(
                    status: 502, message: "asked for n=\(task.choices) choices, the server answered with \(line.choices): it does not support n > 1 (send the row \(task.choices) times instead)",
                    retryable: false, kind: .invalidAnswer))
                return
            }
            pool.releaseHeld(held)
            failure = InferenceFailure(status: 502, message: "the backend answered with something that is not a JSON object", retryable: true,
                                       kind: .invalidAnswer)
        case let .failure(reason):
            failure = reason
        }
        // A row stopped mid-retry is unfinished, not failed: a continuation job gets to run it.
        if verdict != .failed, isStopped { finishUnfinished(); return }
        var next = task
        next.avoid = endpoint
        switch verdict {
        case .requeue:
            // The endpoint is down: the row waits in the queue for one that answers, attempt not spent.
            dispatch(next, urgent: true)
            return
        case .failed:
            break
        case .success, .retry:
            if failure.retryable, task.attempt < options.retry.maxAttempts {
                next.attempt += 1
                retryLater(next, after: options.retry.delay(afterAttempt: task.attempt, retryAfter: failure.retryAfter))
                return
            }
        }
        if failure.kind == .tooLarge { failure.retryable = false }
        finishFailure(customID: task.customID, lineNumber: nil, failure)
    }

    /// Sends the row again after `delay`; meanwhile it holds no place in the window.
    private func retryLater(_ task: RowTask, after delay: TimeInterval) {
        state.lock()
        waitingRetry += 1
        windowChangedLocked()
        state.unlock()
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [self] in
            state.lock()
            waitingRetry -= 1
            let stopped = stopReason != nil
            state.unlock()
            if stopped { finishUnfinished(); return }
            dispatch(task, urgent: true)
        }
    }

    /// The `BIJOutputSet.jsonl` line for a response, or nil when the response is not a JSON object.
    static func resultLine(customID: String, response: [UInt8]) -> (bytes: [UInt8], counters: JobCounters, choices: Int)? {
        // One scan of the bytes, no JSON tree: an answer of many megabytes costs only its own bytes and the line.
        guard let members = response.withUnsafeBytes({ CompletionMembers.scan($0) }) else { return nil }
        var counters = JobCounters()
        counters.successfullyProcessedRequests = 1
        counters.outputRows = 1
        if let range = members.usage, let usage = try? JSONValue(parsing: Array(response[range])) {
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
        if members.spansLines, let json = try? JSONValue(parsing: response) {
            json.write(to: &line, pretty: false, indent: 0)
        } else {
            line.append(contentsOf: response)
        }
        line.append(contentsOf: "}\n".utf8)
        return (line, counters, members.choices)
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

    private func finishSuccess(_ line: [UInt8], _ counters: JobCounters, held: Int) {
        state.lock()
        let accepted = acceptingResults
        if accepted {
            pendingResults.append(contentsOf: line)
            pendingDelta.add(counters)
            pendingRows += 1
            pendingHeld += held
        }
        rowDoneLocked()
        state.unlock()
        if !accepted { pool.releaseHeld(held) }
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
        if outstanding == 0 || pendingRows == options.flushRows { state.broadcast() } else { windowChangedLocked() }
    }

    /// Wakes the feeder once the rows holding a place in the window are down to half of it.
    private func windowChangedLocked() {
        if feederWaiting && outstanding - waitingRetry == window / 2 { state.broadcast() }
        if outstanding == waitingRetry && stopReason != nil { state.broadcast() }
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
        let results = pendingResults, errors = pendingErrors, delta = pendingDelta, held = pendingHeld
        pendingResults = []
        pendingErrors = []
        pendingDelta = JobCounters()
        pendingRows = 0
        pendingHeld = 0
        state.unlock()
        // Written or not, these answers leave memory with this call.
        defer { pool.releaseHeld(held) }
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
