// GatewayClient: sends GatewayRequests (over HTTPTransport) with bearer auth, retries with backoff, both error
// shapes decoded, and --dry-run printing instead of sending.
import BatchAPI
import BatchJSONL
import Foundation

public struct ClientOptions {
    public var baseURL: String
    public var apiKey: String?
    public var timeout: Double
    public var dryRun: Bool
    public var maxAttempts: Int
    public var backoffBase: Double
    /// Notes for stderr ("retrying in 1.2s ...").
    public var note: (String) -> Void
    /// Where --dry-run prints requests (stdout).
    public var dryRunOutput: (String) -> Void

    public init(baseURL: String, apiKey: String?, timeout: Double = 60, dryRun: Bool = false, maxAttempts: Int = 4,
                backoffBase: Double = 0.5, note: @escaping (String) -> Void = { _ in },
                dryRunOutput: @escaping (String) -> Void = { _ in }) {
        self.baseURL = baseURL; self.apiKey = apiKey; self.timeout = timeout; self.dryRun = dryRun
        self.maxAttempts = maxAttempts; self.backoffBase = backoffBase; self.note = note; self.dryRunOutput = dryRunOutput
    }
}

/// A raw answer: status, headers (lower-cased names) and body.
public struct GatewayResponse {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
}

public final class GatewayClient {
    public let options: ClientOptions

    public init(options: ClientOptions) {
        self.options = options
    }

    /// `fw_****1234`: enough to tell keys apart, never enough to use one.
    public static func mask(_ key: String) -> String {
        key.count > 8 ? String(key.prefix(3)) + "****" + String(key.suffix(4)) : "****"
    }

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
        var headers = [("Accept", "application/json")]
        if request.body != nil { headers.append(("Content-Type", "application/json")) }
        if options.dryRun {
            printDryRun(method: request.method.rawValue, url: url, headers: headers, body: request.body?.prettyText)
            return nil
        }
        var exchange = HTTPExchange(method: request.method.rawValue, url: url, headers: headers, stall: options.timeout)
        if let key = options.apiKey { exchange.headers.append(("Authorization", "Bearer \(key)")) }
        if let body = request.body { exchange.body = body.serialized() }
        let response = try perform(exchange, idempotent: request.isIdempotent, label: "\(request.method.rawValue) \(request.path)")
        guard (200..<300).contains(response.status) else {
            throw GatewayError(httpStatus: response.status, body: response.body)
        }
        return response
    }

    func printDryRun(method: String, url: String, headers: [(String, String)], body: String?) {
        var text = "\(method) \(url)\n"
        if let key = options.apiKey { text += "Authorization: Bearer \(GatewayClient.mask(key))\n" }
        for (name, value) in headers { text += "\(name): \(value)\n" }
        if let body { text += "\n\(body)\n" }
        options.dryRunOutput(text)
    }

    /// One exchange with retries: network errors (idempotent requests only), 429 (honouring Retry-After)
    /// and 503 are retried with exponential backoff and jitter, at most `maxAttempts` times in all.
    func perform(_ exchange: HTTPExchange, idempotent: Bool, label: String) throws -> GatewayResponse {
        var attempt = 1
        while true {
            var retryAfter: Double?
            var reason: String
            do {
                let answer = try HTTPTransport.perform(exchange)
                let response = GatewayResponse(status: answer.status, headers: answer.headers, body: answer.body)
                guard response.status == 429 || response.status == 503 else { return response }
                retryAfter = response.headers["retry-after"].flatMap(Double.init)
                reason = "HTTP \(response.status)"
                if attempt >= options.maxAttempts { return response }
            } catch let error as TransportError {
                reason = error.reason
                if !idempotent || attempt >= options.maxAttempts { throw error }
            }
            var delay = options.backoffBase * pow(2, Double(attempt - 1)) * Double.random(in: 0.8...1.2)
            if let retryAfter { delay = max(delay, min(retryAfter, 60)) }
            options.note("batchctl: \(label): \(reason); retrying in \(String(format: "%.1f", delay))s (attempt \(attempt + 1) of \(options.maxAttempts))")
            Thread.sleep(forTimeInterval: delay)
            attempt += 1
        }
    }

    /// Whether a gateway answers `GET /verifyApiKey` at all: any HTTP answer counts (a 401 from a gateway that
    /// wants a key included); one attempt, no retries.
    public static func answers(baseURL: String, timeout: Double = 1) -> Bool {
        let client = GatewayClient(options: ClientOptions(baseURL: baseURL, apiKey: nil, timeout: timeout, maxAttempts: 1))
        do { _ = try client.sendRaw(Endpoints.verifyAPIKey()); return true } catch is GatewayError { return true } catch { return false }
    }

    // MARK: account

    private var cachedAccount: String?

    /// The account for the key, asked once of `GET /verifyApiKey` (header `x-fireworks-account-id`).
    public func discoverAccount() throws -> String {
        if let cachedAccount { return cachedAccount }
        if options.dryRun {
            printDryRun(method: "GET", url: options.baseURL + "/verifyApiKey", headers: [("Accept", "application/json")], body: nil)
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
