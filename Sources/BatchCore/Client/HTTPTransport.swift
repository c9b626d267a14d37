// HTTPTransport: every exchange of the client layer. Plain http:// goes over the project's own socket client;
// https:// (and anything behind a proxy) goes through libcurl, loaded only when first needed.
import CCurl
import Foundation

/// One request: method, URL, headers, and a body from bytes or from a file; the answer's body can stream to
/// a file descriptor.
struct HTTPExchange {
    var method: String
    var url: String
    var headers: [(String, String)] = []
    var body: [UInt8]?
    var uploadPath: String?
    var uploadSize: Int64 = 0
    var sinkFD: Int32?
    /// The largest answer body kept in memory (a list page, an error).
    var maxBody = 256 << 20
    /// No byte moving for this long fails the exchange; it also bounds connecting.
    var stall: Double
    var progress: TransferProgress = { _, _ in }
}

/// An answer: status, headers (lower-cased names), the body when it was not streamed, bytes streamed.
struct HTTPAnswer {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var received: Int64
}

enum HTTPTransport {
    static func perform(_ e: HTTPExchange) throws -> HTTPAnswer {
        guard let url = URL(string: e.url) else { throw ClientError("invalid URL \(e.url)") }
        if let direct = PlainHTTPTransfer(url, timeout: e.stall) {
            return try direct.run(method: e.method, headers: e.headers, body: e.body, uploadFrom: e.uploadPath,
                                  uploadSize: e.uploadSize, sink: e.sinkFD, maxBody: e.maxBody, progress: e.progress)
        }
        return try CurlTransport.perform(e)
    }
}

/// The libcurl path (CCurl), for https:// and proxies.
enum CurlTransport {
    /// The progress closure, reachable from C through an opaque pointer.
    private final class ProgressBox { let report: TransferProgress; init(_ r: @escaping TransferProgress) { report = r } }

    static func perform(_ e: HTTPExchange) throws -> HTTPAnswer {
        var result = ccurl_result()
        defer { ccurl_result_free(&result) }
        let lines = e.headers.map { "\($0.0): \($0.1)" }
        let box = Unmanaged.passRetained(ProgressBox(e.progress))
        defer { box.release() }
        let progress: ccurl_progress_fn = { context, done, total in
            guard let context else { return }
            Unmanaged<ProgressBox>.fromOpaque(context).takeUnretainedValue().report(done, total)
        }
        let code: Int32 = withCStrings(lines) { headerPointers in
            let body = e.body ?? []
            return body.withUnsafeBytes { bodyBytes in
                ccurl_perform(e.method, e.url, headerPointers, Int32(lines.count),
                              e.body == nil ? nil : bodyBytes.baseAddress, body.count,
                              e.uploadPath, e.uploadSize, e.sinkFD ?? -1, e.maxBody, e.stall, 0,
                              progress, box.toOpaque(), &result)
            }
        }
        let message = withUnsafeBytes(of: result.error) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if code != 0 || result.status == 0 {
            let reason = message.isEmpty ? "no answer" : message
            if message.hasPrefix("cannot write") || message.hasPrefix("the answer is larger") || message.hasPrefix("https:// needs") {
                throw ClientError(reason)
            }
            throw TransportError(url: e.url, reason: result.timed_out != 0 ? "the request timed out" : reason)
        }
        var headers: [String: String] = [:]
        if let raw = result.headers {
            // Only the last answer's headers count (curl also passes on 1xx and redirect blocks).
            let text = String(cString: raw)
            let blocks = text.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }
            for line in (blocks.last ?? "").components(separatedBy: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let body = result.body.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: result.body_len)) } ?? []
        return HTTPAnswer(status: Int(result.status), headers: headers, body: body, received: result.received)
    }

    /// Calls `body` with a C array of C strings that lives for the call.
    static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer<CChar>($0) }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
