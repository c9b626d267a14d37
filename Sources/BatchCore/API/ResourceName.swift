// Resource ids and names (`accounts/{a}/datasets/{id}`), checked against the gateway's id rules.

/// The kinds of resource batchctl addresses, with their collection segment in names and paths.
public enum ResourceKind: String, Sendable, CaseIterable {
    case dataset = "datasets"
    case batchInferenceJob = "batchInferenceJobs"

    public var noun: String { self == .dataset ? "dataset" : "batch inference job" }
}

public enum ResourceID {
    /// Why `id` breaks the rules (1-63 of a-z, 0-9, '-', no leading/trailing '-', no leading digit), or nil.
    public static func problem(_ id: String) -> String? {
        let bytes = Array(id.utf8)
        if bytes.isEmpty { return "an id cannot be empty" }
        if bytes.count > 63 { return "an id has at most 63 characters (this one has \(bytes.count))" }
        for b in bytes {
            let ok = (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D
            if !ok { return "an id may contain only lowercase letters, digits and '-'" }
        }
        if bytes.first == 0x2D || bytes.last == 0x2D { return "an id cannot start or end with '-'" }
        if let first = bytes.first, first >= 0x30 && first <= 0x39 { return "an id cannot start with a digit" }
        return nil
    }

    public static func isValid(_ id: String) -> Bool { problem(id) == nil }

    /// An account id follows the same rules except that a leading digit is allowed (Fireworks accounts such
    /// as `fireworks` or user-named ones); it must still be safe as a single path segment.
    public static func accountProblem(_ id: String) -> String? {
        let bytes = Array(id.utf8)
        if bytes.isEmpty || bytes.count > 63 { return "an account id has 1 to 63 characters" }
        for b in bytes {
            let ok = (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D
            if !ok { return "an account id may contain only lowercase letters, digits and '-'" }
        }
        return nil
    }
}

/// A parsed resource name: account, kind and id.
public struct ResourceName: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var account: String
    public var kind: ResourceKind
    public var id: String

    public init(account: String, kind: ResourceKind, id: String) {
        self.account = account
        self.kind = kind
        self.id = id
    }

    public var description: String { "accounts/\(account)/\(kind.rawValue)/\(id)" }

    /// Parses `accounts/a/<kind>/id`; nil when it is not such a name or a part breaks the rules.
    public init?(_ name: String, kind: ResourceKind) {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, parts[0] == "accounts", parts[2] == kind.rawValue,
              ResourceID.accountProblem(parts[1]) == nil, ResourceID.isValid(parts[3]) else { return nil }
        self.init(account: parts[1], kind: kind, id: parts[3])
    }

    /// Accepts a bare id (`my-ds`) or a full name; explains what is wrong otherwise.
    public static func parse(_ text: String, kind: ResourceKind, defaultAccount: String) -> Result<ResourceName, ResourceNameError> {
        if text.hasPrefix("accounts/") {
            if let name = ResourceName(text, kind: kind) { return .success(name) }
            return .failure(ResourceNameError(text: text, reason: "not a \(kind.noun) name: expected accounts/ACCOUNT/\(kind.rawValue)/ID"))
        }
        if let problem = ResourceID.problem(text) { return .failure(ResourceNameError(text: text, reason: problem)) }
        return .success(ResourceName(account: defaultAccount, kind: kind, id: text))
    }
}

public struct ResourceNameError: Error, Equatable, Sendable {
    public var text: String
    public var reason: String
}
