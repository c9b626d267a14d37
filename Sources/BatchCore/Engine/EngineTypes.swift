// The engine's public value types: what a job is, what it reports, how it ends, and how it retries.
import Foundation
import BatchJSONL

/// Everything the engine needs to run one job. The server builds it from the job record.
public struct JobSpec: Sendable {
    /// `accounts/a/batchInferenceJobs/x`, only for messages.
    public var jobName: String
    /// The job's model as given (`accounts/fireworks/models/llama-v3p1-8b-instruct`); `RunnerOptions.modelMap`
    /// turns it into the name the backend is sent.
    public var model: String
    /// The job's `inferenceParameters` object: `maxTokens, temperature, topP, topK, n, extraBody` (camelCase or
    /// snake_case; `extraBody` is a JSON object encoded as a string, or an object).
    public var inferenceParameters: JSONValue?
    public var systemPrompt: String?
    /// The input dataset's JSONL file.
    public var inputPath: String
    /// Holds `BIJOutputSet.jsonl`, `error-data` and the checkpoint `.batchctl-checkpoint.json`.
    public var outputDirectory: String
    /// Rows that already succeeded earlier in a continuation chain (see `succeededCustomIDs(inOutputDirectories:)`).
    public var skipCustomIDs: CustomIDSet
    /// The job's `expireTime`: no request is dispatched after it.
    public var deadline: Date?

    public init(jobName: String, model: String, inferenceParameters: JSONValue? = nil, systemPrompt: String? = nil,
                inputPath: String, outputDirectory: String, skipCustomIDs: CustomIDSet = CustomIDSet(), deadline: Date? = nil) {
        self.jobName = jobName
        self.model = model
        self.inferenceParameters = inferenceParameters
        self.systemPrompt = systemPrompt
        self.inputPath = inputPath
        self.outputDirectory = outputDirectory
        self.skipCustomIDs = skipCustomIDs
        self.deadline = deadline
    }
}

/// The job's `jobProgress` numbers. `successfullyProcessedRequests + failedRequests == totalProcessedRequests`
/// holds for every value the runner hands out, because only committed (fsynced) rows are counted.
public struct JobCounters: Sendable, Equatable {
    /// Rows in the input minus the rows skipped because an earlier job of the chain finished them.
    public var totalInputRequests = 0
    public var successfullyProcessedRequests = 0
    public var failedRequests = 0
    /// Lines in `BIJOutputSet.jsonl` (one per successful row, whatever its `n`).
    public var outputRows = 0
    public var inputTokens = 0
    public var outputTokens = 0
    public var cachedInputTokenCount = 0

    public init() {}

    public var totalProcessedRequests: Int { successfullyProcessedRequests + failedRequests }

    /// 0...100, rounded down; an empty job is 100 % done.
    public var percent: Int {
        guard totalInputRequests > 0 else { return 100 }
        return min(100, totalProcessedRequests * 100 / totalInputRequests)
    }

    mutating func add(_ other: JobCounters) {
        successfullyProcessedRequests += other.successfullyProcessedRequests
        failedRequests += other.failedRequests
        outputRows += other.outputRows
        inputTokens += other.inputTokens
        outputTokens += other.outputTokens
        cachedInputTokenCount += other.cachedInputTokenCount
    }
}

/// A run's throughput over its running time, as `vllm bench` reports it: rows, input and output tokens per second.
public struct RunSummary: Sendable, Equatable, CustomStringConvertible {
    /// Rows finished (succeeded or failed) by this run; a resumed job counts only what it did since it resumed.
    public var rows: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var seconds: Double

    public init(rows: Int, inputTokens: Int, outputTokens: Int, seconds: Double) {
        self.rows = rows
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.seconds = seconds
    }

    private func rate(_ count: Int) -> Double { seconds > 0 ? Double(count) / seconds : 0 }
    public var rowsPerSecond: Double { rate(rows) }
    public var inputTokensPerSecond: Double { rate(inputTokens) }
    public var outputTokensPerSecond: Double { rate(outputTokens) }

    /// `1200 rows in 14.2 s: 84.5 rows/s, 3051.2 input tokens/s, 1690.1 output tokens/s`.
    public var description: String {
        String(format: "%d rows in %.1f s: %.1f rows/s, %.1f input tokens/s, %.1f output tokens/s",
               rows, seconds, rowsPerSecond, inputTokensPerSecond, outputTokensPerSecond)
    }
}

/// How `JobRunner.run` ended. In every case the rows finished so far are durable in the output directory.
public enum JobOutcome: Sendable, Equatable {
    /// Every row is in `BIJOutputSet.jsonl` or `error-data`.
    case completed
    /// The deadline passed; unfinished rows are in neither file (a continuation runs them).
    case expired
    case cancelled
    /// The job could not go on (unreadable input, disk full, damaged checkpoint). Running it again resumes.
    case failed(message: String)
}

/// Which backend failures are tried again, and how long to wait in between.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts per row, the first one included.
    public var maxAttempts: Int
    /// The wait before the second attempt; it doubles for each further one (with jitter).
    public var baseDelay: TimeInterval
    public var maxDelay: TimeInterval
    /// A `Retry-After` longer than this is cut to it, so one header cannot park a row for hours.
    public var maxRetryAfter: TimeInterval

    public init(maxAttempts: Int = 5, baseDelay: TimeInterval = 0.5, maxDelay: TimeInterval = 30, maxRetryAfter: TimeInterval = 120) {
        // Waits are bounded by a day so that a scheduled retry's time cannot overflow.
        let day: TimeInterval = 86_400
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = min(day, max(0, baseDelay.isNaN ? 0 : baseDelay))
        self.maxDelay = min(day, max(0, maxDelay.isNaN ? 0 : maxDelay))
        self.maxRetryAfter = min(day, max(0, maxRetryAfter.isNaN ? 0 : maxRetryAfter))
    }

    /// The wait before attempt `attempt + 1`. "Full jitter" between half and all of the exponential delay
    /// keeps many rows that failed together from coming back together.
    func delay(afterAttempt attempt: Int, retryAfter: TimeInterval?) -> TimeInterval {
        if let retryAfter { return min(max(0, retryAfter), maxRetryAfter) }
        let exponential = min(maxDelay, baseDelay * pow(2, Double(max(0, attempt - 1))))
        return exponential * Double.random(in: 0.5...1.0)
    }
}

/// Knobs of one run; the defaults are the server's.
public struct RunnerOptions: Sendable {
    public var retry = RetryPolicy()
    public var modelMap = ModelMap()
    /// Results are written, fsynced and checkpointed this often...
    public var flushInterval: TimeInterval = 0.1
    /// ...or as soon as this many rows wait.
    public var flushRows = 4096
    public var progressInterval: TimeInterval = 1.0
    /// How long a cancel or the deadline waits for requests already sent before giving up on them.
    public var drainTimeout: TimeInterval = 30
    /// Rows read ahead of the backend per job (queued, in flight or waiting to retry); nil means twice the
    /// pool's concurrency. This is what keeps memory flat in the number of rows.
    public var window: Int?

    public init() {}
}

/// Why an engine call was refused.
public enum EngineError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidModelMapRule(String)
    case unsupportedURL(String)
    case invalidInferenceParameters(String)
    case io(path: String, operation: String, errno: Int32)
    case damagedCheckpoint(path: String, reason: String)
    case outputShorterThanCheckpoint(path: String, size: UInt64, checkpointed: UInt64)

    /// ENOSPC / EDQUOT: the disk (or quota) is full.
    public var isDiskFull: Bool {
        if case let .io(_, _, code) = self { return code == ENOSPC || code == EDQUOT }
        return false
    }

    public var description: String {
        switch self {
        case let .invalidModelMapRule(rule): return "invalid model map rule '\(rule)': expected FROM=TO"
        case let .invalidInferenceParameters(reason): return "invalid inferenceParameters: \(reason)"
        case let .unsupportedURL(url): return "unsupported backend URL '\(url)': expected http://host[:port][/path]"
        case let .io(path, operation, code): return "\(path): \(operation) failed: \(String(cString: strerror(code)))"
        case let .damagedCheckpoint(path, reason): return "\(path): damaged checkpoint: \(reason)"
        case let .outputShorterThanCheckpoint(path, size, checkpointed):
            return "\(path) has \(size) bytes but its checkpoint records \(checkpointed): the file was changed behind the engine"
        }
    }
}
