// The gateway's API key check: 401 without a bearer key, 403 with a wrong one, nothing when no key is configured.
import BatchAPI
import BatchHTTP
import Foundation

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
        guard constantTimeEqual(SHA256.hash(given), SHA256.hash(Array(expected.utf8))) else {
            throw GatewayError(.permissionDenied, "invalid API key")
        }
    }
}
