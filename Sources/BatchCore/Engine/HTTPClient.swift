// A small blocking HTTP/1.1 client over sockets with a keep-alive connection pool, for the inference backend.
//
// URLSession on Linux costs tens of microseconds and several thread hops per request; the engine sends
// ten thousand requests a second from its own worker threads, so each worker simply borrows a connection,
// writes the request and blocks in recv for the answer (SO_RCVTIMEO bounds the wait).
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct HTTPResponse {
    var status: Int
    var body: [UInt8]
    /// The only header the backend needs after the body is read.
    var retryAfter: String?
}

enum HTTPClientError: Error, Equatable {
    case connectFailed(String)
    case timedOut(String)
    case connectionLost(String)
    case badResponse(String)
}

/// What the engine needs from a response's status line and headers.
struct ResponseHead {
    var status = 0
    var contentLength: Int?
    var chunked = false
    var keepAlive = true
    var retryAfter: String?

    /// Parses `HTTP/1.x NNN reason` and the header lines (without the final blank line); nil when malformed.
    init?(_ bytes: ArraySlice<UInt8>) {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line -> ArraySlice<UInt8> in
            line.last == 0x0D ? line.dropLast() : line
        }
        guard !lines.isEmpty else { return nil }
        let statusLine = lines.removeFirst()
        let prefix: [UInt8] = Array("HTTP/1.".utf8)
        guard statusLine.count >= 12, statusLine.starts(with: prefix), statusLine[statusLine.startIndex + 8] == 0x20 else { return nil }
        let http10 = statusLine[statusLine.startIndex + 7] == UInt8(ascii: "0")
        var code = 0
        for byte in statusLine[(statusLine.startIndex + 9)..<(statusLine.startIndex + 12)] {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            code = code * 10 + Int(byte - 0x30)
        }
        guard code >= 100 else { return nil }
        status = code
        var connection: ArraySlice<UInt8> = []
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            let name = line[..<colon]
            var value = line[(colon + 1)...]
            while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
            while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
            if Self.equalsLowercased(name, "content-length") {
                var length = 0
                guard !value.isEmpty, value.count <= 18 else { return nil }
                for byte in value {
                    guard byte >= 0x30 && byte <= 0x39 else { return nil }
                    length = length * 10 + Int(byte - 0x30)
                }
                contentLength = length
            } else if Self.equalsLowercased(name, "transfer-encoding") {
                chunked = Self.contains(value, "chunked")
            } else if Self.equalsLowercased(name, "connection") {
                connection = value
            } else if Self.equalsLowercased(name, "retry-after") {
                retryAfter = String(decoding: value, as: UTF8.self)
            }
        }
        keepAlive = http10 ? Self.contains(connection, "keep-alive") : !Self.contains(connection, "close")
    }

    /// ASCII case-insensitive comparison with a lowercase name.
    static func equalsLowercased(_ bytes: ArraySlice<UInt8>, _ name: StaticString) -> Bool {
        guard bytes.count == name.utf8CodeUnitCount else { return false }
        var i = 0
        for byte in bytes {
            let lower = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
            if lower != name.utf8Start[i] { return false }
            i += 1
        }
        return true
    }

    static func contains(_ bytes: ArraySlice<UInt8>, _ word: StaticString) -> Bool {
        let lowered = bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        let needle = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard lowered.count >= needle.count else { return false }
        for start in 0...(lowered.count - needle.count) where lowered[start..<start + needle.count].elementsEqual(needle) { return true }
        return false
    }
}

/// A connection closed by the server while idle; the request never reached it and may be sent again.
private struct StaleConnection: Error {}

private func monotonicNow() -> TimeInterval {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return TimeInterval(ts.tv_sec) + TimeInterval(ts.tv_nsec) / 1e9
}

private func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

final class HTTPConnection {
    let fd: Int32
    var buffer = [UInt8](repeating: 0, count: 16 << 10)
    var start = 0, end = 0
    var lastUsed = monotonicNow()
    /// The SO_RCVTIMEO now set on the socket, so that it is only changed when a deadline needs it.
    var receiveTimeout: TimeInterval

    init(fd: Int32, receiveTimeout: TimeInterval) {
        self.fd = fd
        self.receiveTimeout = receiveTimeout
    }

    deinit { close(fd) }

    /// A kept-alive socket that turned readable while idle was closed (or spoke out of turn): do not reuse it.
    var looksClosed: Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN) | 0x2000 /* POLLRDHUP */, revents: 0)
        return poll(&p, 1, 0) != 0
    }

    static func setTimeout(_ fd: Int32, _ option: Int32, _ seconds: TimeInterval) {
        let s = max(0.001, min(seconds, 86_400 * 365))  // Int(s) below must not trap on a silly timeout
        var tv = timeval(tv_sec: Int(s), tv_usec: Int((s - s.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func write(_ bytes: [UInt8]) throws {
        var sent = 0
        try bytes.withUnsafeBytes { raw in
            while sent < raw.count {
                let n = send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n >= 0 { sent += n; continue }
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { throw HTTPClientError.timedOut("sending the request timed out") }
                if sent == 0 && (code == EPIPE || code == ECONNRESET) { throw StaleConnection() }
                throw HTTPClientError.connectionLost("sending the request: \(errnoText(code))")
            }
        }
    }

    /// Reads what the socket has (at least one byte) into the buffer; returns false at end of stream.
    func receive(deadline: TimeInterval) throws -> Bool {
        if end == buffer.count {
            if start > 0 {
                buffer.withUnsafeMutableBufferPointer { b in _ = memmove(b.baseAddress!, b.baseAddress! + start, end - start) }
                end -= start
                start = 0
            } else {
                buffer.append(contentsOf: repeatElement(0, count: buffer.count))
            }
        }
        while true {
            let remaining = deadline - monotonicNow()
            if remaining <= 0 { throw HTTPClientError.timedOut("no response within the request timeout") }
            if receiveTimeout > remaining + 0.01 {
                Self.setTimeout(fd, SO_RCVTIMEO, remaining)
                receiveTimeout = remaining
            }
            let n = buffer.withUnsafeMutableBufferPointer { b in recv(fd, b.baseAddress! + end, b.count - end, 0) }
            if n > 0 { end += n; return true }
            if n == 0 { return false }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK {
                // The socket timeout may be shorter than what is left of this request's time (set for an
                // earlier request): stretch it and wait again.
                let left = deadline - monotonicNow()
                if left <= 0.001 { throw HTTPClientError.timedOut("no response within the request timeout") }
                Self.setTimeout(fd, SO_RCVTIMEO, left)
                receiveTimeout = left
                continue
            }
            if code == ECONNRESET { return false }
            throw HTTPClientError.connectionLost("reading the response: \(errnoText(code))")
        }
    }

    static let maxHeaderBytes = 64 << 10
    static let maxBodyBytes = 256 << 20

    /// Reads one response. Returns it and whether the connection may carry another request.
    func readResponse(deadline: TimeInterval) throws -> (HTTPResponse, keepAlive: Bool) {
        var firstByte = true
        while true {
            // Header block.
            var headerEnd = -1
            while true {
                headerEnd = findHeaderEnd()
                if headerEnd >= 0 { break }
                if end - start > Self.maxHeaderBytes { throw HTTPClientError.badResponse("response headers larger than 64 KiB") }
                if try !receive(deadline: deadline) {
                    if firstByte && end == start { throw StaleConnection() }
                    throw HTTPClientError.connectionLost("connection closed in the middle of the response headers")
                }
                firstByte = false
            }
            // The head is parsed as bytes: String splitting and case-insensitive compares cost more than the
            // rest of a small response.
            guard let head = ResponseHead(buffer[start..<headerEnd]) else {
                throw HTTPClientError.badResponse("malformed response head '\(String(decoding: buffer[start..<min(headerEnd, start + 100)], as: UTF8.self))'")
            }
            start = headerEnd + 4
            let status = head.status
            if status < 200 { continue }  // 100 Continue and friends come before the real answer.
            var response = HTTPResponse(status: status, body: [], retryAfter: head.retryAfter)
            var keepAlive = head.keepAlive

            if head.chunked {
                response.body = try readChunked(deadline: deadline)
            } else if let length = head.contentLength {
                guard length <= Self.maxBodyBytes else { throw HTTPClientError.badResponse("response body of \(length) bytes is too large") }
                try fill(length, deadline: deadline)
                response.body = Array(buffer[start..<start + length])
                start += length
            } else if status == 204 || status == 304 {
                response.body = []
            } else {
                // No length: the body runs to the end of the connection.
                while try receive(deadline: deadline) {
                    if end - start > Self.maxBodyBytes { throw HTTPClientError.badResponse("response body is too large") }
                }
                response.body = Array(buffer[start..<end])
                start = end
                keepAlive = false
            }
            // Bytes after the response mean the stream is out of step: start afresh next time.
            if start != end { keepAlive = false }
            start = 0; end = 0
            lastUsed = monotonicNow()
            return (response, keepAlive)
        }
    }

    private func findHeaderEnd() -> Int {
        guard end - start >= 4 else { return -1 }
        var i = start
        while i + 3 < end {
            if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { return i }
            i += 1
        }
        return -1
    }

    private func fill(_ count: Int, deadline: TimeInterval) throws {
        while end - start < count {
            if buffer.count - start < count {
                let needed = count - (buffer.count - start)
                buffer.append(contentsOf: repeatElement(0, count: needed))
            }
            if try !receive(deadline: deadline) { throw HTTPClientError.connectionLost("connection closed in the middle of the response body") }
        }
    }

    private func readLine(deadline: TimeInterval) throws -> String {
        while true {
            var i = start
            while i + 1 < end {
                if buffer[i] == 13 && buffer[i + 1] == 10 {
                    let line = String(decoding: buffer[start..<i], as: UTF8.self)
                    start = i + 2
                    return line
                }
                i += 1
            }
            if end - start > 8192 { throw HTTPClientError.badResponse("chunk header line too long") }
            if try !receive(deadline: deadline) { throw HTTPClientError.connectionLost("connection closed in the middle of a chunked body") }
        }
    }

    private func readChunked(deadline: TimeInterval) throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let line = try readLine(deadline: deadline)
            let sizeText = line.split(separator: ";", maxSplits: 1).first.map { String($0).trimmingSpaces } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else { throw HTTPClientError.badResponse("bad chunk size '\(sizeText.prefix(20))'") }
            if size == 0 {
                while try !readLine(deadline: deadline).isEmpty {}  // trailers
                return body
            }
            guard size <= Self.maxBodyBytes - body.count else { throw HTTPClientError.badResponse("response body is too large") }
            try fill(size + 2, deadline: deadline)
            body.append(contentsOf: buffer[start..<start + size])
            guard buffer[start + size] == 13, buffer[start + size + 1] == 10 else { throw HTTPClientError.badResponse("chunk not followed by CRLF") }
            start += size + 2
        }
    }
}

/// Connections to one host:port, at most `maxConnections` open, idle ones kept for the next request.
final class HTTPConnectionPool: @unchecked Sendable {
    let host: String
    let port: Int
    let maxConnections: Int
    let connectTimeout: TimeInterval
    private let lock = NSCondition()
    private var idle: [HTTPConnection] = []
    private var open = 0

    init(host: String, port: Int, maxConnections: Int, connectTimeout: TimeInterval = 10) {
        self.host = host
        self.port = port
        self.maxConnections = max(1, maxConnections)
        self.connectTimeout = connectTimeout
    }

    /// Sends one complete request (head and body) and returns the response, within `timeout` seconds.
    func send(_ request: [UInt8], timeout: TimeInterval) -> Result<HTTPResponse, HTTPClientError> {
        let deadline = monotonicNow() + timeout
        var allowReuse = true
        while true {
            let connection: HTTPConnection, reused: Bool
            do { (connection, reused) = try checkOut(deadline: deadline, timeout: timeout, allowReuse: allowReuse) } catch let error as HTTPClientError {
                return .failure(error)
            } catch { return .failure(.connectFailed("\(error)")) }
            do {
                try connection.write(request)
                let (response, keepAlive) = try connection.readResponse(deadline: deadline)
                checkIn(keepAlive ? connection : nil)
                return .success(response)
            } catch is StaleConnection {
                checkIn(nil)
                if reused { allowReuse = false; continue }
                return .failure(.connectionLost("the server closed the connection without answering"))
            } catch let error as HTTPClientError {
                checkIn(nil)
                return .failure(error)
            } catch {
                checkIn(nil)
                return .failure(.connectionLost("\(error)"))
            }
        }
    }

    private func checkOut(deadline: TimeInterval, timeout: TimeInterval, allowReuse: Bool) throws -> (HTTPConnection, Bool) {
        lock.lock()
        while true {
            if allowReuse, let connection = idle.popLast() {
                // A server drops idle keep-alive connections (uvicorn after 5 s); sniff ones idle a while.
                if monotonicNow() - connection.lastUsed > 1, connection.looksClosed {
                    open -= 1
                    continue
                }
                lock.unlock()
                return (connection, true)
            }
            if open < maxConnections { break }
            if !allowReuse, let connection = idle.popLast() { open -= 1; _ = connection; continue }
            if !lock.wait(until: Date(timeIntervalSinceNow: deadline - monotonicNow())) && monotonicNow() >= deadline {
                lock.unlock()
                throw HTTPClientError.timedOut("no free connection to \(host):\(port) within the request timeout")
            }
        }
        open += 1
        lock.unlock()
        do {
            return (try connect(deadline: min(deadline, monotonicNow() + connectTimeout), requestTimeout: timeout), false)
        } catch {
            lock.lock(); open -= 1; lock.signal(); lock.unlock()
            throw error
        }
    }

    private func checkIn(_ connection: HTTPConnection?) {
        lock.lock()
        if let connection { idle.append(connection) } else { open -= 1 }
        lock.signal()
        lock.unlock()
    }

    private func connect(deadline: TimeInterval, requestTimeout: TimeInterval) throws -> HTTPConnection {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw HTTPClientError.connectFailed("cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            if fd < 0 { lastError = errnoText(); continue }
            var ok = Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0
            if !ok && errno == EINPROGRESS {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let waitMs = Int32(max(1, min(Double(Int32.max), (deadline - monotonicNow()) * 1000)))
                if poll(&p, 1, waitMs) == 1 {
                    var soError: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
                    if soError == 0 { ok = true } else { lastError = errnoText(soError) }
                } else {
                    lastError = "timed out"
                }
            } else if !ok {
                lastError = errnoText()
            }
            if !ok { close(fd); continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            HTTPConnection.setTimeout(fd, SO_SNDTIMEO, requestTimeout)
            HTTPConnection.setTimeout(fd, SO_RCVTIMEO, requestTimeout)
            return HTTPConnection(fd: fd, receiveTimeout: requestTimeout)
        }
        if lastError == "timed out" { throw HTTPClientError.timedOut("connecting to \(host):\(port) timed out") }
        throw HTTPClientError.connectFailed("cannot connect to \(host):\(port): \(lastError)")
    }
}
