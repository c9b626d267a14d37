// HTTPConnection: one client connection: its head read by the reactor, its requests served by a worker.
import Glibc

private let carriageReturn: UInt8 = 0x0D
private let lineFeed: UInt8 = 0x0A

/// One connection. Between requests it belongs to the reactor (`receiveWaiting`, `waitDeadline`); with a
/// complete head it belongs to one worker (`serveBuffered`). Never both at once, so it needs no lock.
final class HTTPConnection: @unchecked Sendable {
    let fd: Int32
    let id: Int
    /// Strong: a connection may outlive `stop()` (a handler stuck past the grace period) and the server with it.
    private let server: HTTPServer
    private let configuration: HTTPServer.Configuration
    private let remoteAddress: String
    private let acceptedAt: UInt64

    /// Look-ahead buffer: holds the request head and any bytes the client sent after it (pipelined requests,
    /// the start of a body). Bodies larger than it are read straight into the handler's memory.
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var start = 0
    private var end = 0

    /// Requests answered on this connection.
    private var served = 0
    /// When the connection last went back to waiting for a head.
    private(set) var waitingSince: UInt64
    /// When the first byte of the head being waited for arrived (the first request counts from the accept).
    private var headStartedAt: UInt64?
    /// Bytes received from the socket so far, and at the start of the current body: the minimum body rate.
    private var receivedTotal = 0
    private var bodyStartedAt: UInt64 = 0
    private var bodyStartReceived = 0
    /// Writes that must not block (the reactor's 408).
    private var sendsWithoutWaiting = false

    init(fd: Int32, id: Int, server: HTTPServer, remoteAddress: String, acceptedAt: UInt64) {
        self.fd = fd
        self.id = id
        self.server = server
        self.configuration = server.configuration
        self.remoteAddress = remoteAddress
        self.acceptedAt = acceptedAt
        waitingSince = acceptedAt
        capacity = max(configuration.maxHeaderBytes, configuration.maxRequestLineBytes) + 16 * 1024
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
    }


    // MARK: - Waiting for a head (reactor)

    enum WaitRead {
        /// The head is not complete yet: keep polling.
        case moreNeeded
        /// The peer closed (or failed) before a head arrived: close without an answer.
        case closed
        /// A complete head, or bytes that can only be refused: a worker takes over.
        case ready
    }

    /// Reads what the socket has, without waiting, and says whether a worker can take over.
    func receiveWaiting() -> WaitRead {
        if end == capacity && start > 0 {
            memmove(buffer, buffer + start, end - start)
            end -= start
            start = 0
        }
        if end < capacity {
            let received = recv(fd, buffer + end, capacity - end, Int32(MSG_DONTWAIT))
            if received == 0 { return .closed }
            if received < 0 {
                return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .moreNeeded : .closed
            }
            end += received
            receivedTotal += received
        }
        switch bufferedHead() {
        case .needMore:
            if headStartedAt == nil && hasPartialHead { headStartedAt = monotonicNanoseconds() }
            return .moreNeeded
        case .head, .failed:
            return .ready
        }
    }

    /// Reads what arrives within `milliseconds`; false when nothing did (or the peer closed: the reactor sees it).
    private func readSoon(milliseconds: Int32) -> Bool {
        guard end < capacity || start > 0 else { return false }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, milliseconds) > 0 else { return false }
        if end == capacity {
            memmove(buffer, buffer + start, end - start)
            end -= start
            start = 0
        }
        let received = recv(fd, buffer + end, capacity - end, Int32(MSG_DONTWAIT))
        guard received > 0 else { return false }
        end += received
        receivedTotal += received
        return true
    }

    /// Whether part of a head is buffered (blank lines before a request line do not count).
    var hasPartialHead: Bool {
        var position = start
        while position < end, buffer[position] == carriageReturn || buffer[position] == lineFeed { position += 1 }
        return position < end
    }

    /// When the reactor gives up on this connection: the head timeout from the accept (first request) or from
    /// the head's first byte, else the idle timeout; both shorter under pressure.
    func waitDeadline(underPressure: Bool) -> UInt64 {
        let headTimeout = underPressure ? min(configuration.headerReadTimeout, 3 * configuration.pressureTimeout)
                                        : configuration.headerReadTimeout
        if served == 0 { return acceptedAt &+ nanoseconds(headTimeout) }
        if let headStartedAt { return headStartedAt &+ nanoseconds(headTimeout) }
        let idle = underPressure ? min(configuration.idleTimeout, configuration.pressureTimeout) : configuration.idleTimeout
        return waitingSince &+ nanoseconds(idle)
    }

    /// Back to waiting after an answer; bytes of a next request already buffered start its head clock.
    func startWaiting() {
        waitingSince = monotonicNanoseconds()
        headStartedAt = hasPartialHead ? waitingSince : nil
    }

    /// Writes `response` without waiting (the reactor cannot block): best effort, for short refusals.
    func sendNow(_ response: HTTPResponse) {
        sendsWithoutWaiting = true
        defer { sendsWithoutWaiting = false }
        let written = write(response, for: nil, close: true)
        log("-", "-", status: written.status, bytes: written.bytes, startedAt: headStartedAt ?? acceptedAt)
    }

    // MARK: - Serving (worker)

    enum Outcome {
        /// Ready for the next request: the reactor waits for its head (unless it is already buffered).
        case keepAlive
        case close
        /// Close after reading what the client still sends, so our answer is not destroyed by a TCP reset.
        case closeAfterDraining
    }

    /// Serves every request whose head is buffered; returns what to do with the connection next.
    func serveBuffered() -> Outcome {
        var waitedForNext = false
        while true {
            let startedAt = monotonicNanoseconds()
            switch bufferedHead() {
            case .needMore:
                // A busy keep-alive client sends its next request within a moment: waiting a little for it here
                // saves two thread hand-overs per request; anything slower goes back to the reactor.
                // Once per request, so a trickling head cannot keep the worker.
                if served > 0 && !waitedForNext {
                    waitedForNext = true
                    if readSoon(milliseconds: 2) { continue }
                }
                return .keepAlive
            case .failed(let error):
                return answer(error, request: nil, startedAt: startedAt)
            case .head(let length, let consumed):
                let head: HTTPRequestHead
                let framing: HTTPBodyFraming
                do {
                    defer { start += consumed }
                    head = try HTTPRequestParser.parseHead(UnsafeBufferPointer(start: buffer + start, count: length))
                    framing = try HTTPRequestParser.framing(of: head)
                } catch let error as HTTPError {
                    return answer(error, request: nil, startedAt: startedAt)
                } catch {
                    return answer(HTTPError(.badRequest, "malformed request"), request: nil, startedAt: startedAt)
                }
                served += 1
                headStartedAt = nil
                waitedForNext = false
                let outcome = serve(head, framing: framing, startedAt: startedAt)
                guard case .keepAlive = outcome else { return outcome }
                if hasPartialHead { headStartedAt = monotonicNanoseconds() }
            }
        }
    }

    private func serve(_ head: HTTPRequestHead, framing: HTTPBodyFraming, startedAt: UInt64) -> Outcome {
        let connectionTokens = head.headers.tokens(for: "Connection")
        var mustClose = head.version.minor >= 1 ? connectionTokens.contains("close")
                                                : !connectionTokens.contains("keep-alive")
        // RFC 9112 §6.1: a transfer coding in an HTTP/1.0 request means the framing cannot be trusted later on.
        if head.version.minor == 0 && framing == .chunked { mustClose = true }
        let expectsContinue = head.version.minor >= 1
            && head.headers["Expect"].map { asciiCaseInsensitiveEquals($0, "100-continue") } == true
        let body = HTTPRequestBody(connection: self, framing: framing, expectsContinue: expectsContinue)
        defer { body.detach() }
        bodyStartedAt = monotonicNanoseconds()
        bodyStartReceived = receivedTotal - (end - start)

        let request: HTTPRequest
        do {
            request = try HTTPRequest(method: head.method, target: head.target, version: head.version,
                                      headers: head.headers, body: body, remoteAddress: remoteAddress)
        } catch {
            let httpError = error as? HTTPError ?? HTTPError(.badRequest, "malformed request target")
            return answer(httpError, request: nil, startedAt: startedAt)
        }

        var response: HTTPResponse
        do {
            response = try server.handler(request)
        } catch let error as HTTPBodyError {
            switch error {
            case .incomplete, .readFailed:
                // Nobody is left to answer; 499 is nginx's log code for a client that closed its request.
                log(request.method, request.rawPath, status: 499, bytes: 0, startedAt: startedAt)
                return .close
            case .tooLarge:
                response = .error(.contentTooLarge, error.description)
                // The client means to send more than we take: draining it would only waste both sides' time.
                mustClose = true
            case .malformed:
                response = .error(.badRequest, error.description)
                mustClose = true
            case .timedOut:
                response = .error(.requestTimeout, error.description)
                mustClose = true
            case .unavailable, .destinationWriteFailed:
                server.report("\(request.method) \(request.rawPath): \(error)")
                response = .error(.internalServerError, "internal error")
            }
        } catch let error as HTTPError {
            response = .error(error.status, error.message)
        } catch {
            server.report("\(request.method) \(request.rawPath): handler failed: \(error)")
            response = .error(.internalServerError, "internal error")
        }

        if !body.isComplete {
            if body.isWithholdingContinue {
                // The client has not sent the body and waits for our go-ahead: closing is cheaper than draining.
                mustClose = true
            } else if let remaining = body.remainingDeclaredBytes, remaining > configuration.maxDrainBytes {
                mustClose = true
            }
        }
        if server.isStopping || response.headers.tokens(for: "Connection").contains("close") {
            mustClose = true
        }

        // An error answer closes rather than drain a body nobody wants: draining is what lets a client without
        // credentials hold a worker by trickling bytes.
        if !body.isComplete && response.status.code >= 400 { mustClose = true }
        let written = write(response, for: request, close: mustClose)
        log(request.method, request.rawPath, status: written.status, bytes: written.bytes, startedAt: startedAt)
        if mustClose || !written.reusable {
            return body.isComplete && !body.isWithholdingContinue ? .close : .closeAfterDraining
        }
        if !body.isComplete && !body.discardRemaining(maxBytes: configuration.maxDrainBytes) {
            return .closeAfterDraining
        }
        return .keepAlive
    }

    /// Answers a request the server itself refuses, then closes.
    private func answer(_ error: HTTPError, request: HTTPRequest?, startedAt: UInt64) -> Outcome {
        let written = write(.error(error.status, error.message), for: request, close: true)
        log(request?.method ?? "-", request?.rawPath ?? "-", status: written.status, bytes: written.bytes, startedAt: startedAt)
        return .closeAfterDraining
    }

    private func log(_ method: String, _ path: String, status: Int, bytes: Int, startedAt: UInt64) {
        guard let sink = configuration.log else { return }
        let micros = (monotonicNanoseconds() &- startedAt) / 1000
        let millis = "\(micros / 1000).\(String(repeating: "0", count: 3 - String(micros % 1000).count))\(micros % 1000)"
        sink("\(method) \(path) \(status) \(bytes)B \(millis)ms")
    }

    // MARK: - Reading the head

    private enum HeadResult {
        case head(length: Int, consumed: Int)
        case needMore
        case failed(HTTPError)
    }

    /// Looks at the buffered bytes for a complete head, without reading.
    private func bufferedHead() -> HeadResult {
        // RFC 9112 §2.2: empty lines before a request line are ignored.
        while start < end, buffer[start] == carriageReturn || buffer[start] == lineFeed { start += 1 }
        let count = end - start
        guard count > 0 else { return .needMore }
        if let newline = memchr(buffer + start, Int32(lineFeed), count) {
            var length = buffer.distance(to: newline.assumingMemoryBound(to: UInt8.self)) - start
            if length > 0 && buffer[start + length - 1] == carriageReturn { length -= 1 }
            if length > configuration.maxRequestLineBytes {
                return .failed(HTTPError(.uriTooLong, "request line longer than \(configuration.maxRequestLineBytes) bytes"))
            }
        } else if count > configuration.maxRequestLineBytes {
            return .failed(HTTPError(.uriTooLong, "request line longer than \(configuration.maxRequestLineBytes) bytes"))
        }
        let found = findEndOfHead(from: 0)
        if let found, found.length <= configuration.maxHeaderBytes {
            return .head(length: found.length, consumed: found.consumed)
        }
        if found != nil || count > configuration.maxHeaderBytes {
            return .failed(HTTPError(.requestHeaderFieldsTooLarge, "request header block larger than \(configuration.maxHeaderBytes) bytes"))
        }
        return .needMore
    }

    /// Finds the empty line ending the head, searching from `offset` bytes past `start`.
    private func findEndOfHead(from offset: Int) -> (length: Int, consumed: Int)? {
        var position = start + offset
        while position < end {
            guard let found = memchr(buffer + position, Int32(lineFeed), end - position) else { return nil }
            let newline = buffer.distance(to: found.assumingMemoryBound(to: UInt8.self))
            if newline + 1 < end && buffer[newline + 1] == lineFeed {
                return (newline + 1 - start, newline + 2 - start)
            }
            if newline + 2 < end && buffer[newline + 1] == carriageReturn && buffer[newline + 2] == lineFeed {
                return (newline + 1 - start, newline + 3 - start)
            }
            position = newline + 1
        }
        return nil
    }

    // MARK: - Socket reads

    /// Reads what the socket has into the free end of the buffer; 0 means the peer closed.
    private func fill(deadline: UInt64, watchStop: Bool) throws -> Int {
        if start == end {
            start = 0
            end = 0
        } else if end == capacity && start > 0 {
            memmove(buffer, buffer + start, end - start)
            end -= start
            start = 0
        }
        guard end < capacity else { throw HTTPIOError.lineTooLong }
        let count = try receive(into: buffer + end, count: capacity - end, deadline: deadline, watchStop: watchStop)
        end += count
        return count
    }

    /// recv without blocking first, so a busy connection costs one system call; poll only when nothing is there.
    private func receive(into pointer: UnsafeMutableRawPointer, count: Int, deadline: UInt64, watchStop: Bool) throws -> Int {
        while true {
            let received = recv(fd, pointer, count, Int32(MSG_DONTWAIT))
            if received >= 0 { receivedTotal += received; return received }
            switch errno {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                try waitUntilReadable(deadline: deadline, watchStop: watchStop)
            case ECONNRESET:
                throw HTTPIOError.closed
            case let code:
                throw HTTPIOError.failed(code)
            }
        }
    }

    private func waitUntilReadable(deadline: UInt64, watchStop: Bool) throws {
        var descriptors = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        while true {
            let now = monotonicNanoseconds()
            guard now < deadline else { throw HTTPIOError.timedOut }
            let waitMilliseconds = Int32(min((deadline - now + 999_999) / 1_000_000, 3_600_000))
            let ready = poll(&descriptors, 1, waitMilliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw HTTPIOError.failed(errno)
            }
            if ready == 0 { continue }
            return
        }
    }

    /// Body bytes: first from the look-ahead buffer, then straight from the socket into `pointer`.
    func readBody(into pointer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        if start == end {
            let deadline = bodyDeadline()
            // Small reads refill the look-ahead buffer so that a handler reading in tiny pieces stays cheap.
            if count >= 16 * 1024 {
                return try receive(into: pointer, count: count, deadline: deadline, watchStop: false)
            }
            if try fill(deadline: deadline, watchStop: false) == 0 { return 0 }
        }
        let available = min(end - start, count)
        pointer.copyMemory(from: buffer + start, byteCount: available)
        start += available
        return available
    }

    /// The next line of chunked framing, without its line end; nil when the peer closed first.
    func readLine(maxLength: Int) throws -> [UInt8]? {
        var scanned = 0
        while true {
            if let found = memchr(buffer + start + scanned, Int32(lineFeed), end - start - scanned) {
                let newline = buffer.distance(to: found.assumingMemoryBound(to: UInt8.self))
                var lineEnd = newline
                if lineEnd > start && buffer[lineEnd - 1] == carriageReturn { lineEnd -= 1 }
                let line = Array(UnsafeBufferPointer(start: buffer + start, count: lineEnd - start))
                start = newline + 1
                return line
            }
            scanned = end - start
            if scanned > maxLength { throw HTTPIOError.lineTooLong }
            if try fill(deadline: bodyDeadline(), watchStop: false) == 0 { return nil }
        }
    }

    /// The per-read timeout, or sooner when the body has fallen below the minimum rate after its grace period.
    private func bodyDeadline() -> UInt64 {
        let perRead = monotonicNanoseconds() &+ nanoseconds(configuration.bodyReadTimeout)
        guard configuration.minBodyRate > 0 else { return perRead }
        let bytes = UInt64(max(0, receivedTotal - bodyStartReceived))
        let earned = bodyStartedAt &+ nanoseconds(configuration.bodyRateGracePeriod)
            &+ bytes / UInt64(configuration.minBodyRate) &* 1_000_000_000
            &+ (bytes % UInt64(configuration.minBodyRate)) &* 1_000_000_000 / UInt64(configuration.minBodyRate)
        return min(perRead, earned)
    }

    // MARK: - Writing

    func sendContinue() throws {
        let line = "HTTP/1.1 100 Continue\r\n\r\n"
        var bytes = Array(line.utf8)
        try bytes.withUnsafeMutableBytes { try send($0.baseAddress!, $0.count, more: false) }
    }

    func send(_ pointer: UnsafeRawPointer, _ count: Int, more: Bool) throws {
        var sent = 0
        let flags = Int32(MSG_NOSIGNAL) | (more ? Int32(MSG_MORE) : 0) | (sendsWithoutWaiting ? Int32(MSG_DONTWAIT) : 0)
        while sent < count {
            let result = Glibc.send(fd, pointer + sent, count - sent, flags)
            if result > 0 {
                sent += result
            } else if result < 0 && errno == EINTR {
                continue
            } else if result < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                // A blocking socket reports SO_SNDTIMEO expiry this way.
                throw HTTPWriteError.timedOut
            } else {
                throw HTTPWriteError.connectionFailed(errno: result < 0 ? errno : EPIPE)
            }
        }
    }

    func send(_ bytes: [UInt8], more: Bool = false) throws {
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            try send(base, raw.count, more: more)
        }
    }

    func sendFile(_ region: HTTPFileRegion) throws {
        var offset = off_t(region.offset)
        var remaining = region.length
        while remaining > 0 {
            // Linux sendfile moves at most 0x7ffff000 bytes per call.
            let result = sendfile(fd, region.file.fileDescriptor, &offset, min(remaining, 0x7fff_f000))
            if result > 0 {
                remaining -= result
            } else if result == 0 {
                throw HTTPWriteError.fileTruncated
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                throw HTTPWriteError.timedOut
            } else {
                throw HTTPWriteError.connectionFailed(errno: errno)
            }
        }
    }

    /// Writes `response`. Returns the status sent, the bytes written, and whether the connection is still in a
    /// state where another request can follow (false after write errors or a close-delimited body).
    private func write(_ response: HTTPResponse, for request: HTTPRequest?, close: Bool)
        -> (status: Int, bytes: Int, reusable: Bool) {
        let isHead = request?.isHead ?? false
        let isHTTP10 = request?.version.minor == 0
        var close = close
        var head: [UInt8] = []
        head.reserveCapacity(256)
        head.append(contentsOf: "HTTP/1.1 ".utf8)
        appendDecimal(response.status.code, to: &head)
        head.append(0x20)
        head.append(contentsOf: response.status.reasonPhrase.utf8)
        head.append(contentsOf: "\r\n".utf8)
        var declaredLength: Int?
        for (name, value) in response.headers {
            if asciiCaseInsensitiveEquals(name, "Content-Length") {
                declaredLength = Int(trimmingOptionalWhitespace(value))
                continue
            }
            if asciiCaseInsensitiveEquals(name, "Transfer-Encoding") || asciiCaseInsensitiveEquals(name, "Connection") {
                continue
            }
            appendField(name, value, to: &head)
        }
        // RFC 9110 §6.6.1: an origin server with a clock sends Date on every answer (Fireworks' front door does).
        if !response.headers.contains("Date") { appendField("Date", HTTPDate.now(), to: &head) }
        if let serverName = configuration.serverName, response.headers["Server"] == nil {
            appendField("Server", serverName, to: &head)
        }

        enum Plan {
            case none
            case bytes([UInt8])
            case file(HTTPFileRegion)
            case stream((HTTPResponseBodyWriter) throws -> Void, HTTPResponseBodyWriter.Framing)
        }
        var plan = Plan.none
        let allowsBody = response.status.allowsBody
        switch response.body {
        case .empty:
            if allowsBody { appendField("Content-Length", "0", to: &head) }
        case .bytes(let bytes):
            if allowsBody {
                appendField("Content-Length", String(bytes.count), to: &head)
                plan = .bytes(bytes)
            }
        case .file(let region):
            if allowsBody {
                appendField("Content-Length", String(region.length), to: &head)
                plan = .file(region)
            }
        case .stream(let producer):
            if allowsBody {
                let framing: HTTPResponseBodyWriter.Framing
                if let declaredLength, declaredLength >= 0 {
                    appendField("Content-Length", String(declaredLength), to: &head)
                    framing = .identity(declaredLength)
                } else if isHTTP10 {
                    // An HTTP/1.0 client cannot decode chunks: the end of the body is the end of the connection.
                    framing = .closeDelimited
                    close = true
                } else {
                    appendField("Transfer-Encoding", "chunked", to: &head)
                    framing = .chunked
                }
                plan = .stream(producer, framing)
            }
        }
        if close {
            appendField("Connection", "close", to: &head)
        } else if isHTTP10 {
            appendField("Connection", "keep-alive", to: &head)
        }
        head.append(contentsOf: "\r\n".utf8)

        let status = response.status.code
        do {
            if isHead {
                try send(head)
                return (status, head.count, true)
            }
            switch plan {
            case .none:
                try send(head)
                return (status, head.count, true)
            case .bytes(let bytes):
                if bytes.count <= 32 * 1024 {
                    // One send per small response: the head and body leave in the same segment.
                    head.append(contentsOf: bytes)
                    try send(head)
                } else {
                    try send(head, more: true)
                    try send(bytes)
                }
                return (status, head.count + (bytes.count <= 32 * 1024 ? 0 : bytes.count), true)
            case .file(let region):
                try send(head, more: region.length > 0)
                try sendFile(region)
                return (status, head.count + region.length, true)
            case .stream(let producer, let framing):
                let writer = HTTPResponseBodyWriter(connection: self, framing: framing, head: head)
                do {
                    try producer(writer)
                    try writer.finish()
                } catch {
                    if !writer.hasSentHead && !(error is HTTPWriteError) {
                        server.report("\(request?.method ?? "-") \(request?.rawPath ?? "-"): response producer failed: \(error)")
                        let fallback = write(.error(.internalServerError, "internal error"), for: request, close: close)
                        return (fallback.status, fallback.bytes, fallback.reusable)
                    }
                    // Part of the body is out; closing is the only way to tell the client it is incomplete.
                    return (status, writer.wireBytes, false)
                }
                return (status, writer.wireBytes, framing != .closeDelimited)
            }
        } catch {
            return (status, 0, false)
        }
    }

    /// Appends `name: value`, replacing CR and LF so that no handler value can inject extra header lines.
    private func appendField(_ name: String, _ value: String, to head: inout [UInt8]) {
        for byte in name.utf8 where byte != carriageReturn && byte != lineFeed && byte != UInt8(ascii: ":") {
            head.append(byte)
        }
        head.append(contentsOf: ": ".utf8)
        for byte in value.utf8 {
            head.append(byte == carriageReturn || byte == lineFeed ? 0x20 : byte)
        }
        head.append(contentsOf: "\r\n".utf8)
    }
}

/// Writes a streamed response body: buffers small writes, frames them as chunks when the length is unknown,
/// and sends the response head with the first piece of body.
public final class HTTPResponseBodyWriter {
    enum Framing: Equatable {
        case chunked
        case identity(Int)
        case closeDelimited
    }

    private let connection: HTTPConnection
    private let framing: Framing
    private var head: [UInt8]
    private var pending: [UInt8] = []
    private let bufferLimit = 64 * 1024
    private(set) var hasSentHead = false
    /// Bytes put on the wire: head, framing and body.
    private(set) var wireBytes = 0
    /// Body bytes accepted from the producer so far.
    public private(set) var bytesWritten = 0

    init(connection: HTTPConnection, framing: Framing, head: [UInt8]) {
        self.connection = connection
        self.framing = framing
        self.head = head
        pending.reserveCapacity(bufferLimit)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if case .identity(let declared) = framing, bytesWritten + bytes.count > declared {
            throw HTTPWriteError.lengthMismatch(declared: declared, written: bytesWritten + bytes.count)
        }
        bytesWritten += bytes.count
        if pending.count + bytes.count <= bufferLimit {
            pending.append(contentsOf: bytes)
            return
        }
        try flush()
        if bytes.count < bufferLimit {
            pending.append(contentsOf: bytes)
        } else {
            try sendPiece(base, bytes.count)
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Sends what is buffered now, e.g. before a slow step, so that the client sees progress.
    public func flush() throws {
        if pending.isEmpty {
            if !hasSentHead { try sendHead(more: false) }
            return
        }
        try pending.withUnsafeBytes { try sendPiece($0.baseAddress!, $0.count) }
        pending.removeAll(keepingCapacity: true)
    }

    func finish() throws {
        try flush()
        switch framing {
        case .chunked:
            try connection.send(Array("0\r\n\r\n".utf8))
            wireBytes += 5
        case .identity(let declared):
            if bytesWritten != declared {
                throw HTTPWriteError.lengthMismatch(declared: declared, written: bytesWritten)
            }
        case .closeDelimited:
            break
        }
    }

    private func sendHead(more: Bool) throws {
        hasSentHead = true
        try connection.send(head, more: more)
        wireBytes += head.count
        head = []
    }

    private func sendPiece(_ base: UnsafeRawPointer, _ count: Int) throws {
        if !hasSentHead { try sendHead(more: true) }
        if framing == .chunked {
            let size = Array((String(count, radix: 16) + "\r\n").utf8)
            try connection.send(size, more: true)
            try connection.send(base, count, more: true)
            try connection.send([carriageReturn, lineFeed])
            wireBytes += size.count + count + 2
        } else {
            try connection.send(base, count, more: false)
            wireBytes += count
        }
    }
}
