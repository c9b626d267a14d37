// The backend for any OpenAI-compatible server (vLLM, llama.cpp, Ollama): POST <baseURL>/chat/completions,
// through BatchHTTP's client (kept-alive sockets for http://, libcurl for https://).
import BatchHTTP
import BatchJSONL
import Foundation

public final class OpenAICompatibleBackend: InferenceBackend, Sendable {
    public let baseURL: String
    public let requestTimeout: TimeInterval
    private let client: HTTPClient
    private let request: HTTPClient.PreparedRequest

    /// `baseURL` is like `http://127.0.0.1:8000/v1`. `maxConnections` should be at least the engine's
    /// concurrency, or requests queue for a connection inside their timeout. `forceLibcurl` sends plain
    /// `http://` through libcurl too, so tests can reach that path without TLS.
    public init(baseURL: String, apiKey: String? = nil, requestTimeout: TimeInterval = 600, maxConnections: Int = 64,
                userAgent: String = HTTPClientConfiguration.userAgent(version: "dev"), forceLibcurl: Bool = false) throws {
        var trimmed = Substring(baseURL)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let url = HTTPURL(String(trimmed)), !url.target.contains("?") else { throw EngineError.unsupportedURL(baseURL) }
        self.baseURL = baseURL
        self.requestTimeout = requestTimeout
        client = HTTPClient(configuration: HTTPClientConfiguration(
            userAgent: userAgent, stallTimeout: requestTimeout, connectTimeout: min(requestTimeout, 10),
            proxy: ProxyConfiguration.from(environment: ProcessInfo.processInfo.environment),
            maxConnectionsPerHost: maxConnections, forceLibcurl: forceLibcurl))
        var headers: HTTPHeaders = ["Content-Type": "application/json", "Accept": "application/json"]
        if let apiKey, !apiKey.isEmpty { headers["Authorization"] = "Bearer \(apiKey)" }
        let path = url.target == "/" ? "" : url.target
        request = try client.prepare(.post, "\(url.scheme.rawValue)://\(url.authority)\(path)/chat/completions", headers: headers)
    }

    public func complete(_ body: [UInt8]) -> InferenceResult {
        do {
            let response = try client.send(request, body: body, timeout: requestTimeout)
            if (200..<300).contains(response.status) { return .success(response.body) }
            return .failure(InferenceFailure(status: response.status, message: Self.errorMessage(status: response.status, body: response.body),
                                             retryable: InferenceFailure.isRetryable(status: response.status),
                                             retryAfter: response.headers["Retry-After"].flatMap { RetryAfter.seconds($0) }))
        } catch let error as HTTPClientError {
            switch error.kind {
            case .timedOut:
                return .failure(InferenceFailure(status: 504, message: error.reason, retryable: true))
            case .badResponse:
                return .failure(InferenceFailure(status: 502, message: "bad response from the backend: \(error.reason)", retryable: true))
            case .responseTooLarge:
                return .failure(InferenceFailure(status: 502, message: "the backend's answer is too large: \(error.reason)", retryable: false))
            case .tlsCertificate, .tls, .libcurlUnavailable, .invalidURL:
                return .failure(InferenceFailure(status: 503, message: error.reason, retryable: true))
            default:
                return .failure(InferenceFailure(status: 503, message: error.reason, retryable: true))
            }
        } catch {
            return .failure(InferenceFailure(status: 503, message: "\(error)", retryable: true))
        }
    }

    /// The message of an OpenAI-style error body (`{"error": {"message"}}`, `{"message"}`, `{"detail"}`),
    /// else the body text itself, cut short.
    static func errorMessage(status: Int, body: [UInt8]) -> String {
        if let json = try? JSONValue(parsing: body) {
            if let text = json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue ?? json["message"]?.stringValue
                ?? json["detail"]?.stringValue {
                return text
            }
        }
        let text = String(decoding: body.prefix(1000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "HTTP \(status)" : text
    }
}
