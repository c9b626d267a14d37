// The backend for any OpenAI-compatible server (vLLM, llama.cpp, Ollama): POST <baseURL>/chat/completions.
import Foundation
import BatchJSONL
import CCurl

/// Sends each request over a pool of kept-alive HTTP/1.1 connections of our own for `http://` (self-hosted
/// servers on loopback or a private network, where speed matters), and through libcurl (loaded on first use) for `https://`
/// (hosted endpoints), since TLS needs a library we do not have.
public final class OpenAICompatibleBackend: InferenceBackend, @unchecked Sendable {
    public let baseURL: String
    public let requestTimeout: TimeInterval

    private enum Transport {
        /// `head` is the request up to `Content-Length`'s value, built once.
        case sockets(HTTPConnectionPool, head: [UInt8])
        case libcurl(LibcurlTransport)
    }
    private let transport: Transport

    /// `baseURL` is like `http://127.0.0.1:8000/v1`. `maxConnections` should be at least the engine's
    /// concurrency, or requests queue for a connection inside their timeout.
    public convenience init(baseURL: String, apiKey: String? = nil, requestTimeout: TimeInterval = 600, maxConnections: Int = 64) throws {
        try self.init(baseURL: baseURL, apiKey: apiKey, requestTimeout: requestTimeout, maxConnections: maxConnections, forceLibcurl: false)
    }

    /// `forceLibcurl` sends plain `http://` through libcurl too, so tests can reach that path without TLS.
    init(baseURL: String, apiKey: String?, requestTimeout: TimeInterval, maxConnections: Int, forceLibcurl: Bool) throws {
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty, url.query == nil else {
            throw EngineError.unsupportedURL(baseURL)
        }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else { throw EngineError.unsupportedURL(baseURL) }
        var path = url.path
        while path.hasSuffix("/") { path.removeLast() }
        self.baseURL = baseURL
        self.requestTimeout = requestTimeout
        if scheme == "https" || forceLibcurl {
            guard let endpoint = URL(string: baseURL.trimmingTrailingSlashes + "/chat/completions") else { throw EngineError.unsupportedURL(baseURL) }
            transport = .libcurl(LibcurlTransport(url: endpoint, apiKey: apiKey, timeout: requestTimeout, maxConnections: maxConnections))
            return
        }
        let hostHeader = host.contains(":") ? "[\(host)]" : host
        var text = "POST \(path)/chat/completions HTTP/1.1\r\nHost: \(hostHeader):\(port)\r\n"
        text += "Content-Type: application/json\r\nAccept: application/json\r\nUser-Agent: batchctl\r\n"
        if let apiKey, !apiKey.isEmpty { text += "Authorization: Bearer \(apiKey)\r\n" }
        text += "Content-Length: "
        transport = .sockets(HTTPConnectionPool(host: host, port: port, maxConnections: maxConnections), head: Array(text.utf8))
    }

    public func complete(_ request: [UInt8]) -> InferenceResult {
        let outcome: Result<HTTPResponse, HTTPClientError>
        switch transport {
        case let .sockets(pool, head):
            var message = head
            message.reserveCapacity(head.count + 16 + request.count)
            message.append(contentsOf: String(request.count).utf8)
            message.append(contentsOf: [13, 10, 13, 10])
            message.append(contentsOf: request)
            outcome = pool.send(message, timeout: requestTimeout)
        case let .libcurl(session):
            outcome = session.send(request)
        }
        switch outcome {
        case let .success(response):
            if (200..<300).contains(response.status) { return .success(response.body) }
            return .failure(InferenceFailure(status: response.status, message: Self.errorMessage(response),
                                             retryable: InferenceFailure.isRetryable(status: response.status),
                                             retryAfter: response.retryAfter.flatMap(Self.retryAfterSeconds)))
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

extension String {
    var trimmingTrailingSlashes: String {
        var s = Substring(self)
        while s.hasSuffix("/") { s = s.dropLast() }
        return String(s)
    }
}

/// One request at a time per calling thread through libcurl (loaded on first use), blocking that thread like the
/// socket client: the https:// path, kept out of the binary's start-up cost.
final class LibcurlTransport: @unchecked Sendable {
    let url: URL
    let apiKey: String?
    let timeout: TimeInterval

    init(url: URL, apiKey: String?, timeout: TimeInterval, maxConnections: Int) {
        self.url = url
        self.apiKey = apiKey
        self.timeout = timeout
    }

    func send(_ body: [UInt8]) -> Result<HTTPResponse, HTTPClientError> {
        var lines = ["Content-Type: application/json", "Accept: application/json", "User-Agent: batchctl"]
        if let apiKey, !apiKey.isEmpty { lines.append("Authorization: Bearer \(apiKey)") }
        var result = ccurl_result()
        defer { ccurl_result_free(&result) }
        let copies = lines.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer<CChar>($0) }
        let code = pointers.withUnsafeBufferPointer { headers in
            body.withUnsafeBytes { bytes in
                ccurl_perform("POST", url.absoluteString, headers.baseAddress, Int32(pointers.count), bytes.baseAddress, bytes.count,
                              nil, 0, -1, 64 << 20, timeout, timeout, nil, nil, &result)
            }
        }
        let message = withUnsafeBytes(of: result.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if code != 0 || result.status == 0 {
            if result.timed_out != 0 { return .failure(.timedOut("no response within the request timeout")) }
            return .failure(.connectFailed(message.isEmpty ? "no answer" : message))
        }
        var retryAfter: String?
        if let raw = result.headers {
            let blocks = String(cString: raw).components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }
            for line in (blocks.last ?? "").components(separatedBy: "\r\n") where line.lowercased().hasPrefix("retry-after:") {
                retryAfter = line.dropFirst("retry-after:".count).trimmingCharacters(in: .whitespaces)
            }
        }
        let answer = result.body.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: result.body_len)) } ?? []
        return .success(HTTPResponse(status: Int(result.status), body: answer, retryAfter: retryAfter))
    }
}
