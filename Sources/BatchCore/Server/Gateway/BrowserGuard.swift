// Keeping web pages out: the Host check (DNS rebinding), the Origin check and CORS for allowed origins, and
// the Content-Type rule that turns a browser's "simple request" into one the gateway refuses.
import BatchAPI
import BatchHTTP
import Foundation

extension Route {
    /// `:upload` takes a multipart form; every other route with a body takes JSON.
    var takesMultipart: Bool {
        if case .dataset(.upload, _) = self { return true }
        return false
    }
}

enum BrowserGuard {
    /// The host part of a `Host` header, lower case, without port, brackets or a trailing dot.
    static func hostName(_ header: String) -> String {
        var text = header.trimmingCharacters(in: .whitespaces).lowercased()
        if text.hasPrefix("[") {
            if let close = text.firstIndex(of: "]") { text = String(text[text.index(after: text.startIndex)..<close]) }
        } else if let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon {
            text = String(text[..<colon])
        }
        while text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// `localhost`, `*.localhost` (RFC 6761 keeps them on loopback), 127.0.0.0/8 and ::1.
    static func isLoopbackName(_ host: String) -> Bool {
        if host == "localhost" || host.hasSuffix(".localhost") || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Refuses a request naming a host this gateway is not (421): a rebinding page's requests carry its own
    /// name. A request without `Host` (HTTP/1.0) carries no name a page could have chosen.
    static func checkHost(_ request: HTTPRequest, allowed: Set<String>?) throws {
        guard let allowed, let header = request.headers["Host"], !header.isEmpty else { return }
        let host = hostName(header)
        guard isLoopbackName(host) || allowed.contains(host) else {
            throw GatewayError(.permissionDenied, "requests for host \"\(host)\" are refused: this gateway answers to "
                + "loopback names\(allowed.isEmpty ? "" : ", " + allowed.sorted().joined(separator: ", ")) (set --public-url to add one)",
                httpStatus: 421)
        }
    }

    /// The request's `Origin` when it is allowed; nil when it has none. Browsers send `Origin` with every
    /// cross-origin request and every POST, so a page can only reach the API from an origin the operator named.
    static func checkOrigin(_ request: HTTPRequest, allowed: Set<String>) throws -> String? {
        guard let origin = request.headers["Origin"] else { return nil }
        let normalized = normalizeOrigin(origin)
        guard allowed.contains(normalized) else {
            throw GatewayError(.permissionDenied, "requests from browser origin \"\(origin)\" are refused; "
                + "start the server with --allow-origin \(normalized == "null" ? "ORIGIN" : normalized) to allow it")
        }
        return origin
    }

    static func normalizeOrigin(_ origin: String) -> String {
        var text = origin.trimmingCharacters(in: .whitespaces).lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// The answer to a CORS preflight from an allowed origin.
    static func preflight(_ request: HTTPRequest, origin: String) -> HTTPResponse {
        var response = HTTPResponse(status: 204)
        addCORSHeaders(&response, origin: origin)
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, PUT, DELETE"
        response.headers["Access-Control-Allow-Headers"] = request.headers["Access-Control-Request-Headers"]
            ?? "Authorization, Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
        return response
    }

    static func addCORSHeaders(_ response: inout HTTPResponse, origin: String) {
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    }

    /// JSON routes take `application/json` only: `text/plain`, form and multipart bodies are what a page can
    /// send without a preflight. `:upload` takes `multipart/form-data` (checked by its handler).
    static func checkContentType(_ request: HTTPRequest, multipart: Bool) throws {
        guard !multipart, ["POST", "PATCH", "PUT"].contains(request.method) else { return }
        let hasBody = request.body.isChunked || (request.body.contentLength ?? 0) > 0
        guard let type = request.headers["Content-Type"] else {
            if hasBody { throw GatewayError(.invalidArgument, "Content-Type must be application/json", httpStatus: 415) }
            return
        }
        let media = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard media == "application/json" else {
            throw GatewayError(.invalidArgument, "Content-Type must be application/json, not \"\(type)\"", httpStatus: 415)
        }
    }
}
