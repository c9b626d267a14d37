// The backend for any OpenAI-compatible server (vLLM, llama.cpp, Ollama): POST <baseURL>/chat/completions.
import Foundation
import BatchJSONL

/// Sends each request over a pool of kept-alive HTTP/1.1 connections. Plain `http://` only: self-hosted
/// inference servers sit on loopback or a private network, and TLS would need a library we do not have.
public final class OpenAICompatibleBackend: InferenceBackend, @unchecked Sendable {
    public let baseURL: String
    public let requestTimeout: TimeInterval
    private let pool: HTTPConnectionPool
    /// Everything before `Content-Length`'s value, built once.
    private let head: [UInt8]

    /// `baseURL` is like `http://127.0.0.1:8000/v1`. `maxConnections` should be at least the engine's
    /// concurrency, or requests queue for a connection inside their timeout.
    public init(baseURL: String, apiKey: String? = nil, requestTimeout: TimeInterval = 600, maxConnections: Int = 64) throws {
        guard let url = URL(string: baseURL), url.scheme?.lowercased() == "http", let host = url.host, !host.isEmpty,
              url.query == nil else {
            throw EngineError.unsupportedURL(baseURL)
        }
        let port = url.port ?? 80
        guard (1...65535).contains(port) else { throw EngineError.unsupportedURL(baseURL) }
        var path = url.path
        while path.hasSuffix("/") { path.removeLast() }
        self.baseURL = baseURL
        self.requestTimeout = requestTimeout
        pool = HTTPConnectionPool(host: host, port: port, maxConnections: maxConnections)
        let hostHeader = host.contains(":") ? "[\(host)]" : host
        var text = "POST \(path)/chat/completions HTTP/1.1\r\nHost: \(hostHeader):\(port)\r\n"
        text += "Content-Type: application/json\r\nAccept: application/json\r\nUser-Agent: batchctl\r\n"
        if let apiKey, !apiKey.isEmpty { text += "Authorization: Bearer \(apiKey)\r\n" }
        text += "Content-Length: "
        head = Array(text.utf8)
    }

    public func complete(_ request: [UInt8]) -> InferenceResult {
        var message = head
        message.reserveCapacity(head.count + 16 + request.count)
        message.append(contentsOf: String(request.count).utf8)
        message.append(contentsOf: [13, 10, 13, 10])
        message.append(contentsOf: request)
        switch pool.send(message, timeout: requestTimeout) {
        case let .success(response):
            if (200..<300).contains(response.status) { return .success(response.body) }
            return .failure(InferenceFailure(status: response.status, message: Self.errorMessage(response),
                                             retryable: InferenceFailure.isRetryable(status: response.status),
                                             retryAfter: response.header("retry-after").flatMap(Self.retryAfterSeconds)))
        case let .failure(error):
            switch error {
            case let .connectFailed(text), let .connectionLost(text):
                return .failure(InferenceFailure(status: 503, message: text, retryable: true))
            case let .timedOut(text):
                return .failure(InferenceFailure(status: 504, message: text, retryable: true))
            case let .badResponse(text):
                return .failure(InferenceFailure(status: 502, message: "bad response from the backend: \(text)", retryable: true))
            }
        }
    }

    /// `Retry-After` in seconds (the HTTP-date form is not used by inference servers).
    static func retryAfterSeconds(_ text: String) -> TimeInterval? {
        guard let seconds = Double(text.trimmingSpaces), seconds.isFinite, seconds >= 0 else { return nil }
        return seconds
    }

    /// The message of an OpenAI-style error body (`{"error": {"message"}}`, `{"message"}`, `{"detail"}`),
    /// else the body text itself, cut short.
    static func errorMessage(_ response: HTTPResponse) -> String {
        if let json = try? JSONValue(parsing: response.body) {
            if let text = json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue ?? json["message"]?.stringValue
                ?? json["detail"]?.stringValue {
                return text
            }
        }
        let text = String(decoding: response.body.prefix(1000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "HTTP \(response.status)" : text
    }
}
