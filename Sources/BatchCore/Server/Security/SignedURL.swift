// Signed file URLs in the shape of Google Cloud Storage V4 signed URLs (what Fireworks hands out): the
// X-Goog-* query parameters, a canonical request over the method, path, query and signed headers, and an
// HMAC-SHA-256 signature with the gateway's own key, so a URL cannot be forged, stretched, pointed at another
// file, or used with headers other than the ones it was signed for.
import BatchHTTP
import BatchAPI
import Foundation

/// The base every absolute URL the gateway mints starts with: `--public-url`, or the address it listens on.
struct PublicBase: Equatable, Sendable {
    var scheme: String
    /// `host[:port]`, as the `host` signed header of a URL carries it.
    var authority: String
    /// A path prefix without a trailing slash (`""` or `/batch`): a proxy in front strips it before the gateway.
    var pathPrefix: String

    var url: String { "\(scheme)://\(authority)\(pathPrefix)" }

    /// Parses `http(s)://host[:port][/prefix]`; the reason it is refused otherwise.
    static func parse(_ text: String) -> Result<PublicBase, PublicURLProblem> {
        var rest = Substring(text)
        let scheme: String
        if rest.lowercased().hasPrefix("https://") { scheme = "https"; rest = rest.dropFirst(8) }
        else if rest.lowercased().hasPrefix("http://") { scheme = "http"; rest = rest.dropFirst(7) }
        else { return .failure(.scheme) }
        if rest.contains("?") || rest.contains("#") { return .failure(.queryOrFragment) }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        var prefix = String(rest[slash...])
        while prefix.hasSuffix("/") { prefix.removeLast() }
        guard !authority.isEmpty, !authority.contains("@"),
              authority.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }) else { return .failure(.host) }
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let port = Int(authority[authority.index(after: colon)...]), (1...65535).contains(port) else { return .failure(.port) }
        }
        guard prefix.split(separator: "/").allSatisfy({ $0 != "." && $0 != ".." }),
              prefix.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "%") }) else { return .failure(.path) }
        return .success(PublicBase(scheme: scheme, authority: authority.lowercased(), pathPrefix: prefix))
    }
}

enum PublicURLProblem: Error, CustomStringConvertible {
    case scheme, queryOrFragment, host, port, path

    var description: String {
        switch self {
        case .scheme: return "expected an http:// or https:// URL"
        case .queryOrFragment: return "a base URL takes no query or fragment"
        case .host: return "expected a host name or address"
        case .port: return "the port must be 1-65535"
        case .path: return "the path may hold only plain characters (no '..', no percent-encoding)"
        }
    }
}

/// A URL's canonical form, as GCS V4 defines it.
enum CanonicalRequest {
    /// RFC 3986 percent-encoding of everything but the unreserved characters (`/` too when `keepSlash`).
    static func encode(_ s: String, keepSlash: Bool = false) -> String {
        let hex = Array("0123456789ABCDEF")
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out.append("%"); out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 0xF)])
            }
        }
        return out
    }

    /// `name=value` pairs sorted by encoded name (then value), joined with `&`.
    static func query(_ items: [(String, String)]) -> String {
        let encoded: [(String, String)] = items.map { (encode($0.0), encode($0.1)) }
        let sorted = encoded.sorted { (a: (String, String), b: (String, String)) -> Bool in a.0 == b.0 ? a.1 < b.1 : a.0 < b.0 }
        return sorted.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Lower-case names, values trimmed with inner runs of spaces folded, one `name:value\n` per header.
    static func headers(_ headers: [(String, String)]) -> String {
        let folded: [(String, String)] = headers.map { (name: String, value: String) -> (String, String) in
            let words = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            return (name.lowercased(), words.trimmingCharacters(in: .whitespaces))
        }
        let sorted = folded.sorted { (a: (String, String), b: (String, String)) -> Bool in a.0 < b.0 }
        return sorted.map { "\($0.0):\($0.1)\n" }.joined()
    }

    static func text(method: String, path: String, query: [(String, String)], headers: [(String, String)], signedHeaders: String) -> String {
        [method, encode(path, keepSlash: true), CanonicalRequest.query(query), CanonicalRequest.headers(headers), signedHeaders,
         "UNSIGNED-PAYLOAD"].joined(separator: "\n")
    }
}

/// Why a request's signature was not accepted, each answered the way GCS answers it.
enum SignatureRefusal: Error, Equatable {
    /// No X-Goog-* parameters at all: an anonymous request for a private object.
    case unsigned
    /// Parameters present but unusable (unknown algorithm, bad date, expiry out of range).
    case malformed(String)
    case expired(at: Int)
    case mismatch(stringToSign: String, canonicalRequest: String)
}

/// Mints and checks GCS V4-shaped signed URLs with the gateway's HMAC key.
struct URLSigner: Sendable {
    let key: [UInt8]
    /// Stands where GCS has the service account's e-mail in `X-Goog-Credential`.
    static let accessID = "batchctl-gateway"
    static let algorithm = "GOOG4-HMAC-SHA256"
    /// GCS's limit for a V4 signature (7 days).
    static let maxExpires = 604_800

    /// `20261201T093000Z`
    static func goog4Date(_ unixSeconds: Int) -> String {
        var t = time_t(unixSeconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    static func parseGoog4Date(_ text: String) -> Int? {
        let b = Array(text.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        func num(_ from: Int, _ n: Int) -> Int32? {
            var v: Int32 = 0
            for i in from..<(from + n) { guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }; v = v * 10 + Int32(b[i] - 0x30) }
            return v
        }
        guard let y = num(0, 4), let mo = num(4, 2), let d = num(6, 2), let h = num(9, 2), let mi = num(11, 2), let s = num(13, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        var parts = tm()
        parts.tm_year = y - 1900; parts.tm_mon = mo - 1; parts.tm_mday = d; parts.tm_hour = h; parts.tm_min = mi; parts.tm_sec = s
        return Int(timegm(&parts))
    }

    /// GCS's HMAC key derivation: the date, region and service each narrow the key.
    func signingKey(day: String) -> [UInt8] {
        var k = SHA256.hmac(key: Array("GOOG4".utf8) + key, message: Array(day.utf8))
        for part in ["auto", "storage", "goog4_request"] { k = SHA256.hmac(key: k, message: Array(part.utf8)) }
        return k
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return out
    }

    func stringToSign(date: String, canonicalRequest: String) -> String {
        let day = String(date.prefix(8))
        return [URLSigner.algorithm, date, "\(day)/auto/storage/goog4_request", URLSigner.hex(SHA256.hash(Array(canonicalRequest.utf8)))]
            .joined(separator: "\n")
    }

    /// A signed URL for `method` on `path` (below the base), with `extraQuery` bound into the signature and
    /// `headers` (besides `host`) that the request must carry exactly.
    func url(base: PublicBase, method: String, path: String, extraQuery: [(String, String)], headers: [(String, String)],
             now: Int, expires: Int) -> String {
        let date = URLSigner.goog4Date(now)
        let allHeaders = headers + [("host", base.authority)]
        let signedHeaders = allHeaders.map { $0.0.lowercased() }.sorted().joined(separator: ";")
        var query = extraQuery
        query += [("X-Goog-Algorithm", URLSigner.algorithm),
                  ("X-Goog-Credential", "\(URLSigner.accessID)/\(date.prefix(8))/auto/storage/goog4_request"),
                  ("X-Goog-Date", date), ("X-Goog-Expires", String(expires)), ("X-Goog-SignedHeaders", signedHeaders)]
        let fullPath = base.pathPrefix + path
        let canonical = CanonicalRequest.text(method: method, path: fullPath, query: query, headers: allHeaders, signedHeaders: signedHeaders)
        let signature = URLSigner.hex(SHA256.hmac(key: signingKey(day: String(date.prefix(8))),
                                                  message: Array(stringToSign(date: date, canonicalRequest: canonical).utf8)))
        return base.scheme + "://" + base.authority + CanonicalRequest.encode(fullPath, keepSlash: true) + "?"
            + CanonicalRequest.query(query) + "&X-Goog-Signature=" + signature
    }

    /// Checks a request against its signature. The `host` signed header is taken from `base` (the host the URL
    /// was minted for) rather than from the request, so a proxy that rewrites `Host` does not break URLs; every
    /// other signed header comes from the request as sent. Returns the query parameters that were signed.
    func verify(method: String, path: String, query: [HTTPQueryItem], headers: HTTPHeaders, base: PublicBase,
                now: Int) -> Result<[(String, String)], SignatureRefusal> {
        func param(_ name: String) -> String? { query.last(where: { $0.name == name })?.value }
        guard let signature = param("X-Goog-Signature") else {
            return query.contains(where: { $0.name.hasPrefix("X-Goog-") }) ? .failure(.malformed("missing X-Goog-Signature")) : .failure(.unsigned)
        }
        guard param("X-Goog-Algorithm") == URLSigner.algorithm else { return .failure(.malformed("unsupported X-Goog-Algorithm")) }
        guard let date = param("X-Goog-Date"), let signedAt = URLSigner.parseGoog4Date(date) else {
            return .failure(.malformed("invalid X-Goog-Date"))
        }
        guard let expiresText = param("X-Goog-Expires"), let expires = Int(expiresText), (1...URLSigner.maxExpires).contains(expires) else {
            return .failure(.malformed("X-Goog-Expires must be between 1 and \(URLSigner.maxExpires) seconds"))
        }
        guard let credential = param("X-Goog-Credential"), credential.split(separator: "/").count == 5,
              credential.split(separator: "/")[1] == date.prefix(8) else { return .failure(.malformed("invalid X-Goog-Credential")) }
        guard let signedHeaders = param("X-Goog-SignedHeaders"), !signedHeaders.isEmpty else {
            return .failure(.malformed("missing X-Goog-SignedHeaders"))
        }
        let names = signedHeaders.split(separator: ";").map(String.init)
        let values: [(String, String)] = names.map { name in
            name == "host" ? (name, base.authority) : (name, headers[name] ?? "")
        }
        let signedQuery = query.filter { $0.name != "X-Goog-Signature" }.map { ($0.name, $0.value) }
        let canonical = CanonicalRequest.text(method: method, path: base.pathPrefix + path, query: signedQuery, headers: values,
                                              signedHeaders: signedHeaders)
        let toSign = stringToSign(date: date, canonicalRequest: canonical)
        let expected = URLSigner.hex(SHA256.hmac(key: signingKey(day: String(date.prefix(8))), message: Array(toSign.utf8)))
        guard constantTimeEqual(Array(expected.utf8), Array(signature.lowercased().utf8)) else {
            return .failure(.mismatch(stringToSign: toSign, canonicalRequest: canonical))
        }
        // Checked after the signature, as GCS does: an expired but forged URL is a forgery.
        guard now < signedAt + expires else { return .failure(.expired(at: signedAt + expires)) }
        return .success(signedQuery)
    }
}
