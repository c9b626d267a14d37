// Gateway error codes (gRPC numbering), their HTTP mapping, and the error value both client and server use.

/// The gRPC status codes the gateway speaks, with the HTTP status grpc-gateway maps each to.
public enum StatusCode: Int, CaseIterable, Sendable {
    case ok = 0, cancelled = 1, unknown = 2, invalidArgument = 3, deadlineExceeded = 4, notFound = 5
    case alreadyExists = 6, permissionDenied = 7, resourceExhausted = 8, failedPrecondition = 9, aborted = 10
    case outOfRange = 11, unimplemented = 12, `internal` = 13, unavailable = 14, dataLoss = 15, unauthenticated = 16

    /// The enum name as it appears inside resources (`status.code`), e.g. `INVALID_ARGUMENT`.
    public var name: String {
        switch self {
        case .ok: return "OK"
        case .cancelled: return "CANCELLED"
        case .unknown: return "UNKNOWN"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .deadlineExceeded: return "DEADLINE_EXCEEDED"
        case .notFound: return "NOT_FOUND"
        case .alreadyExists: return "ALREADY_EXISTS"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .resourceExhausted: return "RESOURCE_EXHAUSTED"
        case .failedPrecondition: return "FAILED_PRECONDITION"
        case .aborted: return "ABORTED"
        case .outOfRange: return "OUT_OF_RANGE"
        case .unimplemented: return "UNIMPLEMENTED"
        case .internal: return "INTERNAL"
        case .unavailable: return "UNAVAILABLE"
        case .dataLoss: return "DATA_LOSS"
        case .unauthenticated: return "UNAUTHENTICATED"
        }
    }

    public init?(name: String) {
        guard let code = StatusCode.allCases.first(where: { $0.name == name }) else { return nil }
        self = code
    }

    /// The HTTP status of gateway-api.md's table.
    public var httpStatus: Int {
        switch self {
        case .ok: return 200
        case .cancelled: return 499
        case .unknown, .internal, .dataLoss: return 500
        case .invalidArgument, .failedPrecondition, .outOfRange: return 400
        case .deadlineExceeded: return 504
        case .notFound: return 404
        case .alreadyExists, .aborted: return 409
        case .permissionDenied: return 403
        case .resourceExhausted: return 429
        case .unimplemented: return 501
        case .unavailable: return 503
        case .unauthenticated: return 401
        }
    }

    /// The code an HTTP status most likely stands for, for answers that carry no gateway code.
    public init(httpStatus: Int) {
        switch httpStatus {
        case 400: self = .invalidArgument
        case 401: self = .unauthenticated
        case 403: self = .permissionDenied
        case 404: self = .notFound
        case 409: self = .alreadyExists
        case 429: self = .resourceExhausted
        case 499: self = .cancelled
        case 501: self = .unimplemented
        case 503: self = .unavailable
        case 504: self = .deadlineExceeded
        default: self = httpStatus >= 500 ? .internal : .unknown
        }
    }
}

/// An error answered by a gateway: `{"code": N, "message": "...", "details": []}` with an HTTP status.
public struct GatewayError: Error, Equatable, CustomStringConvertible, Sendable {
    public var code: StatusCode
    public var message: String
    public var httpStatus: Int

    public init(_ code: StatusCode, _ message: String, httpStatus: Int? = nil) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus ?? code.httpStatus
    }

    public var description: String { "\(message) (HTTP \(httpStatus), \(code.name))" }

    /// The protojson error body.
    public var json: JSONValue {
        .object([("code", .int(code.rawValue)), ("message", .string(message)), ("details", .array([]))])
    }

    /// Decodes either error shape the gateway may send: grpc-gateway's `{"code","message"}` or the
    /// OpenAI-style `{"error": {"message", "code", "type"}}` that Fireworks' front door uses for bad keys.
    public init(httpStatus: Int, body: [UInt8]) {
        let parsed = try? JSONValue(parsing: body)
        if let parsed, let number = parsed["code"]?.int64Value, let code = StatusCode(rawValue: Int(number)) {
            self.init(code, parsed["message"]?.stringValue ?? "", httpStatus: httpStatus)
        } else if let parsed, let error = parsed["error"] {
            let message = error["message"]?.stringValue ?? error.stringValue ?? ""
            self.init(StatusCode(httpStatus: httpStatus), message, httpStatus: httpStatus)
        } else if let xml = GatewayError.storageError(body) {
            // Cloud Storage (a signed URL) answers `<Error><Code>..</Code><Message>..</Message><Details>..</Details>`.
            self.init(StatusCode(httpStatus: httpStatus), xml, httpStatus: httpStatus)
        } else {
            var text = String(decoding: body.prefix(300), as: UTF8.self).trimmingWhitespace()
            if text.isEmpty { text = "HTTP \(httpStatus)" }
            self.init(StatusCode(httpStatus: httpStatus), text, httpStatus: httpStatus)
        }
    }
}

import BatchJSONL

extension GatewayError {
    /// `Code: Details` (or `Code: Message`) of a Cloud Storage XML error body; nil for anything else.
    static func storageError(_ body: [UInt8]) -> String? {
        let text = String(decoding: body.prefix(16 * 1024), as: UTF8.self)
        guard text.contains("<Error>") else { return nil }
        func element(_ tag: String) -> String? {
            guard let open = text.range(of: "<\(tag)>"), let close = text.range(of: "</\(tag)>", range: open.upperBound..<text.endIndex) else { return nil }
            return String(text[open.upperBound..<close.lowerBound]).replacingOccurrences(of: "&lt;", with: "<")
                .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"")
                .replacingOccurrences(of: "&apos;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
        }
        guard let code = element("Code") else { return nil }
        let why = element("Details").flatMap { $0.isEmpty ? nil : $0 } ?? element("Message") ?? ""
        return why.isEmpty ? code : "\(code): \(why)"
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
