// What the environment says about TLS trust and proxies, read the way curl, Go and OpenSSL read it.

/// Which certificate authorities to trust. Empty: the system store (libcurl's default bundle).
public struct TLSTrust: Sendable, Equatable {
    /// A PEM bundle (`--cacert`, `SSL_CERT_FILE`, `CURL_CA_BUNDLE`).
    public var caFile: String?
    /// A folder of hashed certificates (`SSL_CERT_DIR`).
    public var caDirectory: String?

    public init(caFile: String? = nil, caDirectory: String? = nil) {
        self.caFile = caFile; self.caDirectory = caDirectory
    }

    /// `--cacert` first, then `CURL_CA_BUNDLE` (as the curl tool reads it), then `SSL_CERT_FILE` (as OpenSSL
    /// and Go honour it); `SSL_CERT_DIR` adds a folder, trusted as well.
    public static func from(environment env: [String: String], caFile flag: String?) -> TLSTrust {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        // SSL_CERT_DIR may list several folders (Go splits on ':'); libcurl takes one: the first.
        let dir = value("SSL_CERT_DIR").flatMap { $0.split(separator: ":").first.map(String.init) }
        return TLSTrust(caFile: flag ?? value("CURL_CA_BUNDLE") ?? value("SSL_CERT_FILE"), caDirectory: dir)
    }

    /// Where the trust came from, for messages.
    public var summary: String {
        switch (caFile, caDirectory) {
        case (nil, nil): return "the system's certificate store"
        case let (file?, nil): return file
        case let (nil, dir?): return dir
        case let (file?, dir?): return "\(file) and \(dir)"
        }
    }
}

/// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, lower or upper case (lower wins), as curl reads
/// them: a proxy URL without a scheme is http://; NO_PROXY is a comma list of host names, domain suffixes
/// (`.example.com` or `example.com` both match sub-domains), IP literals, `host:port`, or `*` for all.
public struct ProxyConfiguration: Sendable, Equatable {
    public var httpProxy: String?
    public var httpsProxy: String?
    public var noProxy: [String]

    public init(httpProxy: String? = nil, httpsProxy: String? = nil, noProxy: [String] = []) {
        self.httpProxy = httpProxy; self.httpsProxy = httpsProxy; self.noProxy = noProxy
    }

    public static func from(environment env: [String: String]) -> ProxyConfiguration {
        func value(_ name: String) -> String? {
            for key in [name.lowercased(), name.uppercased()] { if let v = env[key], !v.isEmpty { return v } }
            return nil
        }
        let all = value("all_proxy")
        let list = (value("no_proxy") ?? "").split(separator: ",").map { trimmingOptionalWhitespace($0).lowercased() }.filter { !$0.isEmpty }
        return ProxyConfiguration(httpProxy: value("http_proxy") ?? all, httpsProxy: value("https_proxy") ?? all, noProxy: list)
    }

    /// The proxy URL for `url`, or nil for a direct connection.
    public func proxy(for url: HTTPURL) -> String? {
        guard let raw = url.scheme == .https ? httpsProxy : httpProxy else { return nil }
        if bypasses(url) { return nil }
        return raw.contains("://") ? raw : "http://" + raw
    }

    func bypasses(_ url: HTTPURL) -> Bool {
        let host = url.host
        for entry in noProxy {
            if entry == "*" { return true }
            var name = entry
            // `host:port` matches only that port; `[v6]` and `[v6]:port` are unbracketed first.
            if name.hasPrefix("["), let close = name.firstIndex(of: "]") {
                let after = name[name.index(after: close)...]
                if after.hasPrefix(":"), Int(after.dropFirst()) != url.port { continue }
                name = String(name[name.index(after: name.startIndex)..<close])
            } else if name.filter({ $0 == ":" }).count == 1, let colon = name.firstIndex(of: ":") {
                if Int(name[name.index(after: colon)...]) != url.port { continue }
                name = String(name[..<colon])
            }
            if name.hasPrefix(".") { name.removeFirst() }
            if host == name || host.hasSuffix("." + name) { return true }
        }
        return false
    }
}
