// The OpenAI Batch API's error answer: `{"error": {message, type, param, code}}` with the HTTP statuses the
// `openai` SDK maps to its exception classes (400 BadRequestError, 401 AuthenticationError, 404 NotFoundError,
// 409 ConflictError, 429 RateLimitError, 5xx InternalServerError).
import BatchAPI
import BatchHTTP
import BatchJSONL

struct OpenAIError: Error, Equatable {
    var status: Int
    var message: String
    var type: String
    var param: String?
    var code: String?

    init(status: Int, _ message: String, type: String = "invalid_request_error", param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    static func badRequest(_ message: String, param: String? = nil, code: String? = nil) -> OpenAIError {
        OpenAIError(status: 400, message, param: param, code: code)
    }

    static func notFound(_ message: String, param: String? = nil) -> OpenAIError {
        OpenAIError(status: 404, message, param: param)
    }

    var json: JSONValue {
        .object([("error", .object([
            ("message", .string(message)),
            ("type", .string(type)),
            ("param", param.map(JSONValue.string) ?? .null),
            ("code", code.map(JSONValue.string) ?? .null),
        ]))])
    }

    var response: HTTPResponse { .json(json.serialized(), status: HTTPStatus(status)) }

    /// Any error a handler throws, in OpenAI's shape. Gateway errors (the store's guards, body limits, the
    /// shared handlers) keep their HTTP status and message; the type is the one OpenAI uses for that status.
    static func from(_ error: Error) -> OpenAIError {
        if let e = error as? OpenAIError { return e }
        let g = Gateway.answer(for: error)
        return OpenAIError(status: g.httpStatus, g.message, type: errorType(status: g.httpStatus))
    }

    /// OpenAI's `type` for an HTTP status.
    static func errorType(status: Int) -> String {
        switch status {
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 429: return "rate_limit_error"
        case 500...: return "server_error"
        default: return "invalid_request_error"
        }
    }

    /// OpenAI's answers to a missing or a wrong key (both 401, unlike the Fireworks routes' 403 for a wrong key).
    static func authentication(_ error: GatewayError) -> OpenAIError {
        if error.code == .unauthenticated {
            return OpenAIError(status: 401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
        }
        return OpenAIError(status: 401, "Incorrect API key provided.", code: "invalid_api_key")
    }
}
