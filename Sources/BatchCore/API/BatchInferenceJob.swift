// The BatchInferenceJob resource: states, precision, parameters, progress and their protojson form.
import BatchJSONL

public enum JobState {
    public static let prefix = "JOB_STATE_"
    public static let unspecified = "JOB_STATE_UNSPECIFIED"
    public static let creating = "JOB_STATE_CREATING"
    public static let running = "JOB_STATE_RUNNING"
    public static let completed = "JOB_STATE_COMPLETED"
    public static let failed = "JOB_STATE_FAILED"
    public static let cancelled = "JOB_STATE_CANCELLED"
    public static let deleting = "JOB_STATE_DELETING"
    public static let writingResults = "JOB_STATE_WRITING_RESULTS"
    public static let validating = "JOB_STATE_VALIDATING"
    public static let deletingCleaningUp = "JOB_STATE_DELETING_CLEANING_UP"
    public static let pending = "JOB_STATE_PENDING"
    public static let expired = "JOB_STATE_EXPIRED"
    public static let reQueueing = "JOB_STATE_RE_QUEUEING"
    public static let creatingInputDataset = "JOB_STATE_CREATING_INPUT_DATASET"
    public static let idle = "JOB_STATE_IDLE"
    public static let cancelling = "JOB_STATE_CANCELLING"
    public static let earlyStopped = "JOB_STATE_EARLY_STOPPED"
    public static let paused = "JOB_STATE_PAUSED"
    public static let deleted = "JOB_STATE_DELETED"

    public static let all = [unspecified, creating, running, completed, failed, cancelled, deleting, writingResults,
                             validating, deletingCleaningUp, pending, expired, reQueueing, creatingInputDataset, idle,
                             cancelling, earlyStopped, paused, deleted]
    public static let terminal: Set<String> = [completed, failed, expired, cancelled, earlyStopped, deleted]

    public static func isTerminal(_ state: String) -> Bool { terminal.contains(state) }

    /// `JOB_STATE_RUNNING` -> `RUNNING`, for tables and progress lines.
    public static func short(_ state: String) -> String {
        state.hasPrefix(prefix) ? String(state.dropFirst(prefix.count)) : state
    }
}

public enum Precision {
    public static let all = ["PRECISION_UNSPECIFIED", "FP16", "FP8", "FP8_MM", "FP8_AR", "FP8_MM_KV_ATTN", "FP8_KV",
                             "FP8_MM_V2", "FP8_V2", "FP8_MM_KV_ATTN_V2", "NF4", "FP4", "BF16", "FP4_BLOCKSCALED_MM",
                             "FP4_MX_MOE"]
}

/// `inferenceParameters`: the defaults every row's request starts from.
public struct InferenceParameters: Equatable, Sendable {
    public var maxTokens: Int32 = 0
    public var temperature: Float = 0
    public var topP: Float = 0
    public var topK: Int32 = 0
    public var n: Int32 = 0
    /// A JSON object encoded as a string, as the wire has it.
    public var extraBody = ""

    public init() {}

    static let fields = ["maxTokens", "temperature", "topP", "topK", "n", "extraBody"]

    public init(json: JSONValue, strict: Bool = false) throws {
        let o = try ProtoObject(json, context: "inferenceParameters")
        if strict { try o.rejectUnknown(InferenceParameters.fields) }
        maxTokens = try o.int32("maxTokens") ?? 0
        temperature = Float(try o.double("temperature") ?? 0)
        topP = Float(try o.double("topP") ?? 0)
        topK = try o.int32("topK") ?? 0
        n = try o.int32("n") ?? 0
        if let v = o.value("extraBody") {
            // The wire wants a string; an object is accepted too, since that is what a person would write.
            if let s = v.stringValue { extraBody = s } else if case .object = v { extraBody = v.compactText } else {
                throw ProtoJSONError("invalid value for string field extraBody: \(v.compactText)")
            }
        }
        if strict, !extraBody.isEmpty {
            guard let decoded = try? JSONValue(parsing: extraBody), case .object = decoded else {
                throw ProtoJSONError("inferenceParameters.extraBody must be a JSON object encoded as a string")
            }
        }
    }

    public var json: JSONValue {
        .object([
            ("maxTokens", .int(maxTokens)),
            ("temperature", JSONValue.float(temperature)),
            ("topP", JSONValue.float(topP)),
            ("n", .int(n)),
            ("extraBody", .string(extraBody)),
            ("topK", .int(topK)),
        ])
    }
}

extension JSONValue {
    /// A float32 printed the way protojson does: shortest text that reads back as the same float.
    public static func float(_ value: Float) -> JSONValue {
        if value == value.rounded(), abs(value) < 1e7 { return .number(String(Int(value))) }
        return .number(value.description)
    }
}

/// `jobProgress`: int32 counters, null until the job starts.
public struct JobProgress: Equatable, Sendable {
    public var percent: Int32 = 0
    public var epoch: Int32 = 0
    public var totalInputRequests: Int32 = 0
    public var totalProcessedRequests: Int32 = 0
    public var successfullyProcessedRequests: Int32 = 0
    public var failedRequests: Int32 = 0
    public var outputRows: Int32 = 0
    public var inputTokens: Int32 = 0
    public var outputTokens: Int32 = 0
    public var cachedInputTokenCount: Int32 = 0

    public init() {}

    public init(json: JSONValue) throws {
        let o = try ProtoObject(json, context: "jobProgress")
        percent = try o.int32("percent") ?? 0
        epoch = try o.int32("epoch") ?? 0
        totalInputRequests = try o.int32("totalInputRequests") ?? 0
        totalProcessedRequests = try o.int32("totalProcessedRequests") ?? 0
        successfullyProcessedRequests = try o.int32("successfullyProcessedRequests") ?? 0
        failedRequests = try o.int32("failedRequests") ?? 0
        outputRows = try o.int32("outputRows") ?? 0
        inputTokens = try o.int32("inputTokens") ?? 0
        outputTokens = try o.int32("outputTokens") ?? 0
        cachedInputTokenCount = try o.int32("cachedInputTokenCount") ?? 0
    }

    public var json: JSONValue {
        .object([
            ("percent", .int(percent)), ("epoch", .int(epoch)),
            ("totalInputRequests", .int(totalInputRequests)), ("totalProcessedRequests", .int(totalProcessedRequests)),
            ("successfullyProcessedRequests", .int(successfullyProcessedRequests)), ("failedRequests", .int(failedRequests)),
            ("outputRows", .int(outputRows)), ("inputTokens", .int(inputTokens)), ("outputTokens", .int(outputTokens)),
            ("cachedInputTokenCount", .int(cachedInputTokenCount)),
        ])
    }
}

/// `lifecycle`: when the job was validated, started running and ended (null until then).
public struct JobLifecycle: Equatable, Sendable {
    public var validatedTime: String?
    public var runStartTime: String?
    public var endTime: String?
    public init() {}

    public init(json: JSONValue) throws {
        let o = try ProtoObject(json, context: "lifecycle")
        validatedTime = try o.string("validatedTime")
        runStartTime = try o.string("runStartTime")
        endTime = try o.string("endTime")
    }

    public var json: JSONValue {
        .object([("validatedTime", validatedTime.map(JSONValue.string) ?? .null),
                 ("runStartTime", runStartTime.map(JSONValue.string) ?? .null),
                 ("endTime", endTime.map(JSONValue.string) ?? .null)])
    }
}

public struct BatchInferenceJob: Equatable, Sendable {
    public var name = ""
    public var displayName = ""
    public var createTime: String?
    public var createdBy = ""
    public var state = JobState.unspecified
    public var status = ResourceStatus()
    public var model = ""
    public var inputDatasetId = ""
    public var outputDatasetId = ""
    public var inferenceParameters: InferenceParameters?
    public var updateTime: String?
    public var precision = "PRECISION_UNSPECIFIED"
    public var jobProgress: JobProgress?
    public var continuedFromJobName = ""
    public var expireTime: String?
    public var lifecycle: JobLifecycle?
    public var waitingOnCapacity = false
    public var maxJobDuration: String?
    public var systemPrompt = ""

    public init() {}

    /// The fields a client may set on create.
    public static let writableFields = ["displayName", "model", "inputDatasetId", "outputDatasetId", "inferenceParameters",
                                        "precision", "systemPrompt", "maxJobDuration", "continuedFromJobName"]
    static let outputOnlyFields = ["name", "createTime", "createdBy", "state", "status", "updateTime", "jobProgress",
                                   "expireTime", "lifecycle", "waitingOnCapacity"]

    public init(json: JSONValue, strict: Bool = false) throws {
        let o = try ProtoObject(json, context: strict ? "" : "batchInferenceJob")
        if strict { try o.rejectUnknown(BatchInferenceJob.writableFields + BatchInferenceJob.outputOnlyFields) }
        name = try o.string("name") ?? ""
        displayName = try o.string("displayName") ?? ""
        createTime = try o.string("createTime")
        createdBy = try o.string("createdBy") ?? ""
        state = try o.string("state") ?? JobState.unspecified
        if let s = try o.object("status") { status = try ResourceStatus(s) }
        model = try o.string("model") ?? ""
        inputDatasetId = try o.string("inputDatasetId") ?? ""
        outputDatasetId = try o.string("outputDatasetId") ?? ""
        if let p = o.value("inferenceParameters") { inferenceParameters = try InferenceParameters(json: p, strict: strict) }
        updateTime = try o.string("updateTime")
        precision = try o.string("precision") ?? "PRECISION_UNSPECIFIED"
        if let p = o.value("jobProgress") { jobProgress = try JobProgress(json: p) }
        continuedFromJobName = try o.string("continuedFromJobName") ?? ""
        expireTime = try o.string("expireTime")
        if let l = o.value("lifecycle") { lifecycle = try JobLifecycle(json: l) }
        waitingOnCapacity = try o.bool("waitingOnCapacity") ?? false
        maxJobDuration = try o.string("maxJobDuration")
        systemPrompt = try o.string("systemPrompt") ?? ""
        if strict, !Precision.all.contains(precision) {
            throw ProtoJSONError("invalid value for enum field precision: \"\(precision)\"")
        }
    }

    public var id: String { name.split(separator: "/").last.map(String.init) ?? name }
    public var isTerminal: Bool { JobState.isTerminal(state) }

    public var json: JSONValue {
        .object([
            ("name", .string(name)),
            ("displayName", .string(displayName)),
            ("createTime", createTime.map(JSONValue.string) ?? .null),
            ("createdBy", .string(createdBy)),
            ("state", .string(state)),
            ("status", status.json),
            ("model", .string(model)),
            ("inputDatasetId", .string(inputDatasetId)),
            ("outputDatasetId", .string(outputDatasetId)),
            ("inferenceParameters", inferenceParameters?.json ?? .null),
            ("updateTime", updateTime.map(JSONValue.string) ?? .null),
            ("precision", .string(precision)),
            ("jobProgress", jobProgress?.json ?? .null),
            ("continuedFromJobName", .string(continuedFromJobName)),
            ("expireTime", expireTime.map(JSONValue.string) ?? .null),
            ("lifecycle", lifecycle?.json ?? .null),
            ("waitingOnCapacity", .bool(waitingOnCapacity)),
            ("maxJobDuration", maxJobDuration.map(JSONValue.string) ?? .null),
            ("systemPrompt", .string(systemPrompt)),
        ])
    }

    /// The body a client sends on create: only the writable fields that are set.
    public var createBody: JSONValue {
        var m: [(String, JSONValue)] = []
        if !displayName.isEmpty { m.append(("displayName", .string(displayName))) }
        if !model.isEmpty { m.append(("model", .string(model))) }
        if !inputDatasetId.isEmpty { m.append(("inputDatasetId", .string(inputDatasetId))) }
        if !outputDatasetId.isEmpty { m.append(("outputDatasetId", .string(outputDatasetId))) }
        if let p = inferenceParameters {
            var pm: [(String, JSONValue)] = []
            if p.maxTokens != 0 { pm.append(("maxTokens", .int(p.maxTokens))) }
            if p.temperature != 0 { pm.append(("temperature", .float(p.temperature))) }
            if p.topP != 0 { pm.append(("topP", .float(p.topP))) }
            if p.topK != 0 { pm.append(("topK", .int(p.topK))) }
            if p.n != 0 { pm.append(("n", .int(p.n))) }
            if !p.extraBody.isEmpty { pm.append(("extraBody", .string(p.extraBody))) }
            if !pm.isEmpty { m.append(("inferenceParameters", .object(pm))) }
        }
        if precision != "PRECISION_UNSPECIFIED" { m.append(("precision", .string(precision))) }
        if !systemPrompt.isEmpty { m.append(("systemPrompt", .string(systemPrompt))) }
        if let d = maxJobDuration { m.append(("maxJobDuration", .string(d))) }
        if !continuedFromJobName.isEmpty { m.append(("continuedFromJobName", .string(continuedFromJobName))) }
        return .object(m)
    }
}

/// A list answer: `{"<items>": [...], "nextPageToken": "...", "totalSize": N}`.
public struct ListPage: Sendable {
    public var items: [JSONValue]
    public var nextPageToken: String
    public var totalSize: Int

    public init(items: [JSONValue], nextPageToken: String, totalSize: Int) {
        self.items = items; self.nextPageToken = nextPageToken; self.totalSize = totalSize
    }

    public init(json: JSONValue, itemsKey: String) throws {
        let o = try ProtoObject(json, context: "list response")
        items = o.value(itemsKey)?.arrayValue ?? []
        nextPageToken = try o.string("nextPageToken") ?? ""
        totalSize = Int(try o.int64("totalSize") ?? 0)
    }

    public func json(itemsKey: String) -> JSONValue {
        .object([(itemsKey, .array(items)), ("nextPageToken", .string(nextPageToken)), ("totalSize", .int(totalSize))])
    }
}
