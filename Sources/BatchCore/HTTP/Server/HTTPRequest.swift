// HTTPRequest: a parsed request head with its decoded path and query, and the body stream.

public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }
}

/// One `name=value` pair of a query string, decoded (`+` is a space, percent escapes resolved).
public struct HTTPQueryItem: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

public struct HTTPRequest {
    /// The method exactly as sent (methods are case-sensitive: `get` is not `GET`).
    public let method: String
    /// The request-target exactly as sent, query included.
    public let target: String
    /// The path before any `?`, still percent-encoded.
    public let rawPath: String
    /// The percent-decoded path. `%2F` becomes `/` here, so routers should match on `pathSegments`.
    public let path: String
    /// The segments of `rawPath` after the leading `/`, each percent-decoded after splitting, so an encoded
    /// `%2F` stays inside its segment and can be refused. `/a/b/` gives `["a", "b", ""]`; `/` gives `[]`.
    public let pathSegments: [String]
    /// The query string after `?`, still encoded; nil when the target has no `?`.
    public let rawQuery: String?
    public let query: [HTTPQueryItem]
    public let version: HTTPVersion
    public let headers: HTTPHeaders
    public let body: HTTPRequestBody
    /// The peer as `host:port` (`[v6]:port` for IPv6), for logs.
    public let remoteAddress: String

    /// Builds a request outside a connection, e.g. to test a handler without sockets.
    public init(method: String, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:],
                body: [UInt8] = [], remoteAddress: String = "127.0.0.1:0") throws {
        try self.init(method: method, target: target, version: version, headers: headers,
                      body: HTTPRequestBody(bytes: body), remoteAddress: remoteAddress)
    }

    init(method: String, target: String, version: HTTPVersion, headers: HTTPHeaders, body: HTTPRequestBody,
         remoteAddress: String) throws {
        let parts = try HTTPRequestTarget(target)
        self.method = method
        self.target = target
        self.rawPath = parts.rawPath
        self.path = parts.path
        self.pathSegments = parts.segments
        self.rawQuery = parts.rawQuery
        self.query = parts.query
        self.version = version
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// The first value of query parameter `name`.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    public var isHead: Bool { method == "HEAD" }
}

/// The decoded parts of a request-target.
struct HTTPRequestTarget {
    var rawPath: String
    var path: String
    var segments: [String]
    var rawQuery: String?
    var query: [HTTPQueryItem]

    init(_ target: String) throws {
        var utf8 = Array(target.utf8)
        // absolute-form (`http://host/path`, sent to proxies) carries the same path after the authority.
        if utf8.first != UInt8(ascii: "/") {
            if target == "*" {
                utf8 = Array("*".utf8)
            } else if let schemeEnd = target.range(of: "://"),
                      ["http", "https"].contains(asciiLowercased(target[..<schemeEnd.lowerBound])) {
                let afterScheme = Array(target[schemeEnd.upperBound...].utf8)
                if let slash = afterScheme.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) {
                    utf8 = Array(afterScheme[slash...])
                    if utf8.first == UInt8(ascii: "?") { utf8.insert(UInt8(ascii: "/"), at: 0) }
                } else {
                    utf8 = Array("/".utf8)
                }
            } else {
                throw HTTPError(.badRequest, "request target must start with \"/\"")
            }
        }
        let pathBytes: ArraySlice<UInt8>
        if let question = utf8.firstIndex(of: UInt8(ascii: "?")) {
            pathBytes = utf8[..<question]
            let queryBytes = utf8[(question + 1)...]
            rawQuery = String(decoding: queryBytes, as: UTF8.self)
            query = HTTPRequestTarget.parseQuery(queryBytes)
        } else {
            pathBytes = utf8[...]
            rawQuery = nil
            query = []
        }
        // Clients strip the fragment before sending, so a `#` means a malformed target.
        if pathBytes.contains(UInt8(ascii: "#")) {
            throw HTTPError(.badRequest, "request target must not contain \"#\"")
        }
        rawPath = String(decoding: pathBytes, as: UTF8.self)
        guard let decodedPath = percentDecode(pathBytes, plusIsSpace: false) else {
            throw HTTPError(.badRequest, "invalid percent-encoding in path")
        }
        path = decodedPath
        var segments: [String] = []
        if pathBytes.count > 1 {
            for raw in pathBytes.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
                guard let segment = percentDecode(raw, plusIsSpace: false) else {
                    throw HTTPError(.badRequest, "invalid percent-encoding in path")
                }
                segments.append(segment)
            }
        }
        self.segments = segments
    }

    /// Pairs split on `&` then on the first `=`; a name without `=` has an empty value. Malformed escapes are
    /// kept literally rather than refused, because query values are often pasted by hand.
    static func parseQuery(_ bytes: ArraySlice<UInt8>) -> [HTTPQueryItem] {
        var items: [HTTPQueryItem] = []
        for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let name: ArraySlice<UInt8>
            let value: ArraySlice<UInt8>
            if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                name = pair[..<equals]
                value = pair[(equals + 1)...]
            } else {
                name = pair
                value = []
            }
            items.append(HTTPQueryItem(
                name: percentDecode(name, plusIsSpace: true) ?? String(decoding: name, as: UTF8.self),
                value: percentDecode(value, plusIsSpace: true) ?? String(decoding: value, as: UTF8.self)))
        }
        return items
    }
}

/// Decodes `%XX` escapes; nil for a malformed escape or bytes that do not form valid UTF-8.
func percentDecode(_ bytes: ArraySlice<UInt8>, plusIsSpace: Bool) -> String? {
    if !bytes.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) {
        return String(validatingUTF8Bytes: bytes)
    }
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = bytes.startIndex
    while i < bytes.endIndex {
        let byte = bytes[i]
        if byte == UInt8(ascii: "%") {
            guard i + 2 < bytes.endIndex, let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) else {
                return nil
            }
            out.append(high << 4 | low)
            i += 3
        } else {
            out.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            i += 1
        }
    }
    return String(validatingUTF8Bytes: out[...])
}

@inline(__always)
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}

extension String {
    /// nil unless `bytes` are valid UTF-8 (String(decoding:) would silently substitute U+FFFD).
    init?(validatingUTF8Bytes bytes: ArraySlice<UInt8>) {
        if !bytes.contains(where: { $0 >= 0x80 }) {
            self = String(decoding: bytes, as: UTF8.self)
            return
        }
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var valid = true
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: break loop
            case .error: valid = false; break loop
            }
        }
        guard valid else { return nil }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
