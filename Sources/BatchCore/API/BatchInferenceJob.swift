// The BatchInferenceJob resource: states, precision, parameters, progress and their protojson form.
import BatchJSONL

/// A job's `state`. Wire names keep the `JOB_STATE_` prefix.
public enum JobState: WireEnum {
    case unspecified, creating, running, completed, failed, cancelled, deleting, writingResults, validating
    case deletingCleaningUp, pending, expired, reQueueing, creatingInputDataset, idle, cancelling, earlyStopped
    case paused, deleted
    case unrecognized(String)

    public static let allCases: [JobState] = [
        .unspecified, .creating, .running, .completed, .failed, .cancelled, .deleting, .writingResults, .validating,
        .deletingCleaningUp, .pending, .expired, .reQueueing, .creatingInputDataset, .idle, .cancelling, .earlyStopped,
        .paused, .deleted,
    ]

    public static let prefix = "JOB_STATE_"

    public var rawValue: String {
        switch self {
        case .unrecognized(let name): return name
        default: return JobState.prefix + shortName
        }
    }

    /// The name without its prefix (`RUNNING`), for tables and progress lines; an unrecognized name loses the
    /// prefix too when it has one.
    public var shortName: String {
        switch self {
        case .unspecified: return "UNSPECIFIED"
        case .creating: return "CREATING"
        case .running: return "RUNNING"
        case .completed: return "COMPLETED"
        case .failed: return "FAILED"
        case .cancelled: return "CANCELLED"
        case .deleting: return "DELETING"
        case .writingResults: return "WRITING_RESULTS"
        case .validating: return "VALIDATING"
        case .deletingCleaningUp: return "DELETING_CLEANING_UP"
        case .pending: return "PENDING"
        case .expired: return "EXPIRED"
        case .reQueueing: return "RE_QUEUEING"
        case .creatingInputDataset: return "CREATING_INPUT_DATASET"
        case .idle: return "IDLE"
        case .cancelling: return "CANCELLING"
        case .earlyStopped: return "EARLY_STOPPED"
        case .paused: return "PAUSED"
        case .deleted: return "DELETED"
        case .unrecognized(let name): return name.hasPrefix(JobState.prefix) ? String(name.dropFirst(JobState.prefix.count)) : name
        }
    }

    /// The end states (gateway-api.md §3): a job in one never changes again. An unrecognized state is not one.
    public static let terminal: Set<JobState> = [.completed, .failed, .expired, .cancelled, .earlyStopped, .deleted]

    public var isTerminal: Bool { JobState.terminal.contains(self) }
}

/// A job's serving `precision`.
public enum Precision: WireEnum {
    case unspecified, fp16, fp8, fp8MM, fp8AR, fp8MMKVAttn, fp8KV, fp8MMV2, fp8V2, fp8MMKVAttnV2, nf4, fp4, bf16
    case fp4BlockScaledMM, fp4MXMoE
    case unrecognized(String)

    public static let allCases: [Precision] = [
        .unspecified, .fp16, .fp8, .fp8MM, .fp8AR, .fp8MMKVAttn, .fp8KV, .fp8MMV2, .fp8V2, .fp8MMKVAttnV2, .nf4, .fp4,
        .bf16, .fp4BlockScaledMM, .fp4MXMoE,
    ]

    public var rawValue: String {
        switch self {
        case .unspecified: return "PRECISION_UNSPECIFIED"
        case .fp16: return "FP16"
        case .fp8: return "FP8"
        case .fp8MM: return "FP8_MM"
        case .fp8AR: return "FP8_AR"
        case .fp8MMKVAttn: return "FP8_MM_KV_ATTN"
        case .fp8KV: return "FP8_KV"
        case .fp8MMV2: return "FP8_MM_V2"
        case .fp8V2: return "FP8_V2"
        case .fp8MMKVAttnV2: return "FP8_MM_KV_ATTN_V2"
        case .nf4: return "NF4"
        case .fp4: return "FP4"
        case .bf16: return "BF16"
        case .fp4BlockScaledMM: return "FP4_BLOCKSCALED_MM"
        case .fp4MXMoE: return "FP4_MX_MOE"
        case .unrecognized(let name): return name
        }
    }
}

/// `inferenceParameters`: the defaults every row's request starts from. Every field is a proto3 `optional`:
/// nil is "not set" and is neither sent nor stored nor echoed, while `temperature: 0` is a setting like any other
/// (greedy decoding), so zero is never confused with absence anywhere (gateway-api.md §1).
public struct InferenceParameters: Equatable, Sendable {
    public var maxTokens: Int32?
    public var temperature: Float?
    public var topP: Float?
    public var topK: Int32?
    public var n: Int32?
    /// A JSON object encoded as a string, as the wire has it.
    public var extraBody: String?

    public init() {}

    static let fields = ["maxTokens", "temperature", "topP", "topK", "n", "extraBody"]

    public init(json: JSONValue, strict: Bool = false) throws {
        let o = try ProtoObject(json, context: "inferenceParameters")
        if strict { try o.rejectUnknown(InferenceParameters.fields) }
        maxTokens = try o.int32("maxTokens")
        temperature = try o.double("temperature").map(Float.init)
        topP = try o.double("topP").map(Float.init)
        topK = try o.int32("topK")
        n = try o.int32("n")
        if let v = o.value("extraBody") {
            // The wire wants a string; an object is accepted too, since that is what a person would write.
            if let s = v.stringValue { extraBody = s } else if case .object = v { extraBody = v.compactText } else {
                throw ProtoJSONError("invalid value for string field extraBody: \(v.compactText)")
            }
        }
        if strict, let extraBody, !extraBody.isEmpty {
            guard let decoded = try? JSONValue(parsing: extraBody), case .object = decoded else {
                throw ProtoJSONError("inferenceParameters.extraBody must be a JSON object encoded as a string")
            }
        }
    }

    /// True when no field is set.
    public var isEmpty: Bool { self == InferenceParameters() }

    /// Only the fields that are set, in the order live answers list them.
    public var json: JSONValue {
        var m: [(String, JSONValue)] = []
        if let maxTokens { m.append(("maxTokens", .int(maxTokens))) }
        if let temperature { m.append(("temperature", .float(temperature))) }
        if let topP { m.append(("topP", .float(topP))) }
        if let n { m.append(("n", .int(n))) }
        if let extraBody { m.append(("extraBody", .string(extraBody))) }
        if let topK { m.append(("topK", .int(topK))) }
        return .object(m)
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
    public var precision = Precision.unspecified
    public var jobProgress: JobProgress?
    public var continuedFromJobName = ""
    public var expireTime: String?
    public var lifecycle: JobLifecycle?
    public var waitingOnCapacity = false
    public var maxJobDuration: String?
    public var systemPrompt = ""
    /// Where the job may run (`{"region": ...}`, `{"multiRegion": ...}` or `{"regions": [...]}`), kept as sent;
    /// nil (JSON `null`) when unset.
    public var placement: JSONValue?

    public init() {}

    /// The fields a client may set on create.
    public static let writableFields = ["displayName", "model", "inputDatasetId", "outputDatasetId", "inferenceParameters",
                                        "precision", "systemPrompt", "maxJobDuration", "continuedFromJobName", "placement"]
    static let outputOnlyFields = ["name", "createTime", "createdBy", "state", "status", "updateTime", "jobProgress",
                                   "expireTime", "lifecycle", "waitingOnCapacity"]

    public init(json: JSONValue, strict: Bool = false) throws {
        let o = try ProtoObject(json, context: strict ? "" : "batchInferenceJob")
        if strict { try o.rejectUnknown(BatchInferenceJob.writableFields + BatchInferenceJob.outputOnlyFields) }
        name = try o.string("name") ?? ""
        displayName = try o.string("displayName") ?? ""
        createTime = try o.string("createTime")
        createdBy = try o.string("createdBy") ?? ""
        state = try o.wireEnum("state") ?? .unspecified
        if let s = try o.object("status") { status = try ResourceStatus(s) }
        model = try o.string("model") ?? ""
        inputDatasetId = try o.string("inputDatasetId") ?? ""
        outputDatasetId = try o.string("outputDatasetId") ?? ""
        if let p = o.value("inferenceParameters") { inferenceParameters = try InferenceParameters(json: p, strict: strict) }
        updateTime = try o.string("updateTime")
        precision = try o.wireEnum("precision") ?? .unspecified
        if let p = o.value("jobProgress") { jobProgress = try JobProgress(json: p) }
        continuedFromJobName = try o.string("continuedFromJobName") ?? ""
        expireTime = try o.string("expireTime")
        if let l = o.value("lifecycle") { lifecycle = try JobLifecycle(json: l) }
        waitingOnCapacity = try o.bool("waitingOnCapacity") ?? false
        maxJobDuration = try o.string("maxJobDuration")
        systemPrompt = try o.string("systemPrompt") ?? ""
        if let p = o.value("placement") {
            let fields = try ProtoObject(p, context: "placement")
            if strict {
                try fields.rejectUnknown(BatchInferenceJob.placementFields)
                if let region = fields.value("region"), region.stringValue == nil {
                    throw ProtoJSONError("invalid value for enum field placement.region: \(region.compactText)")
                }
                if let multi = fields.value("multiRegion"), multi.stringValue == nil {
                    throw ProtoJSONError("invalid value for enum field placement.multiRegion: \(multi.compactText)")
                }
                if let regions = fields.value("regions"), !(regions.arrayValue?.allSatisfy { $0.stringValue != nil } ?? false) {
                    throw ProtoJSONError("invalid value for repeated enum field placement.regions: \(regions.compactText)")
                }
            }
            // Stored in the camelCase spelling, as every answer shows it.
            placement = .object(fields.members.map { (ProtoObject.camelCase($0.0), $0.1) })
        }
        if strict { try ProtoObject.requireRecognized(precision, field: "precision") }
    }

    /// The members of the `Placement` message (the SDK's `types/placement.py`).
    static let placementFields = ["region", "multiRegion", "regions"]

    public var id: String { name.split(separator: "/").last.map(String.init) ?? name }
    public var isTerminal: Bool { state.isTerminal }

    public var json: JSONValue {
        .object([
            ("name", .string(name)),
            ("displayName", .string(displayName)),
            ("createTime", createTime.map(JSONValue.string) ?? .null),
            ("createdBy", .string(createdBy)),
            ("state", .string(state.rawValue)),
            ("status", status.json),
            ("model", .string(model)),
            ("inputDatasetId", .string(inputDatasetId)),
            ("outputDatasetId", .string(outputDatasetId)),
            ("inferenceParameters", inferenceParameters?.json ?? .null),
            ("updateTime", updateTime.map(JSONValue.string) ?? .null),
            ("precision", .string(precision.rawValue)),
            ("jobProgress", jobProgress?.json ?? .null),
            ("continuedFromJobName", .string(continuedFromJobName)),
            ("expireTime", expireTime.map(JSONValue.string) ?? .null),
            ("lifecycle", lifecycle?.json ?? .null),
            ("waitingOnCapacity", .bool(waitingOnCapacity)),
            ("maxJobDuration", maxJobDuration.map(JSONValue.string) ?? .null),
            ("systemPrompt", .string(systemPrompt)),
            ("placement", placement ?? .null),
        ])
    }

    /// The body a client sends on create: only the writable fields that are set.
    public var createBody: JSONValue {
        var m: [(String, JSONValue)] = []
        if !displayName.isEmpty { m.append(("displayName", .string(displayName))) }
        if !model.isEmpty { m.append(("model", .string(model))) }
        if !inputDatasetId.isEmpty { m.append(("inputDatasetId", .string(inputDatasetId))) }
        if !outputDatasetId.isEmpty { m.append(("outputDatasetId", .string(outputDatasetId))) }
        // Presence: every parameter that is set goes, zero included; none that is not.
        if let p = inferenceParameters, !p.isEmpty { m.append(("inferenceParameters", p.json)) }
        if precision != .unspecified { m.append(("precision", .string(precision.rawValue))) }
        if !systemPrompt.isEmpty { m.append(("systemPrompt", .string(systemPrompt))) }
        if let d = maxJobDuration { m.append(("maxJobDuration", .string(d))) }
        if !continuedFromJobName.isEmpty { m.append(("continuedFromJobName", .string(continuedFromJobName))) }
        if let placement { m.append(("placement", placement)) }
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
