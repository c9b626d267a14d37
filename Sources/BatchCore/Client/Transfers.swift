// File transfers: multipart `:upload`, signed-URL PUT and streamed downloads, all from and to disk with
// flat memory, reporting progress, and never leaving a partial file under its final name.
import BatchAPI
import BatchJSONL
import Foundation

/// Temporary files to remove if the process is interrupted (Ctrl-C) before they are renamed into place.
public final class TemporaryFiles: @unchecked Sendable {
    public static let shared = TemporaryFiles()
    private let lock = NSLock()
    private var paths: Set<String> = []

    public func add(_ path: String) { lock.lock(); paths.insert(path); lock.unlock() }
    public func remove(_ path: String) { lock.lock(); paths.remove(path); lock.unlock() }
    public func removeAll() {
        lock.lock(); defer { lock.unlock() }
        for p in paths { unlink(p) }
        paths.removeAll()
    }
}

/// Bytes moved so far and the total when known.
public typealias TransferProgress = (_ done: Int64, _ total: Int64) -> Void

extension GatewayClient {
    /// `POST <dataset>:upload` as multipart/form-data with the file in field `file`. The multipart body is
    /// assembled in a temporary file by streaming copies, so memory stays flat whatever the size.
    public func uploadMultipart(dataset: ResourceName, filePath: String, fileName: String,
                                progress: @escaping TransferProgress) throws -> JSONValue? {
        let url = options.baseURL + Endpoints.uploadPath(dataset)
        let boundary = "batchctl-" + UUID().uuidString
        let size = try fileSize(filePath)
        if options.dryRun {
            printDryRun(method: "POST", url: url, headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")],
                        body: "<multipart body: field \"file\", filename \"\(fileName)\", \(size) bytes from \(filePath)>")
            return nil
        }
        let head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(fileName)\"\r\n"
            + "Content-Type: application/octet-stream\r\n\r\n"
        let tail = "\r\n--\(boundary)--\r\n"
        let bodyPath = NSTemporaryDirectory() + "batchctl-upload-\(getpid())-\(UUID().uuidString).multipart"
        TemporaryFiles.shared.add(bodyPath)
        defer { unlink(bodyPath); TemporaryFiles.shared.remove(bodyPath) }
        try StreamCopy.write(parts: [.bytes(Array(head.utf8)), .file(filePath), .bytes(Array(tail.utf8))], to: bodyPath)
        let total = try fileSize(bodyPath)

        var headers = [("Content-Type", "multipart/form-data; boundary=\(boundary)")]
        if let key = options.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        let result = try HTTPTransport.perform(HTTPExchange(method: "POST", url: url, headers: headers, uploadPath: bodyPath,
                                                            uploadSize: total, stall: max(options.timeout, 60), progress: progress))
        guard (200..<300).contains(result.status) else { throw GatewayError(httpStatus: result.status, body: result.body) }
        return try? JSONValue(parsing: result.body)
    }

    /// `PUT <signedUrl>` with the raw bytes and the headers Google Cloud Storage signed URLs require; no
    /// Fireworks credentials go to the storage host.
    public func putSignedURL(_ url: String, filePath: String, progress: @escaping TransferProgress) throws {
        let size = try fileSize(filePath)
        let headers = [("Content-Type", "application/octet-stream"), ("X-Goog-Content-Length-Range", "\(size),\(size)")]
        if options.dryRun {
            printDryRun(method: "PUT", url: url, headers: headers, body: "<\(size) bytes from \(filePath)>")
            return
        }
        let result = try HTTPTransport.perform(HTTPExchange(method: "PUT", url: url, headers: headers, uploadPath: filePath,
                                                            uploadSize: size, stall: max(options.timeout, 60), progress: progress))
        guard (200..<300).contains(result.status) else { throw GatewayError(httpStatus: result.status, body: result.body) }
    }

    /// Streams `url` into `temporaryPath` (created, truncated). Returns the byte count; throws GatewayError
    /// with the HTTP status for an error answer (403/404 from an expired URL included).
    public func download(_ url: String, to temporaryPath: String, progress: @escaping TransferProgress) throws -> Int64 {
        guard FileManager.default.createFile(atPath: temporaryPath, contents: nil),
              let handle = FileHandle(forWritingAtPath: temporaryPath) else {
            throw ClientError("cannot create \(temporaryPath): \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        let result = try HTTPTransport.perform(HTTPExchange(method: "GET", url: url, sinkFD: handle.fileDescriptor,
                                                            stall: max(options.timeout, 60), progress: progress))
        guard (200..<300).contains(result.status) else { throw GatewayError(httpStatus: result.status, body: result.body) }
        try handle.synchronize()
        return result.received
    }

    func fileSize(_ path: String) throws -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw ClientError("cannot read \(path): \(String(cString: strerror(errno)))") }
        return Int64(info.st_size)
    }
}

/// Concatenates byte strings and files into a new file in 1 MiB steps.
public enum StreamCopy {
    public enum Part { case bytes([UInt8]); case file(String) }

    public static func write(parts: [Part], to path: String) throws {
        let out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard out >= 0 else { throw ClientError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(out) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        func writeAll(_ pointer: UnsafeRawPointer, _ count: Int) throws {
            var done = 0
            while done < count {
                let n = Glibc.write(out, pointer + done, count - done)
                if n < 0 { if errno == EINTR { continue }; throw ClientError("cannot write \(path): \(String(cString: strerror(errno)))") }
                done += n
            }
        }
        for part in parts {
            switch part {
            case let .bytes(b): try b.withUnsafeBytes { try writeAll($0.baseAddress!, $0.count) }
            case let .file(source):
                let input = open(source, O_RDONLY)
                guard input >= 0 else { throw ClientError("cannot read \(source): \(String(cString: strerror(errno)))") }
                defer { close(input) }
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
                    if n < 0 { if errno == EINTR { continue }; throw ClientError("cannot read \(source): \(String(cString: strerror(errno)))") }
                    if n == 0 { break }
                    try buffer.withUnsafeBytes { try writeAll($0.baseAddress!, n) }
                }
            }
        }
    }
}

/// Signed-URL PUT and GET over a plain socket, for `http://` URLs (the local gateway) when no proxy is
/// configured. (Measured against swift-corelibs-foundation's URLSession, which hands every 16-48 KiB piece to a delegate queue with no
/// backpressure (a 1 GB download peaked at ~150 MiB RSS) and re-reads a file body's attributes for every
/// piece it sends; here the file goes out with sendfile(2) and comes in with 1 MiB reads. HTTP/1.0 requests,
/// so the answer is never chunked: it ends at its Content-Length or when the server closes. `https://`
/// goes through libcurl (`CurlTransport`).)
/// `sync_file_range(2)`: asks the kernel to start writing a range back without waiting for it. It is a GNU
/// extension that Swift's Glibc module does not export, so it is looked up by name.
private let startWriteback: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self)
}()

struct PlainHTTPTransfer {
    let host: String
    let port: Int
    let target: String
    let timeout: Double

    init?(_ url: URL, timeout: Double) {
        let env = ProcessInfo.processInfo.environment
        let proxied = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"].contains { !(env[$0] ?? "").isEmpty }
        guard url.scheme?.lowercased() == "http", !proxied, let host = url.host, !host.isEmpty, url.user == nil,
              let components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return nil }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        port = url.port ?? 80
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        target = path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        self.timeout = timeout
    }

    private func fail(_ what: String, _ code: Int32 = errno) -> Error {
        TransportError(url: "http://\(host):\(port)\(target.prefix(40))", reason: "\(what): \(String(cString: strerror(code)))")
    }

    private func connectSocket() throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw TransportError(url: "http://\(host):\(port)", reason: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let a = entry {
            entry = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if fd < 0 { lastError = errno; continue }
            var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            if connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return fd }
            lastError = errno
            close(fd)
        }
        throw fail("cannot connect", lastError)
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR { continue }; throw fail("cannot send the request") }
            done += n
        }
    }

    /// Sends the request (with the file as the body when `uploadFrom` is set) and reads the answer: a 2xx
    /// body goes to `sink` when given, any other body (up to 1 MiB) is returned for decoding.
    func run(method: String, headers: [(String, String)], body requestBody: [UInt8]? = nil, uploadFrom path: String?,
             uploadSize: Int64, sink: Int32?, maxBody: Int = 1 << 20, progress: TransferProgress) throws -> HTTPAnswer {
        let fd = try connectSocket()
        defer { close(fd) }
        var head = "\(method) \(target) HTTP/1.0\r\nHost: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\n"
        head += "User-Agent: batchctl\r\nAccept-Encoding: identity\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if path != nil { head += "Content-Length: \(uploadSize)\r\n" }
        if let requestBody { head += "Content-Length: \(requestBody.count)\r\n" }
        try sendAll(fd, Array((head + "\r\n").utf8) + (requestBody ?? []))
        if let path {
            let file = open(path, O_RDONLY | O_CLOEXEC)
            guard file >= 0 else { throw ClientError("cannot read \(path): \(String(cString: strerror(errno)))") }
            defer { close(file) }
            var offset: off_t = 0
            while Int64(offset) < uploadSize {
                let n = sendfile(fd, file, &offset, Int(min(Int64(8 << 20), uploadSize - Int64(offset))))
                if n < 0 { if errno == EINTR { continue }; throw fail("cannot send the file") }
                if n == 0 { throw ClientError("\(path) shrank while it was being uploaded") }
                progress(Int64(offset), uploadSize)
            }
        }
        // The answer: status line and headers, then the body.
        let capacity = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        func receive(_ at: Int) throws -> Int {
            while true {
                let n = recv(fd, buffer + at, capacity - at, 0)
                if n >= 0 { return n }
                if errno == EINTR { continue }
                throw fail(errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : "cannot read the answer")
            }
        }
        var filled = 0
        var headEnd = -1
        while headEnd < 0 {
            let n = try receive(filled)
            if n == 0 { throw fail("the server closed the connection before answering", ECONNRESET) }
            let from = max(0, filled - 3)
            filled += n
            let bytes = buffer.assumingMemoryBound(to: UInt8.self)
            var i = from
            while i + 3 < filled {
                if bytes[i] == 13, bytes[i + 1] == 10, bytes[i + 2] == 13, bytes[i + 3] == 10 { headEnd = i + 4; break }
                i += 1
            }
            if headEnd < 0, filled > 64 * 1024 { throw fail("answer header too large", EMSGSIZE) }
        }
        let headText = String(decoding: UnsafeRawBufferPointer(start: buffer, count: headEnd), as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusParts = lines.removeFirst().split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw fail("malformed answer", EPROTO)
        }
        var headersOut: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headersOut[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = headersOut["content-length"].flatMap { Int64($0) }
        let toFile = sink != nil && (200..<300).contains(status)
        var received: Int64 = 0
        var flushedTo: Int64 = 0
        var body: [UInt8] = []
        func consume(_ start: Int, _ count: Int) throws {
            guard count > 0 else { return }
            if toFile, let sink {
                var done = 0
                while done < count {
                    let n = write(sink, buffer + start + done, count - done)
                    if n < 0 { if errno == EINTR { continue }; throw ClientError("cannot write the download: \(String(cString: strerror(errno)))") }
                    done += n
                }
                received += Int64(count)
                // Start writeback every 16 MiB so the fsync before the final rename has little left to do.
                if received - flushedTo >= 16 << 20 {
                    _ = startWriteback?(sink, flushedTo, received - flushedTo, 2 /* SYNC_FILE_RANGE_WRITE */)
                    flushedTo = received
                }
                progress(received, length ?? -1)
            } else {
                guard body.count + count <= maxBody else { throw ClientError("the answer is larger than \(maxBody) bytes") }
                body += UnsafeRawBufferPointer(start: buffer + start, count: count)
            }
        }
        try consume(headEnd, filled - headEnd)
        var total = Int64(filled - headEnd)
        while length.map({ total < $0 }) ?? true {
            let n = try receive(0)
            if n == 0 { break }
            total += Int64(n)
            try consume(0, n)
        }
        if let length, total < length { throw fail("the connection closed after \(total) of \(length) bytes", ECONNRESET) }
        return HTTPAnswer(status: status, headers: headersOut, body: body, received: received)
    }
}
