// The Dataset resource: fields, state and their protojson form (DatasetFormat is in JSONL, shared with the validator).
import BatchJSONL

/// `status {code, message}` inside a resource; `code` is the enum name, e.g. `INVALID_ARGUMENT`.
public struct ResourceStatus: Equatable, Sendable {
    public var code: String
    public var message: String
    public init(code: String = "OK", message: String = "") { self.code = code; self.message = message }

    public var json: JSONValue { .object([("code", .string(code)), ("message", .string(message))]) }

    init(_ object: ProtoObject) throws {
        self.init()
        if let v = object.value("code") {
            if let s = v.stringValue { code = s } else if let n = v.int64Value, let c = StatusCode(rawValue: Int(n)) { code = c.name }
        }
        message = try object.string("message") ?? ""
    }
}

/// A dataset's `state`.
public enum DatasetState: WireEnum {
    case unspecified, uploading, ready
    case unrecognized(String)

    public static let allCases: [DatasetState] = [.unspecified, .uploading, .ready]

    public var rawValue: String {
        switch self {
        case .unspecified: return "STATE_UNSPECIFIED"
        case .uploading: return "UPLOADING"
        case .ready: return "READY"
        case .unrecognized(let name): return name
        }
    }
}

public struct Dataset: Equatable, Sendable {
    public var name = ""
    public var displayName = ""
    public var createTime: String?
    public var updateTime: String?
    public var createdBy = ""
    public var state = DatasetState.unspecified
    public var status = ResourceStatus()
    public var exampleCount: Int64 = 0
    public var estimatedTokenCount: Int64 = 0
    public var averageTurnCount: Double = 0
    /// The source oneof: `userUploaded` or another member kept as it came (`(member, value)`), nil when unset.
    public var source: (String, JSONValue)?
    public var externalUrl = ""
    public var format = DatasetFormat.unspecified
    public var sourceJobName = ""
    /// `ENCRYPTION_STATE_PLAINTEXT` for uploaded files on Fireworks (the SDK's shard helper refuses anything but a
    /// plaintext state); a name this build does not know is kept as it came.
    public var encryptionState = Dataset.encryptionUnspecified

    public static let encryptionUnspecified = "ENCRYPTION_STATE_UNSPECIFIED"
    public static let encryptionPlaintext = "ENCRYPTION_STATE_PLAINTEXT"

    public init() {}

    public static func == (a: Dataset, b: Dataset) -> Bool { a.json == b.json }

    public static let sourceMembers = ["userUploaded", "evaluationResult", "transformed", "splitted", "evalProtocol"]
    static let fields = ["name", "displayName", "createTime", "updateTime", "createdBy", "state", "status", "exampleCount",
                         "estimatedTokenCount", "averageTurnCount", "externalUrl", "format", "sourceJobName", "encryptionState"] + sourceMembers

    /// Decodes a dataset. `strict` refuses unknown fields and bad enum values (request bodies); otherwise
    /// unknown fields are ignored (answers from a newer gateway).
    public init(json: JSONValue, strict: Bool = false) throws {
        let o = try ProtoObject(json, context: "dataset")
        if strict { try o.rejectUnknown(Dataset.fields) }
        name = try o.string("name") ?? ""
        displayName = try o.string("displayName") ?? ""
        createTime = try o.string("createTime")
        updateTime = try o.string("updateTime")
        createdBy = try o.string("createdBy") ?? ""
        state = try o.wireEnum("state") ?? .unspecified
        if let s = try o.object("status") { status = try ResourceStatus(s) }
        exampleCount = try o.int64("exampleCount") ?? 0
        estimatedTokenCount = try o.int64("estimatedTokenCount") ?? 0
        averageTurnCount = try o.double("averageTurnCount") ?? 0
        for member in Dataset.sourceMembers { if let v = o.value(member) { source = (member, v) } }
        externalUrl = try o.string("externalUrl") ?? ""
        format = try o.wireEnum("format") ?? .unspecified
        sourceJobName = try o.string("sourceJobName") ?? ""
        encryptionState = try o.string("encryptionState") ?? Dataset.encryptionUnspecified
        if strict {
            try ProtoObject.requireRecognized(state, field: "state")
            try ProtoObject.requireRecognized(format, field: "format")
        }
    }

    public var id: String { name.split(separator: "/").last.map(String.init) ?? name }

    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("name", .string(name)),
            ("displayName", .string(displayName)),
            ("createTime", createTime.map(JSONValue.string) ?? .null),
            ("updateTime", updateTime.map(JSONValue.string) ?? .null),
            ("createdBy", .string(createdBy)),
            ("state", .string(state.rawValue)),
            ("status", status.json),
            ("exampleCount", .string(String(exampleCount))),
            ("estimatedTokenCount", .string(String(estimatedTokenCount))),
            ("averageTurnCount", .double(averageTurnCount)),
        ]
        if let (member, value) = source { members.append((member, value)) }
        members += [
            ("externalUrl", .string(externalUrl)),
            ("format", .string(format.rawValue)),
            ("sourceJobName", .string(sourceJobName)),
            ("encryptionState", .string(encryptionState)),
        ]
        return .object(members)
    }
}
