// HTTPServer: an embeddable HTTP/1.1 server on blocking sockets, one thread per connection.
import Dispatch
import Foundation
import Glibc

/// The address a started server listens on.
public struct HTTPServerAddress: Sendable, Equatable, CustomStringConvertible {
    /// The host without brackets (`127.0.0.1`, `::1`).
    public let host: String
    public let port: Int

    /// `host:port`, with brackets around an IPv6 host, ready for a URL.
    public var description: String { joinHostPort(host, port) }
}

/// Serves HTTP/1.1 with a synchronous handler called on each connection's own thread.
///
/// A thread per connection with blocking sockets keeps handlers simple (they may block on disk or on other
/// servers) and sustains tens of thousands of small requests per second on two cores; the connection limit
/// bounds the number of threads.
/// `@unchecked Sendable`: the mutable state (`state`, the listening socket, the connection table) is guarded
/// by `condition`; `configuration` and `handler` are immutable.
public final class HTTPServer: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// An IPv4 or IPv6 literal (`[::1]` or `::1`) or a name such as `localhost`.
        public var host: String
        /// 0 picks a free port; `start()` reports which.
        public var port: Int
        /// Connections beyond this are answered 503 and closed.
        public var maxConnections: Int
        /// The request line plus header fields; more is answered 431.
        public var maxHeaderBytes: Int
        /// A longer request line is answered 414.
        public var maxRequestLineBytes: Int
        /// Time allowed to send a whole request head, from the connection or from its first byte; then 408.
        public var headerReadTimeout: TimeInterval
        /// How long a kept-alive connection may wait for its next request before it is closed silently.
        public var idleTimeout: TimeInterval
        /// How long one read of the request body may wait for data; then the body read fails (408).
        public var bodyReadTimeout: TimeInterval
        /// How long one write may wait for the client to take data; then the connection is closed.
        public var sendTimeout: TimeInterval
        /// Unread body bytes discarded to keep a connection alive; beyond that the connection is closed.
        public var maxDrainBytes: Int
        /// Receives one line per request, `METHOD /path STATUS BYTESB MSms` (the query and headers are never
        /// logged, as they may carry secrets), and server-side failures of handlers. Called on connection threads.
        public var log: (@Sendable (String) -> Void)?
        /// Sent as `Server:` on every answer (handler answers and the server's own 4xx/5xx alike) unless the
        /// handler set one.
        public var serverName: String?

        public init(host: String = "127.0.0.1", port: Int = 0, maxConnections: Int = 256,
                    maxHeaderBytes: Int = 64 * 1024, maxRequestLineBytes: Int = 8 * 1024,
                    headerReadTimeout: TimeInterval = 10, idleTimeout: TimeInterval = 60,
                    bodyReadTimeout: TimeInterval = 30, sendTimeout: TimeInterval = 60,
                    maxDrainBytes: Int = 1 << 20, log: (@Sendable (String) -> Void)? = nil) {
            self.host = host
            self.port = port
            self.maxConnections = maxConnections
            self.maxHeaderBytes = maxHeaderBytes
            self.maxRequestLineBytes = maxRequestLineBytes
            self.headerReadTimeout = headerReadTimeout
            self.idleTimeout = idleTimeout
            self.bodyReadTimeout = bodyReadTimeout
            self.sendTimeout = sendTimeout
            self.maxDrainBytes = maxDrainBytes
            self.log = log
        }
    }

    /// Answers one request. It runs on the connection's thread and may block. Thrown `HTTPError`s and
    /// `HTTPBodyError`s are answered with their status; anything else is a 500.
    public typealias Handler = (HTTPRequest) throws -> HTTPResponse

    public let configuration: Configuration
    let handler: Handler

    private enum State {
        case idle
        case running
        case stopping
        case stopped
    }

    private let condition = NSCondition()
    // Everything below is guarded by `condition`.
    private var state = State.idle
    private var boundAddress: HTTPServerAddress?
    private var acceptLoopRunning = false
    private var connections: [Int: Int32] = [:]
    private var nextConnectionID = 0
    private var rejectionsInFlight = 0
    /// Written once by `stop`; never read, so it stays readable and wakes every poll that watches it.
    private var stopPipe: (read: Int32, write: Int32) = (-1, -1)

    public init(configuration: Configuration = Configuration(), handler: @escaping Handler) {
        self.configuration = configuration
        self.handler = handler
    }

    /// The bound address once started.
    public var address: HTTPServerAddress? {
        condition.lock()
        defer { condition.unlock() }
        return boundAddress
    }

    var stopSignalDescriptor: Int32 { stopPipe.read }

    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return state != .running
    }

    /// Binds, listens and starts accepting on a background thread. A server starts once.
    @discardableResult
    public func start() throws -> HTTPServerAddress {
        condition.lock()
        defer { condition.unlock() }
        guard state == .idle else { throw HTTPServerError.alreadyStarted }
        // A client that disconnects while we write must cost an EPIPE, not the process.
        signal(SIGPIPE, SIG_IGN)
        let (listener, address) = try HTTPServer.listen(configuration)
        var pipeDescriptors: [Int32] = [-1, -1]
        // pipe2 and accept4 are not exported by the Glibc module; the window before FD_CLOEXEC only matters to
        // a concurrent exec, and Foundation's Process closes inherited descriptors anyway.
        guard pipe(&pipeDescriptors) == 0 else {
            let code = errno
            close(listener)
            throw HTTPServerError.systemCall("pipe", errno: code)
        }
        for descriptor in pipeDescriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        stopPipe = (pipeDescriptors[0], pipeDescriptors[1])
        let stopDescriptor = pipeDescriptors[0]
        acceptLoopRunning = true
        guard spawnDetachedThread(stackSize: 512 * 1024, { [self] in acceptLoop(listener: listener, stop: stopDescriptor) }) else {
            acceptLoopRunning = false
            close(listener)
            close(pipeDescriptors[0])
            close(pipeDescriptors[1])
            throw HTTPServerError.systemCall("pthread_create", errno: EAGAIN)
        }
        state = .running
        boundAddress = address
        return address
    }

    /// Stops accepting (new connections are refused), closes idle keep-alive connections, lets requests in
    /// flight finish for up to `gracePeriod` seconds, then shuts the remaining sockets. Returns when done.
    public func stop(gracePeriod: TimeInterval = 10) {
        condition.lock()
        guard state == .running else {
            // A concurrent caller also returns only once the server is down.
            while state == .stopping { condition.wait() }
            condition.unlock()
            return
        }
        state = .stopping
        var byte: UInt8 = 1
        _ = Glibc.write(stopPipe.write, &byte, 1)
        while acceptLoopRunning {
            condition.wait()
        }
        let graceDeadline = Date(timeIntervalSinceNow: max(0, gracePeriod))
        while !connections.isEmpty && condition.wait(until: graceDeadline) {}
        if !connections.isEmpty {
            // Wakes threads blocked on their sockets; a handler stuck elsewhere finishes on its own.
            for descriptor in connections.values {
                shutdown(descriptor, Int32(SHUT_RDWR))
            }
            let shutdownDeadline = Date(timeIntervalSinceNow: 2)
            while !connections.isEmpty && condition.wait(until: shutdownDeadline) {}
        }
        if connections.isEmpty {
            close(stopPipe.read)
            close(stopPipe.write)
        }
        // Otherwise the pipe is left open: a straggling thread may still poll it, and a reused number would lie.
        state = .stopped
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until one of `signals` arrives and returns it. The signals' previous dispositions (normally the
    /// default action) are restored afterwards, so a second Ctrl-C during a graceful stop ends the process.
    /// `watching` runs once the signals are caught, e.g. to tell a service manager the server is ready: a
    /// SIGTERM sent right after that must stop the server gracefully, not kill it.
    public static func waitForSignal(_ signals: [Int32] = [SIGINT, SIGTERM], watching: () -> Void = {}) -> Int32 {
        let received = DispatchSemaphore(value: 0)
        let lock = NSLock()
        var which: Int32 = 0
        var sources: [DispatchSourceSignal] = []
        var previous: [(Int32, __sighandler_t?)] = []
        // resume() registers a source asynchronously; until then an ignored signal would be lost.
        let registered = DispatchSemaphore(value: 0)
        for number in signals {
            // Dispatch sees a signal only if its default action (terminate) is disabled.
            previous.append((number, signal(number, SIG_IGN)))
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                lock.lock()
                if which == 0 { which = number }
                lock.unlock()
                received.signal()
            }
            source.setRegistrationHandler { registered.signal() }
            source.resume()
            sources.append(source)
        }
        for _ in signals { registered.wait() }
        watching()
        received.wait()
        for source in sources { source.cancel() }
        for (number, handler) in previous { signal(number, handler) }
        lock.lock()
        defer { lock.unlock() }
        return which
    }

    // MARK: - Accepting

    private static func listen(_ configuration: Configuration) throws -> (Int32, HTTPServerAddress) {
        guard (0...65535).contains(configuration.port) else { throw HTTPServerError.invalidPort(configuration.port) }
        var host = configuration.host
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count >= 2 {
            host = String(host.dropFirst().dropLast())
        }
        let shownAddress = joinHostPort(host, configuration.port)
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host.isEmpty ? nil : host, String(configuration.port), &hints, &results) == 0,
              let info = results?.pointee else {
            throw HTTPServerError.invalidHost(configuration.host)
        }
        defer { freeaddrinfo(results) }

        let listener = socket(info.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw HTTPServerError.systemCall("socket", errno: errno) }
        func fail(_ error: HTTPServerError) -> HTTPServerError {
            close(listener)
            return error
        }
        setSocketOption(listener, SOL_SOCKET, SO_REUSEADDR, 1)
        if info.ai_family == AF_INET6 {
            // Listening on ::1 must not also claim the IPv4 port.
            setSocketOption(listener, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1)
        }
        guard bind(listener, info.ai_addr, info.ai_addrlen) == 0 else {
            switch errno {
            case EADDRINUSE: throw fail(.addressInUse(address: shownAddress))
            case EACCES: throw fail(.permissionDenied(address: shownAddress))
            case EADDRNOTAVAIL: throw fail(.invalidHost(configuration.host))
            case let code: throw fail(.systemCall("bind \(shownAddress)", errno: code))
            }
        }
        guard Glibc.listen(listener, 1024) == 0 else { throw fail(.systemCall("listen", errno: errno)) }
        // Non-blocking, so that a connection reset between poll and accept cannot wedge the accept loop.
        _ = fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK)

        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        guard named == 0, let bound = formatSocketAddress(&storage) else {
            throw fail(.systemCall("getsockname", errno: errno))
        }
        return (listener, HTTPServerAddress(host: bound.host, port: bound.port))
    }

    private func acceptLoop(listener: Int32, stop: Int32) {
        var descriptors = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: stop, events: Int16(POLLIN), revents: 0)]
        while true {
            let ready = poll(&descriptors, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                report("accept loop: poll failed: \(String(cString: strerror(errno)))")
                break
            }
            if descriptors[1].revents != 0 { break }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listener, $0, &length)
                }
            }
            if client < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED, EPROTO:
                    continue
                default:
                    // Out of descriptors or memory: the pending connection stays queued, so back off, not spin.
                    usleep(10_000)
                    continue
                }
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            // Linux does not pass the listener's O_NONBLOCK to accepted sockets: they block, as the connection expects.
            let remote = formatSocketAddress(&storage).map { joinHostPort($0.host, $0.port) } ?? "unknown"
            admit(client, remoteAddress: remote)
        }
        // Closing the listener makes the kernel refuse new connections from here on.
        close(listener)
        condition.lock()
        acceptLoopRunning = false
        condition.broadcast()
        condition.unlock()
    }

    private func admit(_ client: Int32, remoteAddress: String) {
        condition.lock()
        guard connections.count < configuration.maxConnections else {
            let canAnswer = rejectionsInFlight < 16
            if canAnswer { rejectionsInFlight += 1 }
            condition.unlock()
            report("connection limit of \(configuration.maxConnections) reached: \(remoteAddress) answered 503")
            if canAnswer {
                if !spawnDetachedThread(stackSize: 256 * 1024, { [self] in rejectOverCapacity(client) }) {
                    close(client)
                    finishRejection()
                }
            } else {
                close(client)
            }
            return
        }
        let id = nextConnectionID
        nextConnectionID += 1
        connections[id] = client
        condition.unlock()
        let connection = HTTPConnection(fd: client, id: id, server: self, remoteAddress: remoteAddress,
                                        acceptedAt: monotonicNanoseconds())
        if !spawnDetachedThread({ connection.run() }) {
            report("cannot start a thread for a connection from \(remoteAddress)")
            connectionFinished(id)
            close(client)
        }
    }

    /// Answers 503 on a short-lived thread: it must read what the client sends before closing (see
    /// `HTTPConnection.lingeringClose`), which the accept loop cannot afford to wait for.
    private func rejectOverCapacity(_ client: Int32) {
        setSendTimeout(client, seconds: 1)
        var response = Array("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n".utf8)
        let body = gatewayErrorBody(status: .serviceUnavailable, message: "server is at its connection limit; retry later")
        response.append(contentsOf: "Content-Length: \(body.count)\r\nConnection: close\r\nRetry-After: 1\r\n\r\n".utf8)
        response.append(contentsOf: body)
        _ = response.withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        shutdown(client, Int32(SHUT_WR))
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        let deadline = monotonicNanoseconds() &+ 1_000_000_000
        var descriptor = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
        while monotonicNanoseconds() < deadline {
            let waitMilliseconds = Int32(max(1, (deadline &- monotonicNanoseconds()) / 1_000_000))
            guard poll(&descriptor, 1, waitMilliseconds) > 0 else { break }
            if recv(client, &scratch, scratch.count, 0) <= 0 { break }
        }
        close(client)
        finishRejection()
    }

    private func finishRejection() {
        condition.lock()
        rejectionsInFlight -= 1
        condition.unlock()
    }

    func connectionFinished(_ id: Int) {
        condition.lock()
        connections[id] = nil
        condition.broadcast()
        condition.unlock()
    }

    /// Server-side failures worth an operator's attention go to the same sink as the request log.
    func report(_ message: String) {
        configuration.log?("error: \(message)")
    }
}
