// The plain http:// path: HTTP/1.1 over our own sockets, a keep-alive pool per host:port, request bodies
// streamed from memory or files (sendfile), answers streamed to memory or a file descriptor.
import Foundation
import Glibc

/// `sync_file_range(2)`: asks the kernel to start writing a range back without waiting for it, so the fsync
/// before a download's rename has little left to do. A GNU extension Swift's Glibc does not export.
private let startWriteback: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self)
}()

/// A kept-alive connection that the server had closed: the request never reached it and may be sent again.
private struct StaleConnection: Error {}

/// One connection: its socket and a read buffer. Used by one thread at a time (checked out of the pool).
final class ClientConnection {
    let fd: Int32
    private(set) var buffer: UnsafeMutableRawPointer
    private(set) var capacity: Int
    var start = 0, end = 0
    var lastUsed = monotonicSeconds()
    /// The SO_RCVTIMEO now on the socket, changed only when a wait needs another value.
    private var receiveTimeout: Double
    /// Whether any byte of the current answer arrived (a failure before that on a reused connection is stale).
    var answerStarted = false

    init(fd: Int32, stall: Double) {
        self.fd = fd
        capacity = 16 << 10
        buffer = .allocate(byteCount: capacity, alignment: 16)
        receiveTimeout = stall
        SocketTimeout.set(fd, SO_RCVTIMEO, stall)
        SocketTimeout.set(fd, SO_SNDTIMEO, stall)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    /// A kept-alive socket that turned readable while idle was closed (or spoke out of turn): do not reuse it.
    var looksClosed: Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN) | 0x2000 /* POLLRDHUP */, revents: 0)
        return poll(&p, 1, 0) != 0
    }

    func grow(to size: Int) {
        guard size > capacity else { return }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        bigger.copyMemory(from: buffer + start, byteCount: end - start)
        buffer.deallocate()
        buffer = bigger
        capacity = size
        end -= start
        start = 0
    }

    /// Reads what the socket has (at least one byte) after `end`; false at the end of the stream. Each wait is
    /// bounded by `stall`, and all of them by `deadline`.
    func receive(stall: Double, deadline: Double?) throws -> Bool {
        if end == capacity {
            if start > 0 {
                memmove(buffer, buffer + start, end - start)
                end -= start
                start = 0
            } else {
                grow(to: capacity * 2)
            }
        }
        let began = monotonicSeconds()
        while true {
            var wait = stall
            if let deadline { wait = min(wait, deadline - began) }
            let waited = monotonicSeconds() - began
            if wait - waited <= 0 { throw SocketFailure.timedOut }
            // setsockopt only when the socket would wait materially longer than allowed (a deadline close by);
            // a fast answer on a kept-alive connection then costs no extra system call.
            if receiveTimeout > (wait - waited) + max(0.005, receiveTimeout * 0.01) {
                receiveTimeout = wait - waited
                SocketTimeout.set(fd, SO_RCVTIMEO, receiveTimeout)
            }
            let n = recv(fd, buffer + end, capacity - end, 0)
            if n > 0 { end += n; answerStarted = true; return true }
            if n == 0 { return false }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK {
                // The socket's timeout may be shorter than this wait (lowered for an earlier deadline): stretch it.
                let left = wait - (monotonicSeconds() - began)
                if left <= 0.001 { throw SocketFailure.timedOut }
                receiveTimeout = left
                SocketTimeout.set(fd, SO_RCVTIMEO, left)
                continue
            }
            if code == ECONNRESET { return false }
            throw SocketFailure.failed(code)
        }
    }

    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try TCPSocket.sendAll(fd, $0) }
    }

    /// Sends `length` bytes of the file at `path` with sendfile(2).
    func sendFile(_ path: String, length: Int64, progress: (Int64) -> Void) throws {
        let file = open(path, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { throw HTTPClientError.Kind.bodyRead(errno) }
        defer { close(file) }
        var offset: off_t = 0
        while Int64(offset) < length {
            let n = sendfile(fd, file, &offset, Int(min(Int64(8 << 20), length - Int64(offset))))
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { throw SocketFailure.timedOut }
                if code == EPIPE || code == ECONNRESET { throw SocketFailure.closed(code) }
                throw SocketFailure.failed(code)
            }
            if n == 0 { throw HTTPClientError.Kind.bodyRead(ENODATA) }  // the file shrank while it was sent
            progress(Int64(offset))
        }
    }

    /// The index of the blank line's CRLFCRLF (or LFLF) after `start`, or -1; `skip` says how long it is.
    func findHeadEnd() -> (end: Int, skip: Int)? {
        let bytes = buffer.assumingMemoryBound(to: UInt8.self)
        var i = start
        while i + 1 < end {
            if bytes[i] == 10 {
                if bytes[i + 1] == 10 { return (i, 2) }
                if i + 2 < end, bytes[i + 1] == 13, bytes[i + 2] == 10 { return (i, 3) }
            }
            i += 1
        }
        return nil
    }

    /// A line ending in CRLF (or LF) at `start`, without its end; nil when none is buffered yet.
    func takeLine() -> [UInt8]? {
        let bytes = buffer.assumingMemoryBound(to: UInt8.self)
        var i = start
        while i < end {
            if bytes[i] == 10 {
                var lineEnd = i
                if lineEnd > start, bytes[lineEnd - 1] == 13 { lineEnd -= 1 }
                let line = Array(UnsafeBufferPointer(start: bytes + start, count: lineEnd - start))
                start = i + 1
                return line
            }
            i += 1
        }
        return nil
    }
}

/// Answers' bodies on their way to memory or to a file.
private struct BodySink {
    let limit: Int
    let fd: Int32?
    var memory: [UInt8] = []
    var streamed: Int64 = 0
    var flushedTo: Int64 = 0
    let total: Int64
    let progress: TransferProgress?

    mutating func take(_ pointer: UnsafeRawPointer, _ count: Int) throws {
        guard count > 0 else { return }
        if let fd {
            var done = 0
            while done < count {
                let n = write(fd, pointer + done, count - done)
                if n < 0 { if errno == EINTR { continue }; throw HTTPClientError.Kind.sinkWrite(errno) }
                done += n
            }
            streamed += Int64(count)
            if streamed - flushedTo >= 16 << 20 {
                _ = startWriteback?(fd, flushedTo, streamed - flushedTo, 2 /* SYNC_FILE_RANGE_WRITE */)
                flushedTo = streamed
            }
            progress?(streamed, total)
        } else {
            guard memory.count + count <= limit else { throw HTTPClientError.Kind.responseTooLarge }
            memory.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: count))
        }
    }
}

/// Connections to one host:port: at most `maxConnections` open, idle ones kept for the next request.
private final class ConnectionPool: @unchecked Sendable {
    // `idle` and `open` are guarded by `lock` (NSCondition), the only shared state here.
    let host: String
    let port: Int
    let maxConnections: Int
    private let lock = NSCondition()
    private var idle: [ClientConnection] = []
    private var open = 0

    init(host: String, port: Int, maxConnections: Int) {
        self.host = host; self.port = port; self.maxConnections = maxConnections
    }

    /// A connection, reused when one is idle (`reused` true), else new once the pool has room.
    func checkOut(allowReuse: Bool, connectDeadline: Double, stall: Double) throws -> (ClientConnection, reused: Bool) {
        lock.lock()
        while true {
            if allowReuse, let connection = idle.popLast() {
                // Servers drop idle keep-alive connections (uvicorn after 5 s): sniff ones idle a while.
                if monotonicSeconds() - connection.lastUsed > 1, connection.looksClosed { open -= 1; continue }
                lock.unlock()
                return (connection, true)
            }
            if open < maxConnections { break }
            if !allowReuse, let connection = idle.popLast() { open -= 1; _ = connection; continue }
            let left = connectDeadline - monotonicSeconds()
            if left <= 0 || (!lock.wait(until: Date(timeIntervalSinceNow: left)) && monotonicSeconds() >= connectDeadline) {
                lock.unlock()
                throw SocketFailure.connectTimedOut
            }
        }
        open += 1
        lock.unlock()
        do {
            let fd = try TCPSocket.connect(host: host, port: port, deadline: connectDeadline)
            return (ClientConnection(fd: fd, stall: stall), false)
        } catch {
            checkIn(nil)
            throw error
        }
    }

    /// Returns a connection for reuse, or nil when it was closed.
    func checkIn(_ connection: ClientConnection?) {
        lock.lock()
        if let connection { connection.lastUsed = monotonicSeconds(); idle.append(connection) } else { open -= 1 }
        lock.signal()
        lock.unlock()
    }
}

final class SocketTransport: @unchecked Sendable {
    // `pools` is guarded by `lock`; each pool guards itself.
    private let configuration: HTTPClientConfiguration
    private let lock = NSLock()
    private var pools: [String: ConnectionPool] = [:]

    init(configuration: HTTPClientConfiguration) {
        self.configuration = configuration
    }

    private func pool(for url: HTTPURL) -> ConnectionPool {
        let key = "\(url.host)|\(url.port)"
        lock.lock(); defer { lock.unlock() }
        if let pool = pools[key] { return pool }
        let pool = ConnectionPool(host: url.host, port: url.port, maxConnections: configuration.maxConnectionsPerHost)
        pools[key] = pool
        return pool
    }

    func send(_ method: HTTPMethod, url: HTTPURL, headers: HTTPHeaders, body: [HTTPBodyPart]?, deadline: Double?,
              sink: HTTPResponseSink, progress: TransferProgress?) throws -> HTTPClientResponse {
        var head = "\(method.rawValue) \(url.target) HTTP/1.1\r\nHost: \(url.authority)\r\nUser-Agent: \(configuration.userAgent)\r\n"
        for field in headers {
            if asciiCaseInsensitiveEquals(field.name, "Content-Length") || asciiCaseInsensitiveEquals(field.name, "Host")
                || asciiCaseInsensitiveEquals(field.name, "Connection") || asciiCaseInsensitiveEquals(field.name, "User-Agent") { continue }
            head += "\(field.name): \(field.value)\r\n"
        }
        let length = body?.reduce(Int64(0)) { $0 + $1.length } ?? 0
        if body != nil || method == .post || method == .put || method == .patch { head += "Content-Length: \(length)\r\n" }
        head += "\r\n"
        return try exchange(url: url, method: method, deadline: deadline, sink: sink, progress: progress) { connection in
            var bytes = Array(head.utf8)
            var sent: Int64 = 0
            // Small in-memory parts ride in the same send as the head.
            var parts = body ?? []
            while case let .bytes(b)? = parts.first, bytes.count + b.count <= 64 << 10 {
                bytes += b; sent += Int64(b.count); parts.removeFirst()
            }
            try connection.send(bytes)
            for part in parts {
                switch part {
                case let .bytes(b):
                    try connection.send(b); sent += Int64(b.count); progress?(sent, length)
                case let .file(path, fileLength):
                    let before = sent
                    try connection.sendFile(path, length: fileLength) { progress?(before + $0, length) }
                    sent += fileLength
                }
            }
        }
    }

    func sendPrepared(_ prepared: HTTPClient.PreparedRequest, body: [UInt8], deadline: Double, maxResponseBytes: Int) throws -> HTTPClientResponse {
        var message = prepared.headPrefix
        message.reserveCapacity(message.count + 24 + body.count)
        message.append(contentsOf: String(body.count).utf8)
        message.append(contentsOf: [13, 10, 13, 10])
        message.append(contentsOf: body)
        return try exchange(url: prepared.url, method: prepared.method, deadline: deadline, sink: .memory(limit: maxResponseBytes),
                            progress: nil) { try $0.send(message) }
    }

    /// Checks out a connection, writes the request with `write`, reads the answer; a reused connection the server
    /// had closed is replaced once, transparently.
    private func exchange(url: HTTPURL, method: HTTPMethod, deadline: Double?, sink: HTTPResponseSink,
                          progress: TransferProgress?, write: (ClientConnection) throws -> Void) throws -> HTTPClientResponse {
        let pool = pool(for: url)
        let stall = configuration.stallTimeout
        var allowReuse = true
        while true {
            let connectDeadline = min(deadline ?? .infinity, monotonicSeconds() + configuration.connectTimeout)
            let connection: ClientConnection, reused: Bool
            do {
                (connection, reused) = try pool.checkOut(allowReuse: allowReuse, connectDeadline: connectDeadline, stall: stall)
            } catch let failure as SocketFailure {
                throw Self.error(failure, url: url, sent: false)
            }
            connection.answerStarted = false
            do {
                try write(connection)
                let (response, keepAlive) = try readResponse(connection, url: url, method: method, stall: stall, deadline: deadline,
                                                             sink: sink, progress: progress)
                pool.checkIn(keepAlive ? connection : nil)
                return response
            } catch {
                pool.checkIn(nil)
                let stale: Bool
                switch error {
                case is StaleConnection: stale = true
                case let failure as SocketFailure:
                    if case .closed = failure { stale = !connection.answerStarted } else { stale = false }
                default: stale = false
                }
                if stale && reused { allowReuse = false; continue }
                if stale { throw HTTPClientError(.connectionLost, url: url.redacted, host: url.host,
                                                 reason: "the server closed the connection without answering", requestSent: true) }
                if let failure = error as? SocketFailure { throw Self.error(failure, url: url, sent: true) }
                if let kind = error as? HTTPClientError.Kind {
                    throw HTTPClientError(kind, url: url.redacted, host: url.host, reason: Self.reason(kind), requestSent: true)
                }
                throw error
            }
        }
    }

    private func readResponse(_ c: ClientConnection, url: HTTPURL, method: HTTPMethod, stall: Double, deadline: Double?,
                              sink: HTTPResponseSink, progress: TransferProgress?) throws -> (HTTPClientResponse, Bool) {
        func bad(_ reason: String) -> HTTPClientError {
            HTTPClientError(.badResponse, url: url.redacted, host: url.host, reason: reason, requestSent: true)
        }
        while true {
            var headEnd: (end: Int, skip: Int)?
            while true {
                headEnd = c.findHeadEnd()
                if headEnd != nil { break }
                if c.end - c.start > 64 << 10 { throw bad("response headers larger than 64 KiB") }
                if try !c.receive(stall: stall, deadline: deadline) {
                    if c.end == c.start { throw StaleConnection() }
                    throw HTTPClientError(.connectionLost, url: url.redacted, host: url.host,
                                          reason: "the connection closed in the middle of the response headers", requestSent: true)
                }
            }
            guard let headEnd else { continue }
            let head: HTTPResponseHead
            do {
                head = try HTTPResponseHead(parsing: UnsafeBufferPointer(start: (c.buffer + c.start).assumingMemoryBound(to: UInt8.self),
                                                                        count: headEnd.end - c.start), method: method)
            } catch let error as HTTPFieldError {
                throw bad(error.message)
            }
            c.start = headEnd.end + headEnd.skip
            if head.status < 200 { continue }  // 100 Continue and friends come before the answer.

            var fd: Int32?
            var limit = 256 << 20
            switch sink {
            case let .memory(l): limit = l
            case let .file(descriptor):
                if (200..<300).contains(head.status) { fd = descriptor; c.grow(to: 1 << 20) } else { limit = 1 << 20 }
            }
            var length: Int64 = -1
            if case let .length(n) = head.framing { length = Int64(n) }
            var body = BodySink(limit: limit, fd: fd, total: length, progress: progress)
            var keepAlive = head.keepAlive
            do {
                switch head.framing {
                case .none:
                    break
                case let .length(n):
                    if fd == nil, n > limit { throw HTTPClientError.Kind.responseTooLarge }
                    var left = n
                    while left > 0 {
                        if c.end == c.start {
                            c.start = 0; c.end = 0
                            if try !c.receive(stall: stall, deadline: deadline) {
                                throw HTTPClientError(.connectionLost, url: url.redacted, host: url.host,
                                                      reason: "the connection closed after \(n - left) of \(n) body bytes", requestSent: true)
                            }
                        }
                        let take = min(left, c.end - c.start)
                        try body.take(c.buffer + c.start, take)
                        c.start += take
                        left -= take
                    }
                case .chunked:
                    try readChunked(c, into: &body, stall: stall, deadline: deadline, url: url)
                case .untilClose:
                    keepAlive = false
                    while true {
                        try body.take(c.buffer + c.start, c.end - c.start)
                        c.start = 0; c.end = 0
                        if try !c.receive(stall: stall, deadline: deadline) { break }
                    }
                }
            } catch let kind as HTTPClientError.Kind {
                throw HTTPClientError(kind, url: url.redacted, host: url.host, reason: Self.reason(kind), requestSent: true)
            }
            // Bytes after the answer mean the stream is out of step: start afresh next time.
            if c.start != c.end { keepAlive = false }
            c.start = 0; c.end = 0
            return (HTTPClientResponse(status: head.status, headers: head.headers, body: body.memory, streamedBytes: body.streamed,
                                       url: url), keepAlive)
        }
    }

    private func readChunked(_ c: ClientConnection, into body: inout BodySink, stall: Double, deadline: Double?, url: HTTPURL) throws {
        func lost() -> HTTPClientError {
            HTTPClientError(.connectionLost, url: url.redacted, host: url.host, reason: "the connection closed in the middle of a chunked body",
                            requestSent: true)
        }
        func line() throws -> [UInt8] {
            while true {
                if let l = c.takeLine() { return l }
                if c.end - c.start > 8192 {
                    throw HTTPClientError(.badResponse, url: url.redacted, host: url.host, reason: "chunk framing line too long", requestSent: true)
                }
                if try !c.receive(stall: stall, deadline: deadline) { throw lost() }
            }
        }
        while true {
            let size: Int
            do { size = try HTTPChunked.parseSize(try line()) } catch let error as HTTPFieldError {
                throw HTTPClientError(.badResponse, url: url.redacted, host: url.host, reason: error.message, requestSent: true)
            }
            if size == 0 {
                while try !line().isEmpty {}  // trailers
                return
            }
            var left = size
            while left > 0 {
                if c.end == c.start {
                    c.start = 0; c.end = 0
                    if try !c.receive(stall: stall, deadline: deadline) { throw lost() }
                }
                let take = min(left, c.end - c.start)
                try body.take(c.buffer + c.start, take)
                c.start += take
                left -= take
            }
            guard try line().isEmpty else {
                throw HTTPClientError(.badResponse, url: url.redacted, host: url.host, reason: "chunk not followed by CRLF", requestSent: true)
            }
        }
    }

    static func reason(_ kind: HTTPClientError.Kind) -> String {
        switch kind {
        case let .sinkWrite(code): return "cannot write the answer: \(errnoText(code))"
        case let .bodyRead(code): return code == ENODATA ? "a file of the request body shrank while it was sent" : "cannot read the request body: \(errnoText(code))"
        case .responseTooLarge: return "the answer is larger than allowed"
        default: return "\(kind)"
        }
    }

    static func error(_ failure: SocketFailure, url: HTTPURL, sent: Bool) -> HTTPClientError {
        let at = "\(url.host):\(url.port)"
        switch failure {
        case let .resolve(text): return HTTPClientError(.resolve, url: url.redacted, host: url.host, reason: "cannot resolve \(url.host): \(text)", requestSent: false)
        case let .connect(text): return HTTPClientError(.connect, url: url.redacted, host: url.host, reason: "cannot connect to \(at): \(text)", requestSent: false)
        case .connectTimedOut: return HTTPClientError(.timedOut, url: url.redacted, host: url.host, reason: "connecting to \(at) timed out", requestSent: false)
        case .timedOut: return HTTPClientError(.timedOut, url: url.redacted, host: url.host, reason: "no answer within the timeout", requestSent: sent)
        case let .closed(code): return HTTPClientError(.connectionLost, url: url.redacted, host: url.host, reason: "connection lost: \(errnoText(code))", requestSent: sent)
        case let .failed(code): return HTTPClientError(.connectionLost, url: url.redacted, host: url.host, reason: "connection failed: \(errnoText(code))", requestSent: sent)
        }
    }
}

extension HTTPClientError.Kind: Error {}
