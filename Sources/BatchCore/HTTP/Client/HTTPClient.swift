// HTTPClient: the one HTTP client of batchctl. http:// goes over our own sockets with a keep-alive pool;
// https:// and proxied requests go through libcurl (loaded on first use). Both paths send the same
// User-Agent, follow redirects the same way, keep connections alive and fail with the same typed errors.
import Glibc

/// Bytes moved so far and the total when known (-1 when not).
public typealias TransferProgress = (_ done: Int64, _ total: Int64) -> Void

/// One piece of a request body, streamed from memory or from a file (sendfile on the socket path).
public enum HTTPBodyPart: Sendable {
    case bytes([UInt8])
    case file(path: String, length: Int64)

    public var length: Int64 {
        switch self {
        case let .bytes(b): return Int64(b.count)
        case let .file(_, length): return length
        }
    }
}

public struct HTTPClientRequest: Sendable {
    public var method: HTTPMethod
    public var url: String
    /// `Host`, `User-Agent`, `Content-Length` and `Connection` are the client's own; others are sent as given.
    public var headers: HTTPHeaders
    /// nil: no body. Parts are sent in order, so a multipart form never needs a copy of the file.
    public var body: [HTTPBodyPart]?
    /// Follow 301/302/303/307/308 for GET and HEAD (never for other methods).
    public var followRedirects: Bool
    /// A deadline for the whole exchange, on top of the client's per-stall limit; nil for none (transfers,
    /// whose length depends on their size).
    public var totalTimeout: Double?

    public init(_ method: HTTPMethod, _ url: String, headers: HTTPHeaders = [:], body: [HTTPBodyPart]? = nil,
                followRedirects: Bool = true, totalTimeout: Double? = nil) {
        self.method = method; self.url = url; self.headers = headers; self.body = body
        self.followRedirects = followRedirects; self.totalTimeout = totalTimeout
    }

    public var bodyLength: Int64 { body?.reduce(0) { $0 + $1.length } ?? 0 }
}

/// Where an answer's body goes: kept in memory (up to a limit), or a 2xx body streamed to a file descriptor
/// (an error body is still kept in memory, up to 1 MiB, for its message).
public enum HTTPResponseSink: Sendable {
    case memory(limit: Int)
    case file(descriptor: Int32)
}

public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    /// The body when it was kept in memory.
    public var body: [UInt8]
    /// Bytes written to a file sink.
    public var streamedBytes: Int64
    /// The URL that answered (after redirects).
    public var url: HTTPURL
}

public struct HTTPClientError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case invalidURL
        /// The host name did not resolve: nothing was sent.
        case resolve
        /// No connection could be made: nothing was sent.
        case connect
        case timedOut
        case connectionLost
        /// The server's certificate is not trusted (or the configured CA file cannot be used).
        case tlsCertificate
        case tls
        case badResponse
        case responseTooLarge
        /// Writing the answer to the file sink failed (errno).
        case sinkWrite(Int32)
        /// Reading a file of the request body failed (errno).
        case bodyRead(Int32)
        case tooManyRedirects
        /// https:// without libcurl on this machine.
        case libcurlUnavailable
        case other
    }

    public var kind: Kind
    /// Scheme, host and path, without the query (signed URLs carry their signature there).
    public var url: String
    public var host: String
    public var reason: String
    /// False when the request cannot have reached the server (resolve, connect, connect timeout): then even
    /// a POST may be sent again.
    public var requestSent: Bool

    public init(_ kind: Kind, url: String, host: String, reason: String, requestSent: Bool) {
        self.kind = kind; self.url = url; self.host = host; self.reason = reason; self.requestSent = requestSent
    }

    /// Network trouble that may pass: worth a retry for a request that may be repeated.
    public var isTransient: Bool {
        switch kind {
        case .resolve, .connect, .timedOut, .connectionLost, .badResponse: return true
        default: return false
        }
    }

    public var description: String { "\(url): \(reason)" }
}

public struct HTTPClientConfiguration: Sendable {
    /// `batchctl/0.1.0 (linux; x86_64)`: see `userAgent(product:version:)`.
    public var userAgent: String
    /// Connecting, and each wait for the peer to send or take a byte.
    public var stallTimeout: Double
    public var connectTimeout: Double
    public var trust: TLSTrust
    public var proxy: ProxyConfiguration
    /// Open connections kept per host:port on the socket path (and libcurl handles in all).
    public var maxConnectionsPerHost: Int
    public var maxRedirects: Int
    /// Sends plain http:// through libcurl too, so tests reach that path without TLS.
    public var forceLibcurl: Bool

    public init(userAgent: String, stallTimeout: Double = 60, connectTimeout: Double? = nil, trust: TLSTrust = TLSTrust(),
                proxy: ProxyConfiguration = ProxyConfiguration(), maxConnectionsPerHost: Int = 8, maxRedirects: Int = 10,
                forceLibcurl: Bool = false) {
        self.userAgent = userAgent
        self.stallTimeout = SocketTimeout.clamp(stallTimeout)
        self.connectTimeout = SocketTimeout.clamp(connectTimeout ?? stallTimeout)
        self.trust = trust
        self.proxy = proxy
        self.maxConnectionsPerHost = max(1, maxConnectionsPerHost)
        self.maxRedirects = maxRedirects
        self.forceLibcurl = forceLibcurl
    }

    /// `product/version (os; arch)`, the User-Agent of every request batchctl makes.
    public static func userAgent(product: String = "batchctl", version: String) -> String {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        #if os(Linux)
        let os = "linux"
        #else
        let os = "darwin"
        #endif
        return "\(product)/\(version) (\(os); \(machine.isEmpty ? "unknown" : machine))"
    }
}

public final class HTTPClient: Sendable {
    public let configuration: HTTPClientConfiguration
    private let sockets: SocketTransport
    private let curl: CurlTransport

    public init(configuration: HTTPClientConfiguration) {
        self.configuration = configuration
        sockets = SocketTransport(configuration: configuration)
        curl = CurlTransport(configuration: configuration)
    }

    /// Sends `request` and returns the answer, whatever its status; throws HTTPClientError when no answer came.
    public func send(_ request: HTTPClientRequest, sink: HTTPResponseSink = .memory(limit: 256 << 20),
                     progress: TransferProgress? = nil) throws -> HTTPClientResponse {
        guard var url = HTTPURL(request.url) else {
            throw HTTPClientError(.invalidURL, url: String(request.url.prefix(80)), host: "", reason: "not an http:// or https:// URL",
                                  requestSent: false)
        }
        var headers = request.headers
        let deadline = request.totalTimeout.map { monotonicSeconds() + SocketTimeout.clamp($0) }
        var redirects = 0
        while true {
            let response = try sendOnce(request, url: url, headers: headers, deadline: deadline, sink: sink, progress: progress)
            guard request.followRedirects, request.method == .get || request.method == .head,
                  [301, 302, 303, 307, 308].contains(response.status), let location = response.headers["Location"] else {
                return response
            }
            guard let next = url.resolving(location) else {
                throw HTTPClientError(.badResponse, url: url.redacted, host: url.host,
                                      reason: "redirected to an unusable location '\(location.prefix(80))'", requestSent: true)
            }
            redirects += 1
            if redirects > configuration.maxRedirects {
                throw HTTPClientError(.tooManyRedirects, url: url.redacted, host: url.host,
                                      reason: "more than \(configuration.maxRedirects) redirects", requestSent: true)
            }
            // Credentials are for the origin they were given for.
            if !next.sameOrigin(url) { headers.remove("Authorization"); headers.remove("Cookie") }
            url = next
        }
    }

    private func sendOnce(_ request: HTTPClientRequest, url: HTTPURL, headers: HTTPHeaders, deadline: Double?,
                          sink: HTTPResponseSink, progress: TransferProgress?) throws -> HTTPClientResponse {
        let proxy = configuration.proxy.proxy(for: url)
        if url.scheme == .http, proxy == nil, !configuration.forceLibcurl {
            return try sockets.send(request.method, url: url, headers: headers, body: request.body, deadline: deadline,
                                    sink: sink, progress: progress)
        }
        return try curl.send(request.method, url: url, headers: headers, body: request.body, proxy: proxy, deadline: deadline,
                             sink: sink, progress: progress)
    }

    // MARK: the engine's fast path

    /// A request whose head is serialised once; each `send(_:body:)` only appends the length and the body.
    /// For the inference backend, which sends tens of thousands of identical POSTs a second.
    public final class PreparedRequest: Sendable {
        let method: HTTPMethod
        let url: HTTPURL
        let headers: HTTPHeaders
        /// The request line and headers up to the value of `Content-Length`, for the socket path.
        let headPrefix: [UInt8]
        init(method: HTTPMethod, url: HTTPURL, headers: HTTPHeaders, headPrefix: [UInt8]) {
            self.method = method; self.url = url; self.headers = headers; self.headPrefix = headPrefix
        }
    }

    public func prepare(_ method: HTTPMethod, _ url: String, headers: HTTPHeaders) throws -> PreparedRequest {
        guard let parsed = HTTPURL(url) else {
            throw HTTPClientError(.invalidURL, url: String(url.prefix(80)), host: "", reason: "not an http:// or https:// URL", requestSent: false)
        }
        var text = "\(method.rawValue) \(parsed.target) HTTP/1.1\r\nHost: \(parsed.authority)\r\nUser-Agent: \(configuration.userAgent)\r\n"
        for field in headers { text += "\(field.name): \(field.value)\r\n" }
        text += "Content-Length: "
        return PreparedRequest(method: method, url: parsed, headers: headers, headPrefix: Array(text.utf8))
    }

    /// Sends a prepared request with `body`, bounded by `timeout` seconds in all; an answer body over
    /// `maxResponseBytes` fails with `.responseTooLarge` (before it is read, when its length is announced).
    /// `reserve`, when given, is told the bytes the answer body will take in memory before they are read: the
    /// announced length at once, a chunked body in steps as it grows (through libcurl: once, when complete).
    /// It may block, which holds the reading back; the caller accounts and later releases what it was told.
    public func send(_ prepared: PreparedRequest, body: [UInt8], timeout: Double, maxResponseBytes: Int = 256 << 20,
                     reserve: ((Int) -> Void)? = nil) throws -> HTTPClientResponse {
        let deadline = monotonicSeconds() + SocketTimeout.clamp(timeout)
        let proxy = configuration.proxy.proxy(for: prepared.url)
        if prepared.url.scheme == .http, proxy == nil, !configuration.forceLibcurl {
            return try sockets.sendPrepared(prepared, body: body, deadline: deadline, maxResponseBytes: maxResponseBytes, reserve: reserve)
        }
        let response = try curl.send(prepared.method, url: prepared.url, headers: prepared.headers, body: [.bytes(body)], proxy: proxy,
                                     deadline: deadline, sink: .memory(limit: maxResponseBytes), progress: nil)
        reserve?(response.body.count)
        return response
    }
}
