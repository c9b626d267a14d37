// The inference backend protocol, its result types, and EchoBackend, the deterministic built-in model.
import Foundation
import BatchJSONL

/// Why one attempt at a request failed.
public struct InferenceFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, beyond the status: the pool tells an endpoint that is down from a row that is refused.
    public enum Kind: Sendable, Equatable {
        /// The server answered with `status`.
        case answered
        /// No connection could be made, or it broke before the answer (status 503).
        case connection
        /// No answer within the request timeout (status 504).
        case timeout
        /// The answer is larger than the backend's limit: the row fails, asking again would not help.
        case tooLarge
        /// A 2xx answer that is not a chat completion (not a JSON object).
        case invalidAnswer
    }

    /// The HTTP status. Transport failures use 503 (could not connect, connection lost) and 504 (timed out),
    /// so `error-data`'s `code` always reads as an HTTP status.
    public var status: Int
    public var message: String
    public var retryable: Bool
    /// The server's `Retry-After`, in seconds.
    public var retryAfter: TimeInterval?
    public var kind: Kind

    public init(status: Int, message: String, retryable: Bool, retryAfter: TimeInterval? = nil, kind: Kind = .answered) {
        self.status = status
        self.message = message
        self.retryable = retryable
        self.retryAfter = retryAfter
        self.kind = kind
    }

    /// Connection failures, timeouts, 502, 503 and 504: the endpoint rather than the row is in trouble. Several
    /// in a row open the endpoint's circuit.
    public var isUnavailable: Bool {
        switch kind {
        case .connection, .timeout: return true
        case .answered: return status == 502 || status == 503 || status == 504
        case .tooLarge, .invalidAnswer: return false
        }
    }

    /// 429, 503, 504 and timeouts: the server has more than it can take, so the endpoint's concurrency backs off.
    public var isOverload: Bool {
        switch kind {
        case .timeout: return true
        case .answered: return status == 429 || status == 503 || status == 504
        default: return false
        }
    }

    /// 408, 429 and 5xx are worth another try; other statuses will not change by asking again.
    public static func isRetryable(status: Int) -> Bool { status == 408 || status == 429 || status >= 500 }

    public var description: String { "\(status): \(message)" }
}

public enum InferenceResult: Sendable {
    /// The response body exactly as received.
    case success([UInt8])
    case failure(InferenceFailure)
}

/// A chat completion endpoint. `complete` blocks its thread; the runner calls it from the pool's workers,
/// so a backend must be safe to call from many threads at once.
public protocol InferenceBackend: Sendable {
    /// `request` is a complete chat completion request body (JSON, with `model`).
    func complete(_ request: [UInt8]) -> InferenceResult
    /// The same, with the answer's bytes accounted in `memory` as they arrive (the pool's bound on the answer
    /// bytes held at once). The default reserves a success's bytes once it is complete.
    func complete(_ request: [UInt8], memory: AnswerMemory) -> InferenceResult
    /// Whether the server answers at all, asked while its circuit is open. The default says yes, so that a
    /// backend without a cheaper check is tried again with a real request.
    func probe() -> Bool
    /// How many requests the server runs at once when it says so (llama.cpp's `/props` `total_slots`): the
    /// endpoint's adaptive concurrency starts there. nil when it does not say.
    func reportedSlots() -> Int?
}

extension InferenceBackend {
    public func complete(_ request: [UInt8], memory: AnswerMemory) -> InferenceResult {
        let result = complete(request)
        if case let .success(body) = result { memory.reserve(body.count) }
        return result
    }
    public func probe() -> Bool { true }
    public func reportedSlots() -> Int? { nil }
}

/// Where a backend accounts the bytes of an answer it holds in memory. `reserve` may block until other answers
/// are written out; see `ResponseBudget`.
public protocol AnswerMemory: Sendable {
    func reserve(_ bytes: Int)
}

/// The built-in model `echo`: no network, same answer for the same request. It answers with the text of the
/// last user message, cut to `max_tokens` words, once per choice (`n`), and counts words as tokens.
public struct EchoBackend: InferenceBackend {
    /// The `created` of every response; fixed so that outputs are reproducible.
    public var created: Int

    public init(created: Int = 1_700_000_000) { self.created = created }

    public func complete(_ request: [UInt8]) -> InferenceResult {
        let body: JSONValue
        do { body = try JSONValue(parsing: request) } catch {
            return .failure(InferenceFailure(status: 400, message: "request body is not JSON: \(error)", retryable: false))
        }
        guard case .object = body else {
            return .failure(InferenceFailure(status: 400, message: "request body must be a JSON object", retryable: false))
        }
        let messages = body["messages"]?.arrayValue ?? []
        let lastUser = messages.last(where: { $0["role"]?.stringValue == "user" })
        let words = Self.words(lastUser.map(Self.text(of:)) ?? "")
        var limit = words.count
        if let maxTokens = body["max_tokens"]?.int64Value ?? body["max_completion_tokens"]?.int64Value, maxTokens >= 0 {
            limit = Int(min(maxTokens, Int64(words.count)))
        }
        let reply = words.prefix(limit).joined(separator: " ")
        let finishReason = limit < words.count ? "length" : "stop"
        let n = max(1, min(128, Int(body["n"]?.int64Value ?? 1)))
        var promptTokens = messages.reduce(0) { $0 + Self.words(Self.text(of: $1)).count }
        if let tokenIDs = body["prompt_token_ids"]?.arrayValue { promptTokens += tokenIDs.count }
        let completionTokens = limit * n

        let choices: [JSONValue] = (0..<n).map { index in
            .object([
                ("index", .int(index)),
                ("message", .object([("role", .string("assistant")), ("content", .string(reply))])),
                ("finish_reason", .string(finishReason)),
            ])
        }
        let key = request.withUnsafeBufferPointer { CustomIDSet.key(bytes: $0) }
        let response = JSONValue.object([
            ("id", .string("chatcmpl-echo-" + String(key.high, radix: 16) + String(key.low, radix: 16))),
            ("object", .string("chat.completion")),
            ("created", .int(created)),
            ("model", body["model"] ?? .string("echo")),
            ("choices", .array(choices)),
            ("usage", .object([
                ("prompt_tokens", .int(promptTokens)),
                ("completion_tokens", .int(completionTokens)),
                ("total_tokens", .int(promptTokens + completionTokens)),
                ("prompt_tokens_details", .object([("cached_tokens", .int(0))])),
            ])),
        ])
        return .success(response.serialized())
    }

    /// A message's text: a string `content`, or the `text` parts of an array `content`.
    static func text(of message: JSONValue) -> String {
        switch message["content"] {
        case let .string(text)?: return text
        case let .array(parts)?: return parts.compactMap { $0["text"]?.stringValue }.joined(separator: " ")
        default: return ""
        }
    }

    static func words(_ text: String) -> [Substring] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
    }
}
