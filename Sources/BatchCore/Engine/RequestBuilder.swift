// Turns an input row and the job's settings into the chat completion request body the backend is sent; ModelMap.
import BatchJSONL

/// Maps a job's model name to the name the inference server knows. Without a rule, `accounts/x/models/NAME`
/// is sent as `NAME` (what vLLM's `--served-model-name` or an Ollama tag usually is).
public struct ModelMap: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var from: String
        public var to: String
    }
    public private(set) var rules: [Rule] = []

    public init() {}

    /// Each rule is `FROM=TO`. FROM matches the full model name or its last path part; a FROM ending in `*`
    /// matches by prefix, and `*` alone matches everything. The first rule that matches wins.
    public init(rules: [String]) throws {
        for text in rules {
            guard let eq = text.firstIndex(of: "=") else { throw EngineError.invalidModelMapRule(text) }
            let from = String(text[..<eq]).trimmingSpaces, to = String(text[text.index(after: eq)...]).trimmingSpaces
            guard !from.isEmpty, !to.isEmpty else { throw EngineError.invalidModelMapRule(text) }
            self.rules.append(Rule(from: from, to: to))
        }
    }

    public func map(_ model: String) -> String {
        let lastPart = model.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? model
        for rule in rules {
            if rule.from.hasSuffix("*") {
                let prefix = String(rule.from.dropLast())
                if model.hasPrefix(prefix) || lastPart.hasPrefix(prefix) { return rule.to }
            } else if rule.from == model || rule.from == lastPart {
                return rule.to
            }
        }
        return model.hasPrefix("accounts/") && model.contains("/models/") ? lastPart : model
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

/// Why a row could not become a request. The row fails alone, with HTTP status 400 in `error-data`.
public struct RowError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    /// The row's custom_id when it has a usable one, so that its failure can be joined on it.
    public var customID: String?
    public init(_ message: String, customID: String? = nil) { self.message = message; self.customID = customID }
    public var description: String { message }
}

/// One input row, taken apart.
public struct InputRow: Sendable {
    public var customID: String
    public var body: JSONValue

    /// Accepts `{"custom_id", "body"}` and the OpenAI batch shape `{"custom_id", "method", "url", "body"}`
    /// (the request always goes to chat completions; `url` is not followed).
    public init(parsing line: [UInt8]) throws {
        let value: JSONValue
        do { value = try JSONValue(parsing: line) } catch { throw RowError("invalid JSON: \(error)") }
        guard case .object = value else { throw RowError("a row must be a JSON object") }
        guard let id = value["custom_id"]?.stringValue else { throw RowError("missing or non-string \"custom_id\"") }
        guard let body = value["body"], case .object = body else { throw RowError("missing or non-object \"body\"", customID: id) }
        customID = id
        self.body = body
    }
}

/// Builds request bodies for one job. The job's parameters are defaults: a key the row's body already has wins.
/// `model` is always the job's (mapped) model, since the job, not the row, chooses it.
public struct RequestBuilder: Sendable {
    public let model: String
    public let systemPrompt: String?
    /// The job's parameters as request keys, in the order they are added.
    public let defaults: [(String, JSONValue)]

    public init(model: String, inferenceParameters: JSONValue?, systemPrompt: String?) throws {
        self.model = model
        self.systemPrompt = (systemPrompt?.isEmpty ?? true) ? nil : systemPrompt
        self.defaults = try Self.defaults(from: inferenceParameters)
    }

    /// The named parameters first, then `extraBody`'s keys that none of them set. Presence is what counts: a
    /// parameter the job sets is applied whatever its value (`temperature: 0` is greedy decoding), one it does not
    /// set is left to the row and the server (gateway-api.md §1, proto3 `optional`).
    static func defaults(from parameters: JSONValue?) throws -> [(String, JSONValue)] {
        guard let parameters, case .object = parameters else { return [] }
        func value(_ camel: String, _ snake: String) -> JSONValue? {
            guard let v = parameters[camel] ?? parameters[snake] else { return nil }
            switch v {
            case .number: return v
            case let .string(text): return Double(text).map { _ in JSONValue.number(text) }
            default: return nil
            }
        }
        var out: [(String, JSONValue)] = []
        for (camel, snake) in [("maxTokens", "max_tokens"), ("temperature", "temperature"), ("topP", "top_p"),
                               ("topK", "top_k"), ("n", "n")] {
            if let v = value(camel, snake) { out.append((snake, v)) }
        }
        if let extra = parameters["extraBody"] ?? parameters["extra_body"] {
            var object = extra
            if case let .string(text) = extra {
                if text.trimmingSpaces.isEmpty { return out }
                do { object = try JSONValue(parsing: text) } catch { throw EngineError.invalidInferenceParameters("extraBody is not JSON: \(error)") }
            }
            guard let members = object.objectValue else {
                if object.isNull { return out }
                throw EngineError.invalidInferenceParameters("extraBody must be a JSON object")
            }
            for (key, v) in members where !out.contains(where: { $0.0 == key }) && key != "model" { out.append((key, v)) }
        }
        return out
    }

    public func request(for body: JSONValue) -> JSONValue {
        guard case let .object(members) = body else { return body }
        var out: [(String, JSONValue)] = [("model", .string(model))]
        out.reserveCapacity(members.count + defaults.count + 1)
        for (key, value) in members where key != "model" {
            if key == "messages", let systemPrompt, case let .array(messages) = value,
               messages.first?["role"]?.stringValue != "system" {
                let system = JSONValue.object([("role", .string("system")), ("content", .string(systemPrompt))])
                out.append((key, .array([system] + messages)))
            } else {
                out.append((key, value))
            }
        }
        for (key, value) in defaults where !members.contains(where: { $0.0 == key }) { out.append((key, value)) }
        return .object(out)
    }

    public func requestBytes(for body: JSONValue) -> [UInt8] { request(for: body).serialized() }
}
