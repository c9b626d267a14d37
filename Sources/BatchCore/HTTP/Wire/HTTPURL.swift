// An http(s) URL split into what a request needs: scheme, host, port and the request target.

public struct HTTPURL: Sendable, Equatable, CustomStringConvertible {
    public enum Scheme: String, Sendable { case http, https }
    public var scheme: Scheme
    /// Without brackets for IPv6 literals; lowercased.
    public var host: String
    public var port: Int
    /// Path and query as sent on the request line (`/v1/x?y=1`), never empty.
    public var target: String

    /// Parses an absolute `http://` or `https://` URL; nil for anything else (user info is refused, since it
    /// would be sent nowhere and must not end up in logs).
    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        guard let scheme = Scheme(rawValue: text[..<colon].lowercased()) else { return nil }
        let rest = text[text.index(after: colon)...]
        guard rest.hasPrefix("//") else { return nil }
        let afterSlashes = rest.dropFirst(2)
        let authorityEnd = afterSlashes.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterSlashes.endIndex
        let authority = afterSlashes[..<authorityEnd]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let c = authority.lastIndex(of: ":") {
            host = authority[..<c]
            portText = authority[authority.index(after: c)...]
        } else {
            host = authority
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else { return nil }
        var port = scheme == .https ? 443 : 80
        if let portText, !portText.isEmpty {
            guard portText.count <= 5, let p = Int(portText), (1...65535).contains(p) else { return nil }
            port = p
        }
        var target = String(afterSlashes[authorityEnd...])
        if let hash = target.firstIndex(of: "#") { target = String(target[..<hash]) }
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        guard target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
        self.target = target
    }

    public var isDefaultPort: Bool { port == (scheme == .https ? 443 : 80) }

    /// `host[:port]` as the Host header carries it.
    public var authority: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return isDefaultPort ? h : "\(h):\(port)"
    }

    /// scheme, host and port: a redirect to another origin drops credentials.
    public func sameOrigin(_ other: HTTPURL) -> Bool { scheme == other.scheme && host == other.host && port == other.port }

    public var description: String { "\(scheme.rawValue)://\(authority)\(target)" }

    /// The URL without its query, for messages: signed URLs carry their signature in the query.
    public var redacted: String {
        let path = target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target
        return "\(scheme.rawValue)://\(authority)\(path)"
    }

    /// A `Location` value resolved against this URL (absolute, scheme-relative, absolute-path or relative).
    public func resolving(_ location: String) -> HTTPURL? {
        let trimmed = location.trimmingOptionalWhitespace
        if let absolute = HTTPURL(trimmed) { return absolute }
        if trimmed.hasPrefix("//") { return HTTPURL(scheme.rawValue + ":" + trimmed) }
        var next = self
        if trimmed.hasPrefix("/") {
            next.target = trimmed
        } else if trimmed.hasPrefix("?") {
            let path = target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target
            next.target = path + trimmed
        } else {
            let path = target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target
            let dir = path.lastIndex(of: "/").map { String(path[...$0]) } ?? "/"
            next.target = dir + trimmed
        }
        if let hash = next.target.firstIndex(of: "#") { next.target = String(next.target[..<hash]) }
        guard next.target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return next
    }
}

extension String {
    var trimmingOptionalWhitespace: String { BatchHTTP.trimmingOptionalWhitespace(self) }
}
