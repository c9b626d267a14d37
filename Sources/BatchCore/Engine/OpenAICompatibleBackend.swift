// The backend for any OpenAI-compatible server (vLLM, llama.cpp, Ollama, SGLang): POST <baseURL>/chat/completions,
// through BatchHTTP's client (kept-alive sockets for http://, libcurl for https://); its health probe and slot count.
import BatchHTTP
import BatchJSONL
import Foundation

public final class OpenAICompatibleBackend: InferenceBackend, Sendable {
    public let baseURL: String
    public let requestTimeout: TimeInterval
    /// An answer larger than this fails its row (`--max-response-bytes`).
    public let maxResponseBytes: Int
    private let client: HTTPClient
    private let request: HTTPClient.PreparedRequest
    private let headers: HTTPHeaders
    /// `<baseURL>/models`, asked while the endpoint is down.
    private let modelsURL: String
    /// `<origin>/props`: llama.cpp's server settings, beside its `/v1`.
    private let propsURL: String

    /// The default of `--max-response-bytes`: chat answers are kilobytes; 32 MiB leaves room for long
    /// generations with logprobs while 64 of them in flight stay well inside a server's memory.
    public static let defaultMaxResponseBytes = 32 << 20

    /// `baseURL` is like `http://127.0.0.1:8000/v1`. `maxConnections` should be at least the endpoint's
    /// concurrency, or requests queue for a connection inside their timeout. `forceLibcurl` sends plain
    /// `http://` through libcurl too, so tests can reach that path without TLS.
    public init(baseURL: String, apiKey: String? = nil, requestTimeout: TimeInterval = 600, maxConnections: Int = 64,
                maxResponseBytes: Int = OpenAICompatibleBackend.defaultMaxResponseBytes,
                userAgent: String = HTTPClientConfiguration.userAgent(version: "dev"), forceLibcurl: Bool = false) throws {
        var trimmed = Substring(baseURL)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let url = HTTPURL(String(trimmed)), !url.target.contains("?") else { throw EngineError.unsupportedURL(baseURL) }
        self.baseURL = baseURL
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = max(1024, maxResponseBytes)
        client = HTTPClient(configuration: HTTPClientConfiguration(
            userAgent: userAgent, stallTimeout: requestTimeout, connectTimeout: min(requestTimeout, 10),
            proxy: ProxyConfiguration.from(environment: ProcessInfo.processInfo.environment),
            maxConnectionsPerHost: maxConnections, forceLibcurl: forceLibcurl))
        var headers: HTTPHeaders = ["Content-Type": "application/json", "Accept": "application/json"]
        if let apiKey, !apiKey.isEmpty { headers["Authorization"] = "Bearer \(apiKey)" }
        self.headers = headers
        let path = url.target == "/" ? "" : url.target
        let base = "\(url.scheme.rawValue)://\(url.authority)"
        request = try client.prepare(.post, "\(base)\(path)/chat/completions", headers: headers)
        modelsURL = "\(base)\(path)/models"
        // llama-server serves /props at the root, beside /v1.
        var root = Substring(path)
        if root.hasSuffix("/v1") { root = root.dropLast(3) }
        propsURL = "\(base)\(root)/props"
    }

    public func complete(_ body: [UInt8]) -> InferenceResult { send(body, memory: nil) }

    public func complete(_ body: [UInt8], memory: AnswerMemory) -> InferenceResult { send(body, memory: memory) }

    private func send(_ body: [UInt8], memory: AnswerMemory?) -> InferenceResult {
        do {
            let response = try client.send(request, body: body, timeout: requestTimeout, maxResponseBytes: maxResponseBytes,
                                           reserve: memory.map { memory in { memory.reserve($0) } })
            if (200..<300).contains(response.status) { return .success(response.body) }
            return .failure(InferenceFailure(status: response.status, message: Self.errorMessage(status: response.status, body: response.body),
                                             retryable: InferenceFailure.isRetryable(status: response.status),
                                             retryAfter: response.headers["Retry-After"].flatMap { RetryAfter.seconds($0) }))
        } catch let error as HTTPClientError {
            switch error.kind {
            case .timedOut:
                return .failure(InferenceFailure(status: 504, message: error.reason, retryable: true, kind: .timeout))
            case .badResponse:
                return .failure(InferenceFailure(status: 502, message: "bad response from the backend: \(error.reason)", retryable: true))
            case .responseTooLarge:
                return .failure(InferenceFailure(status: 502, message: "the backend's answer is larger than --max-response-bytes (\(Self.size(maxResponseBytes))); raise it to keep such answers",
                                                 retryable: false, kind: .tooLarge))
            default:
                return .failure(InferenceFailure(status: 503, message: error.reason, retryable: true, kind: .connection))
            }
        } catch {
            return .failure(InferenceFailure(status: 503, message: "\(error)", retryable: true, kind: .connection))
        }
    }

    /// The server answers `GET <baseURL>/models` with anything but 502, 503 or 504 (a 401 or 404 still means it
    /// is up; llama.cpp answers 503 while it loads the model).
    public func probe() -> Bool {
        guard let response = try? client.send(HTTPClientRequest(.get, modelsURL, headers: headers, totalTimeout: 5),
                                              sink: .memory(limit: 1 << 20)) else { return false }
        return ![502, 503, 504].contains(response.status)
    }

    /// llama.cpp's `/props` `total_slots` (its `--parallel`); nil from servers that do not say.
    public func reportedSlots() -> Int? {
        guard let response = try? client.send(HTTPClientRequest(.get, propsURL, headers: headers, totalTimeout: 3), sink: .memory(limit: 4 << 20)),
              response.status == 200, let json = try? JSONValue(parsing: response.body),
              let slots = json["total_slots"]?.int64Value, slots > 0 else { return nil }
        return Int(min(slots, 4096))
    }

    static func size(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : bytes % 1024 == 0 ? "\(bytes >> 10) KiB" : "\(bytes) bytes"
    }

    /// The message of an OpenAI-style error body (`{"error": {"message"}}`, `{"message"}`, `{"detail"}`),
    /// else the body text itself, cut short.
    static func errorMessage(status: Int, body: [UInt8]) -> String {
        if let json = try? JSONValue(parsing: body) {
            if let text = json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue ?? json["message"]?.stringValue
                ?? json["detail"]?.stringValue {
                return text
            }
            // FastAPI's validation errors: {"detail": [{"msg": ...}]}.
            if let details = json["detail"]?.arrayValue {
                let messages = details.compactMap { $0["msg"]?.stringValue }
                if !messages.isEmpty { return messages.joined(separator: "; ") }
            }
        }
        let text = String(decoding: body.prefix(1000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "HTTP \(status)" : text
    }
}
