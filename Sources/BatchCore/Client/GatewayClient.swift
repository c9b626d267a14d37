// GatewayClient: sends GatewayRequests over the one HTTPClient (BatchHTTP) with bearer auth, retries with
// backoff, both error shapes decoded, and --dry-run printing instead of sending.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

public struct ClientOptions: Sendable {
    public var baseURL: String
    public var apiKey: String?
    /// Connecting and each stall, per request (`--timeout`).
    public var timeout: Double
    public var dryRun: Bool
    public var maxAttempts: Int
    public var backoffBase: Double
    /// `batchctl/<version> (<os>; <arch>)`.
    public var userAgent: String
    public var trust: TLSTrust
    public var proxy: ProxyConfiguration
    /// Notes for stderr ("retrying in 1.2s ...").
    public var note: @Sendable (String) -> Void
    /// Where --dry-run prints requests (stdout).
    public var dryRunOutput: @Sendable (String) -> Void

    public init(baseURL: String, apiKey: String?, timeout: Double = 60, dryRun: Bool = false, maxAttempts: Int = 4,
                backoffBase: Double = 0.5, userAgent: String = "batchctl", trust: TLSTrust = TLSTrust(),
                proxy: ProxyConfiguration = ProxyConfiguration(), note: @escaping @Sendable (String) -> Void = { _ in },
                dryRunOutput: @escaping @Sendable (String) -> Void = { _ in }) {
        self.baseURL = baseURL; self.apiKey = apiKey; self.timeout = timeout; self.dryRun = dryRun
        self.maxAttempts = maxAttempts; self.backoffBase = backoffBase; self.userAgent = userAgent; self.trust = trust
        self.proxy = proxy; self.note = note; self.dryRunOutput = dryRunOutput
    }
}

/// A raw answer: status, headers and body.
public struct GatewayResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
}

public final class GatewayClient: @unchecked Sendable {
    // Mutable state (`cachedAccount`) is only touched by the command's own thread.
    public let options: ClientOptions
    /// One client for every request of a command, so connections are kept alive between them.
    let http: HTTPClient

    public init(options: ClientOptions) {
        self.options = options
        http = HTTPClient(configuration: HTTPClientConfiguration(
            userAgent: options.userAgent, stallTimeout: options.timeout, trust: options.trust, proxy: options.proxy,
            maxConnectionsPerHost: 4))
    }

    /// `fw_****1234`: enough to tell keys apart, never enough to use one.
    public static func mask(_ key: String) -> String {
        key.count > 8 ? String(key.prefix(3)) + "****" + String(key.suffix(4)) : "****"
    }

    /// A JSON exchange may take this long in all: ten stalls' worth, at least two minutes.
    var totalTimeout: Double { max(120, options.timeout * 10) }

    // MARK: JSON requests

    /// Sends a JSON request and decodes the JSON answer; nil under --dry-run. Throws GatewayError for an
    /// error answer and TransportError when the gateway cannot be reached after the retries.
    @discardableResult
    public func send(_ request: GatewayRequest) throws -> JSONValue? {
        guard let response = try sendRaw(request) else { return nil }
        if response.body.isEmpty { return .object([]) }
        do {
            return try JSONValue(parsing: response.body)
        } catch {
            throw ClientError("the gateway answered \(request.method.rawValue) \(request.path) with something that is not JSON: \(error)")
        }
    }

    /// Like `send` but keeps status and headers (verifyApiKey reads a header).
    public func sendRaw(_ request: GatewayRequest) throws -> GatewayResponse? {
        let url = request.url(base: options.baseURL)
        var headers: HTTPHeaders = ["Accept": "application/json"]
        if request.body != nil { headers["Content-Type"] = "application/json" }
        if options.dryRun {
            let body = request.body.map { $0.serialized() }
            printDryRun(method: request.method.rawValue, url: url, headers: Array(headers.map { ($0.name, $0.value) }),
                        contentLength: body.map { Int64($0.count) } ?? ([.post, .put, .patch].contains(request.method) ? 0 : nil),
                        body: request.body?.prettyText, sendsCredentials: true)
            return nil
        }
        if let key = options.apiKey { headers["Authorization"] = "Bearer \(key)" }
        let exchange = HTTPClientRequest(request.method, url, headers: headers, body: request.body.map { [.bytes($0.serialized())] },
                                         totalTimeout: totalTimeout)
        let response = try perform(exchange, label: "\(request.method.rawValue) \(request.path)")
        guard (200..<300).contains(response.status) else {
            throw GatewayError(httpStatus: response.status, body: response.body)
        }
        return GatewayResponse(status: response.status, headers: response.headers, body: response.body)
    }

    /// Prints a request exactly as it would go out: the headers this client sends (the key masked, and only
    /// where a key is sent at all: never to a signed URL), the length, and the body or what stands for it.
    func printDryRun(method: String, url: String, headers: [(String, String)], contentLength: Int64?, body: String?,
                     sendsCredentials: Bool) {
        var text = "\(method) \(url)\n"
        if sendsCredentials, let key = options.apiKey { text += "Authorization: Bearer \(GatewayClient.mask(key))\n" }
        text += "User-Agent: \(options.userAgent)\n"
        for (name, value) in headers { text += "\(name): \(value)\n" }
        if let contentLength { text += "Content-Length: \(contentLength)\n" }
        if let body { text += "\n\(body)\n" }
        options.dryRunOutput(text)
    }

    // MARK: retries

    /// Answers worth another try: for requests that may be repeated, 408, 429 and the usual transient answers
    /// of a front end (500, 502, 503, 504); for others only 429 and 503, which say the request was not taken.
    static func isRetryable(status: Int, idempotent: Bool) -> Bool {
        idempotent ? [408, 429, 500, 502, 503, 504].contains(status) : status == 429 || status == 503
    }

    /// One exchange with retries, at most `maxAttempts` in all: exponential backoff with jitter, honouring
    /// `Retry-After` (seconds or an HTTP date, capped at 60 s), a note on stderr for each. A network error is
    /// retried for idempotent requests, and for a POST only when the request cannot have been sent.
    /// `beforeAttempt` runs before each try (a download truncates its file there).
    func perform(_ request: HTTPClientRequest, sink: HTTPResponseSink = .memory(limit: 256 << 20), label: String,
                 progress: TransferProgress? = nil, beforeAttempt: () throws -> Void = {}) throws -> HTTPClientResponse {
        let idempotent = request.method.isIdempotent
        let backoff = Backoff(base: options.backoffBase, cap: 60)
        var attempt = 1
        while true {
            try beforeAttempt()
            var retryAfter: Double?
            let reason: String
            do {
                let response = try http.send(request, sink: sink, progress: progress)
                guard Self.isRetryable(status: response.status, idempotent: idempotent), attempt < options.maxAttempts else {
                    return response
                }
                retryAfter = response.headers["Retry-After"].flatMap { RetryAfter.seconds($0) }
                reason = "HTTP \(response.status)"
            } catch let error as HTTPClientError {
                switch error.kind {
                case .tlsCertificate: throw ClientError(Self.certificateMessage(error, trust: options.trust))
                case .tls: throw ClientError("TLS handshake with \(error.host) failed: \(error.reason)")
                default: break
                }
                guard error.isTransient else { throw ClientError("\(label): \(error.reason)") }
                guard (idempotent || !error.requestSent), attempt < options.maxAttempts else {
                    throw TransportError(url: error.url, reason: error.reason)
                }
                reason = error.reason
            }
            let delay = backoff.delay(attempt: attempt, retryAfter: retryAfter)
            options.note("batchctl: \(label): \(reason); retrying in \(String(format: "%.1f", delay))s (attempt \(attempt + 1) of \(options.maxAttempts))")
            Thread.sleep(forTimeInterval: delay)
            attempt += 1
        }
    }

    static func certificateMessage(_ error: HTTPClientError, trust: TLSTrust) -> String {
        """
        the TLS certificate of \(error.host) is not trusted: \(error.reason) (trusting \(trust.summary)).
        If \(error.host) uses a private CA, trust it with --cacert FILE or SSL_CERT_FILE=FILE (a PEM bundle), or SSL_CERT_DIR=DIR.
        """
    }

    /// Whether a gateway answers `GET /verifyApiKey` at all: any HTTP answer counts (a 401 from a gateway that
    /// wants a key included); one attempt, no retries.
    public static func answers(baseURL: String, timeout: Double = 1) -> Bool { probe(baseURL: baseURL, timeout: timeout) != nil }

    /// The headers of whatever answers `GET /verifyApiKey` at `baseURL` (any status), without credentials;
    /// nil when nothing answers. `--local` reads `Server` from them to know it found a batchctl gateway.
    public static func probe(baseURL: String, timeout: Double = 1) -> HTTPHeaders? {
        let client = GatewayClient(options: ClientOptions(baseURL: baseURL, apiKey: nil, timeout: timeout, maxAttempts: 1))
        let request = HTTPClientRequest(.get, Endpoints.verifyAPIKey().url(base: baseURL), headers: ["Accept": "application/json"],
                                        totalTimeout: max(2, timeout * 3))
        return (try? client.perform(request, label: "GET /verifyApiKey"))?.headers
    }

    // MARK: account

    private var cachedAccount: String?

    /// The account for the key, asked once of `GET /verifyApiKey` (header `x-fireworks-account-id`).
    public func discoverAccount() throws -> String {
        if let cachedAccount { return cachedAccount }
        if options.dryRun {
            printDryRun(method: "GET", url: options.baseURL + "/verifyApiKey", headers: [("Accept", "application/json")],
                        contentLength: nil, body: nil, sendsCredentials: true)
            return "ACCOUNT_ID"
        }
        guard options.apiKey != nil else {
            throw ClientError("no account id: set --account-id, FIREWORKS_ACCOUNT_ID or account_id in ~/.fireworks/auth.ini (or an API key to look it up); for the local gateway use --local")
        }
        guard let response = try sendRaw(Endpoints.verifyAPIKey()) else { return "ACCOUNT_ID" }
        guard let account = response.headers["x-fireworks-account-id"], !account.isEmpty else {
            throw ClientError("the gateway did not say which account the API key belongs to; pass --account-id")
        }
        cachedAccount = account
        return account
    }
}
