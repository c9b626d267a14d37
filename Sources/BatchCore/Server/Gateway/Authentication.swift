// The gateway's API key check: 401 without a bearer key, 403 with a wrong one (in the OpenAI-style envelope of
// Fireworks' front door), nothing when no key is configured.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

/// A wrong key. Live Fireworks answers it before the gateway sees the request, with HTTP 403 and
/// `{"error": {"message", "code": "UNAUTHORIZED", "type": "error", "param": null}, "request_id"}`, not the
/// google.rpc body of every other error (gateway-api.md §1 and §6).
struct InvalidAPIKey: Error {
    static let message = "The API key you provided is invalid."

    var response: HTTPResponse {
        let letters = Array("0123456789abcdef")
        let requestID = String((0..<32).map { _ in letters.randomElement()! })
        let body = JSONValue.object([
            ("error", .object([("message", .string(InvalidAPIKey.message)), ("code", .string("UNAUTHORIZED")),
                               ("type", .string("error")), ("param", .null)])),
            ("request_id", .string(requestID)),
        ])
        return .json(body.serialized(), status: HTTPStatus(403))
    }
}

struct Authenticator: Sendable {
    /// nil: every request is let in (a loopback gateway started without `--api-key`).
    let apiKey: String?

    func check(_ request: HTTPRequest) throws {
        guard let expected = apiKey else { return }
        guard let header = request.headers["Authorization"], header.lowercased().hasPrefix("bearer "),
              !header.dropFirst(7).trimmingCharacters(in: .whitespaces).isEmpty else {
            throw GatewayError(.unauthenticated, "missing API key: send Authorization: Bearer <key>")
        }
        let given = Array(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8)
        // Comparing digests in constant time tells a timing attacker nothing about the key or its length.
        guard constantTimeEqual(SHA256.hash(given), SHA256.hash(Array(expected.utf8))) else { throw InvalidAPIKey() }
    }
}
