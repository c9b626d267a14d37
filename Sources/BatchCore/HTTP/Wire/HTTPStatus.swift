// HTTPStatus: status codes, their reason phrases, and the gateway error code each one maps to.

public struct HTTPStatus: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public let code: Int

    public init(_ code: Int) {
        self.code = code
    }

    public init(integerLiteral code: Int) {
        self.code = code
    }

    public var description: String { "\(code) \(reasonPhrase)" }

    /// 1xx, 204 and 304 responses never carry a body, whatever the request method.
    public var allowsBody: Bool {
        !(100..<200).contains(code) && code != 204 && code != 304
    }

    public var reasonPhrase: String {
        switch code {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 411: return "Length Required"
        case 412: return "Precondition Failed"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 416: return "Range Not Satisfiable"
        case 417: return "Expectation Failed"
        case 422: return "Unprocessable Content"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 499: return "Client Closed Request"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default:
            switch code {
            case 100..<200: return "Informational"
            case 200..<300: return "Success"
            case 300..<400: return "Redirection"
            case 400..<500: return "Client Error"
            default: return "Server Error"
            }
        }
    }

    public static let `continue`: HTTPStatus = 100
    public static let ok: HTTPStatus = 200
    public static let created: HTTPStatus = 201
    public static let noContent: HTTPStatus = 204
    public static let partialContent: HTTPStatus = 206
    public static let badRequest: HTTPStatus = 400
    public static let unauthorized: HTTPStatus = 401
    public static let forbidden: HTTPStatus = 403
    public static let notFound: HTTPStatus = 404
    public static let methodNotAllowed: HTTPStatus = 405
    public static let requestTimeout: HTTPStatus = 408
    public static let conflict: HTTPStatus = 409
    public static let contentTooLarge: HTTPStatus = 413
    public static let uriTooLong: HTTPStatus = 414
    public static let rangeNotSatisfiable: HTTPStatus = 416
    public static let requestHeaderFieldsTooLarge: HTTPStatus = 431
    public static let internalServerError: HTTPStatus = 500
    public static let notImplemented: HTTPStatus = 501
    public static let serviceUnavailable: HTTPStatus = 503
    public static let httpVersionNotSupported: HTTPStatus = 505

    /// The gRPC code put in the `code` field of error bodies, following the gateway's error table
    /// (gateway-api.md) so that clients of the real Fireworks gateway understand our errors too.
    public var gatewayErrorCode: Int {
        switch code {
        case 400: return 3    // INVALID_ARGUMENT
        case 401: return 16   // UNAUTHENTICATED
        case 403: return 7    // PERMISSION_DENIED
        case 404: return 5    // NOT_FOUND
        case 408, 504: return 4    // DEADLINE_EXCEEDED
        case 409: return 10   // ABORTED
        case 412, 417: return 9    // FAILED_PRECONDITION
        case 413, 414, 429, 431: return 8    // RESOURCE_EXHAUSTED
        case 416: return 11   // OUT_OF_RANGE
        case 499: return 1    // CANCELLED
        case 501, 505: return 12   // UNIMPLEMENTED
        case 503: return 14   // UNAVAILABLE
        case 400..<500: return 3
        case 500..<600: return 13   // INTERNAL
        default: return 2     // UNKNOWN
        }
    }
}

/// The gateway's error body: `{"code": N, "message": "...", "details": []}`.
func gatewayErrorBody(status: HTTPStatus, message: String) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(message.utf8.count + 48)
    out.append(contentsOf: "{\"code\":".utf8)
    appendDecimal(status.gatewayErrorCode, to: &out)
    out.append(contentsOf: ",\"message\":\"".utf8)
    for byte in message.utf8 {
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
        case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
        case 0x0A: out.append(contentsOf: "\\n".utf8)
        case 0x0D: out.append(contentsOf: "\\r".utf8)
        case 0x09: out.append(contentsOf: "\\t".utf8)
        case 0..<0x20:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            out.append(contentsOf: "\\u00".utf8)
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        default: out.append(byte)
        }
    }
    out.append(contentsOf: "\",\"details\":[]}".utf8)
    return out
}

func appendDecimal(_ value: Int, to out: inout [UInt8]) {
    if value < 0 {
        out.append(UInt8(ascii: "-"))
    }
    var rest = value.magnitude
    // 20 digits hold any UInt64; a fixed tuple keeps this allocation-free on the per-response path.
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
    withUnsafeMutableBytes(of: &digits) { raw in
        var count = 0
        repeat {
            raw[count] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            count += 1
        } while rest > 0
        for i in stride(from: count - 1, through: 0, by: -1) {
            out.append(raw[i])
        }
    }
}
