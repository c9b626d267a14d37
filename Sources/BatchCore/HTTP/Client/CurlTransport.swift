// The libcurl path, for https:// and proxies: one C call per request through CCurl, with handles kept in
// a pool so that connections (and TLS sessions) are reused across the requests of a command.
import CCurl
import Foundation

/// The progress closure, reachable from C through an opaque pointer.
private final class ProgressBox {
    let report: TransferProgress
    init(_ r: @escaping TransferProgress) { report = r }
}

/// One libcurl handle, used by one thread at a time.
private final class CurlSession {
    let handle: OpaquePointer?
    init() { handle = ccurl_session_new() }
    deinit { ccurl_session_free(handle) }
}

final class CurlTransport: @unchecked Sendable {
    // `idle` is guarded by `lock`; a session is used by the one thread that checked it out.
    private let configuration: HTTPClientConfiguration
    private let lock = NSLock()
    private var idle: [CurlSession] = []

    init(configuration: HTTPClientConfiguration) {
        self.configuration = configuration
    }

    /// Whether libcurl can be loaded here, and if not why.
    static func availability() -> (Bool, String) {
        var why = [CChar](repeating: 0, count: 320)
        let ok = ccurl_available(&why, why.count) != 0
        return (ok, String(cString: why))
    }

    func send(_ method: HTTPMethod, url: HTTPURL, headers: HTTPHeaders, body: [HTTPBodyPart]?, proxy: String?, deadline: Double?,
              sink: HTTPResponseSink, progress: TransferProgress?) throws -> HTTPClientResponse {
        lock.lock()
        let session = idle.popLast() ?? CurlSession()
        lock.unlock()
        defer {
            lock.lock()
            if idle.count < configuration.maxConnectionsPerHost { idle.append(session) }
            lock.unlock()
        }
        var lines: [String] = []
        for field in headers where !asciiCaseInsensitiveEquals(field.name, "Content-Length") && !asciiCaseInsensitiveEquals(field.name, "User-Agent") {
            lines.append("\(field.name): \(field.value)")
        }
        var fd: Int32 = -1
        var limit = 256 << 20
        switch sink {
        case let .memory(l): limit = l
        case let .file(descriptor): fd = descriptor
        }
        let box = progress.map { Unmanaged.passRetained(ProgressBox($0)) }
        defer { box?.release() }
        let report: ccurl_progress_fn = { context, done, total in
            guard let context else { return }
            Unmanaged<ProgressBox>.fromOpaque(context).takeUnretainedValue().report(done, total)
        }
        var total = 0.0
        if let deadline {
            total = deadline - monotonicSeconds()
            if total <= 0 {
                throw HTTPClientError(.timedOut, url: url.redacted, host: url.host, reason: "no answer within the timeout", requestSent: false)
            }
        }
        var result = ccurl_result()
        defer { ccurl_result_free(&result) }
        let parts = body ?? []
        // Keeps the C strings of paths and the bytes alive for the call.
        let paths = parts.map { part -> UnsafeMutablePointer<CChar>? in
            if case let .file(path, _) = part { return strdup(path) }
            return nil
        }
        defer { paths.forEach { free($0) } }
        let byteCopies = parts.map { part -> UnsafeMutableRawPointer? in
            guard case let .bytes(b) = part, !b.isEmpty else { return nil }
            let copy = UnsafeMutableRawPointer.allocate(byteCount: b.count, alignment: 1)
            b.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: b.count) }
            return copy
        }
        defer { byteCopies.forEach { $0?.deallocate() } }
        var cParts = parts.enumerated().map { i, part in
            ccurl_part(bytes: UnsafeRawPointer(byteCopies[i]), path: UnsafePointer(paths[i]), length: part.length)
        }
        let code: Int32 = withCStrings(lines) { headerPointers in
            withOptionalCString(configuration.trust.caFile) { caFile in
                withOptionalCString(configuration.trust.caDirectory) { caPath in
                    withOptionalCString(proxy) { proxyText in
                        configuration.userAgent.withCString { agent in
                            url.description.withCString { urlText in
                                method.rawValue.withCString { methodText in
                                    cParts.withUnsafeMutableBufferPointer { partBuffer in
                                        var request = ccurl_request(
                                            method: methodText, url: urlText, headers: headerPointers, header_count: Int32(lines.count),
                                            parts: UnsafePointer(partBuffer.baseAddress), part_count: Int32(partBuffer.count),
                                            has_body: body == nil ? 0 : 1, sink_fd: fd, max_body: limit,
                                            connect_timeout: configuration.connectTimeout, stall_timeout: configuration.stallTimeout,
                                            total_timeout: total, ca_file: caFile, ca_path: caPath, proxy: proxyText, user_agent: agent,
                                            progress: box == nil ? nil : report, context: box?.toOpaque())
                                        return ccurl_perform(session.handle, &request, &result)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let message = withUnsafeBytes(of: result.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if code != 0 || result.status == 0 {
            throw Self.error(result, message: message, url: url, limit: limit)
        }
        var responseHeaders = HTTPHeaders()
        if let raw = result.headers {
            // Only the last answer's header block counts (libcurl also passes on 1xx blocks).
            let text = String(cString: raw)
            let blocks = text.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }
            for line in (blocks.last ?? "").components(separatedBy: "\r\n").dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                responseHeaders.add(String(line[..<colon]), trimmingOptionalWhitespace(line[line.index(after: colon)...]))
            }
        }
        let answer = result.body.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: result.body_len)) } ?? []
        return HTTPClientResponse(status: Int(result.status), headers: responseHeaders, body: answer, streamedBytes: result.received, url: url)
    }

    private static func error(_ r: ccurl_result, message: String, url: HTTPURL, limit: Int) -> HTTPClientError {
        let sent = r.connected != 0
        func make(_ kind: HTTPClientError.Kind, _ reason: String, sent: Bool = sent) -> HTTPClientError {
            HTTPClientError(kind, url: url.redacted, host: url.host, reason: reason, requestSent: sent)
        }
        let text = message.isEmpty ? "no answer" : message
        switch r.kind {
        case CCURL_UNAVAILABLE: return make(.libcurlUnavailable, text, sent: false)
        case CCURL_RESOLVE: return make(.resolve, text, sent: false)
        case CCURL_CONNECT: return make(.connect, text, sent: false)
        case CCURL_TIMEOUT: return make(.timedOut, sent ? "no answer within the timeout (\(text))" : "connecting timed out (\(text))")
        case CCURL_TLS_CERTIFICATE: return make(.tlsCertificate, text, sent: false)
        case CCURL_TLS: return make(.tls, text, sent: false)
        case CCURL_SEND, CCURL_RECEIVE: return make(.connectionLost, text)
        case CCURL_TOO_LARGE: return make(.responseTooLarge, "the answer is larger than \(limit) bytes")
        case CCURL_SINK_WRITE: return make(.sinkWrite(r.sink_errno), "cannot write the answer: \(String(cString: strerror(r.sink_errno)))")
        case CCURL_UPLOAD_READ: return make(.bodyRead(r.sink_errno), "cannot read the request body: \(String(cString: strerror(r.sink_errno)))")
        case CCURL_MALFORMED: return make(.invalidURL, text, sent: false)
        case CCURL_OK: return make(.badResponse, "no HTTP answer")
        default: return make(.other, text)
        }
    }
}

/// Calls `body` with a C array of C strings that lives for the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer<CChar>($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}

private func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}

extension HTTPClient {
    /// Whether https:// can work on this machine (libcurl loads), and if not why.
    public static var httpsAvailability: (available: Bool, reason: String) { CurlTransport.availability() }
}
