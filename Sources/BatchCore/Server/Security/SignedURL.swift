// Signed file URLs: a token naming one operation on one file of one dataset until an expiry time, with an
// HMAC-SHA-256 over all of it, so it cannot be forged, stretched, or pointed at another file.
import BatchHTTP
import BatchAPI
import Foundation

struct SignedFileToken: Equatable {
    enum Operation: String { case upload = "u", download = "d" }
    var operation: Operation
    var account: String
    var dataset: String
    var file: String
    /// Upload: the announced size; download: 0.
    var size: Int64
    var expires: Int64

    var payload: String { [operation.rawValue, account, dataset, file, String(size), String(expires)].joined(separator: "|") }
}

struct URLSigner {
    let key: [UInt8]

    func token(for t: SignedFileToken) -> String {
        let payload = Array(t.payload.utf8)
        return Base64URL.encode(payload) + "." + Base64URL.encode(SHA256.hmac(key: key, message: payload))
    }

    enum Refusal: Error { case malformed, badSignature, expired }

    /// The token's claims, checked: a valid MAC, well-formed parts (ids that pass the id rules), not expired.
    func verify(_ token: String, now: Date = Date()) -> Result<SignedFileToken, Refusal> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Base64URL.decode(String(parts[0])), let mac = Base64URL.decode(String(parts[1])) else {
            return .failure(.malformed)
        }
        guard constantTimeEqual(mac, SHA256.hmac(key: key, message: payload)) else { return .failure(.badSignature) }
        let fields = String(decoding: payload, as: UTF8.self).split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 6, let op = SignedFileToken.Operation(rawValue: fields[0]), ResourceID.accountProblem(fields[1]) == nil,
              ResourceID.isValid(fields[2]), StoreLayout.isSafeFileName(fields[3]), let size = Int64(fields[4]),
              let expires = Int64(fields[5]) else { return .failure(.malformed) }
        guard Double(expires) > now.timeIntervalSince1970 else { return .failure(.expired) }
        return .success(SignedFileToken(operation: op, account: fields[1], dataset: fields[2], file: fields[3], size: size, expires: expires))
    }
}
