// HTTPServer: an embeddable HTTP/1.1 server. One reactor thread holds every connection that is between
// requests (new, idle keep-alive, sending its head slowly, lingering after an error); a pool of worker
// threads runs the handlers.
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

/// Serves HTTP/1.1 with a synchronous handler called on a worker thread.
///
/// Why this shape: a connection costs a thread only while a handler runs for it. Until its request head is
/// complete it sits in the reactor's poll set (a buffer, no thread), so a thousand idle or slowloris
/// connections cost a thousand small buffers, not a thousand threads, and a well-behaved request is handed
/// to a worker as soon as its head is in. Handlers stay simple (they may block on disk or on other servers)
/// and bodies stream on the worker. Slow bodies are cut off by a minimum rate after a grace period; error
/// answers close instead of draining; idle connections are closed after a few seconds, sooner under
/// pressure; and at the connection limit the longest-idle connection makes room for a new one.
/// `@unchecked Sendable`: the mutable state is guarded by `condition` (connections, reactor hand-over lists,
/// state) or `work` (the worker queue); `configuration` and `handler` are immutable.
public final class HTTPServer: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// An IPv4 or IPv6 literal (`[::1]` or `::1`) or a name such as `localhost`.
        public var host: String
        /// 0 picks a free port; `start()` reports which.
        public var port: Int
        /// Open connections at most. At the limit the longest-idle connection is closed to admit a new one;
        /// when every connection is busy, the new one is answered 503 and closed.
        public var maxConnections: Int
        /// Handlers running at once (worker threads); further complete requests wait in a queue.
        public var maxWorkers: Int
        /// The request line plus header fields; more is answered 431.
        public var maxHeaderBytes: Int
        /// A longer request line is answered 414.
        public var maxRequestLineBytes: Int
        /// Time allowed to send a whole request head, from the connection or from its first byte; then 408.
        public var headerReadTimeout: TimeInterval
        /// How long a kept-alive connection may wait for its next request before it is closed silently.
        public var idleTimeout: TimeInterval
        /// The idle and head timeouts when more than half the connection limit is in use.
        public var pressureTimeout: TimeInterval
        /// How long one read of the request body may wait for data; then the body read fails (408).
        public var bodyReadTimeout: TimeInterval
        /// After `bodyRateGracePeriod`, a body must have arrived at `minBodyRate` bytes per second on average
        /// (mod_reqtimeout's rule), or the read fails (408). 0 turns the rule off.
        public var minBodyRate: Int
        public var bodyRateGracePeriod: TimeInterval
        /// How long one write may wait for the client to take data; then the connection is closed.
        public var sendTimeout: TimeInterval
        /// Unread body bytes discarded to keep a connection alive after a successful answer; beyond that, and
        /// after any error answer, the connection is closed instead.
        public var maxDrainBytes: Int
        /// Receives one line per request, `METHOD /path STATUS BYTESB MSms` (the query and headers are never
        /// logged, as they may carry secrets), and server-side failures of handlers. Called on worker threads.
        public var log: (@Sendable (String) -> Void)?
        /// Sent as `Server:` on every answer (handler answers and the server's own 4xx/5xx alike) unless the
        /// handler set one.
        public var serverName: String?

        public init(host: String = "127.0.0.1", port: Int = 0, maxConnections: Int = 4096, maxWorkers: Int = 256,
                    maxHeaderBytes: Int = 64 * 1024, maxRequestLineBytes: Int = 8 * 1024,
                    headerReadTimeout: TimeInterval = 10, idleTimeout: TimeInterval = 5, pressureTimeout: TimeInterval = 1,
                    bodyReadTimeout: TimeInterval = 30, minBodyRate: Int = 1024, bodyRateGracePeriod: TimeInterval = 10,
                    sendTimeout: TimeInterval = 60, maxDrainBytes: Int = 1 << 20, log: (@Sendable (String) -> Void)? = nil) {
            self.host = host
            self.port = port
            self.maxConnections = maxConnections
            self.maxWorkers = maxWorkers
            self.maxHeaderBytes = maxHeaderBytes
            self.maxRequestLineBytes = maxRequestLineBytes
            self.headerReadTimeout = headerReadTimeout
            self.idleTimeout = idleTimeout
            self.pressureTimeout = pressureTimeout
            self.bodyReadTimeout = bodyReadTimeout
            self.minBodyRate = minBodyRate
            self.bodyRateGracePeriod = bodyRateGracePeriod
            self.sendTimeout = sendTimeout
            self.maxDrainBytes = maxDrainBytes
            self.log = log
        }
    }

    /// Answers one request. It runs on a worker thread and may block. Thrown `HTTPError`s and
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

    /// A socket the reactor drains for a moment before closing it, so that the answer it was just sent is not
    /// destroyed by a TCP reset (the client may still be sending its body).
    private struct Lingering {
        var fd: Int32
        var deadline: UInt64
        var discarded = 0
    }

    private let condition = NSCondition()
    // Everything below is guarded by `condition`.
    private var state = State.idle
    private var boundAddress: HTTPServerAddress?
    private var reactorRunning = false
    /// Every open connection, by id: waiting in the reactor, queued, or with a worker.
    private var connections: [Int: HTTPConnection] = [:]
    /// The connections between requests, which the reactor polls.
    private var waiting: [Int: HTTPConnection] = [:]
    private var lingering: [Lingering] = []
    private var nextConnectionID = 0
    /// `maxConnections`, or less when the descriptor limit would run out first (eviction must start before
    /// accept fails with EMFILE).
    private var connectionLimit = 0
    /// Written once by `stop`; never read, so it stays readable and wakes every poll that watches it.
    private var stopPipe: (read: Int32, write: Int32) = (-1, -1)
    /// Written when a worker hands a connection back, so the reactor polls it from now on.
    private var wakePipe: (read: Int32, write: Int32) = (-1, -1)

    private let work = NSCondition()
    // Guarded by `work`.
    private var queue: [(connection: HTTPConnection, since: UInt64)] = []
    private var queueStart = 0
    private var workers = 0
    private var idleWorkers = 0
    private var busyWorkers = 0
    /// Threads spawned that have not reached their loop yet.
    private var startingWorkers = 0
    /// When a worker last finished a request: workers that keep finishing are busy, not stuck.
    private var lastCompletion: UInt64 = 0

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

    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return state != .running
    }

    /// Open connections and worker threads now, for tests and benchmarks.
    public var statistics: (connections: Int, waiting: Int, workers: Int) {
        condition.lock()
        let open = connections.count, idle = waiting.count
        condition.unlock()
        work.lock()
        defer { work.unlock() }
        return (open, idle, workers)
    }

    /// Binds, listens and starts the reactor thread. A server starts once.
    @discardableResult
    public func start() throws -> HTTPServerAddress {
        condition.lock()
        defer { condition.unlock() }
        guard state == .idle else { throw HTTPServerError.alreadyStarted }
        // A client that disconnects while we write must cost an EPIPE, not the process.
        signal(SIGPIPE, SIG_IGN)
        let (listener, address) = try HTTPServer.listen(configuration)
        // pipe2 and accept4 are not exported by the Glibc module; the window before FD_CLOEXEC only matters to
        // a concurrent exec, and Foundation's Process closes inherited descriptors anyway.
        var stopDescriptors: [Int32] = [-1, -1]
        var wakeDescriptors: [Int32] = [-1, -1]
        guard pipe(&stopDescriptors) == 0 else {
            let code = errno
            close(listener)
            throw HTTPServerError.systemCall("pipe", errno: code)
        }
        guard pipe(&wakeDescriptors) == 0 else {
            let code = errno
            close(listener)
            close(stopDescriptors[0]); close(stopDescriptors[1])
            throw HTTPServerError.systemCall("pipe", errno: code)
        }
        for descriptor in stopDescriptors + wakeDescriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        for descriptor in wakeDescriptors { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) }
        stopPipe = (stopDescriptors[0], stopDescriptors[1])
        wakePipe = (wakeDescriptors[0], wakeDescriptors[1])
        var files = rlimit()
        let descriptors = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files) == 0 ? Int(clamping: files.rlim_cur) : 1024
        // Each connection is one descriptor; handlers need some of their own (files, backends).
        connectionLimit = max(1, min(configuration.maxConnections, descriptors - 256))
        reactorRunning = true
        guard spawnDetachedThread(stackSize: 1 << 20, { [self] in reactorLoop(listener: listener) }) else {
            reactorRunning = false
            close(listener)
            for descriptor in stopDescriptors + wakeDescriptors { close(descriptor) }
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
        while reactorRunning {
            condition.wait()
        }
        let graceDeadline = Date(timeIntervalSinceNow: max(0, gracePeriod))
        while !connections.isEmpty && condition.wait(until: graceDeadline) {}
        if !connections.isEmpty {
            // Wakes workers blocked on their sockets; a handler stuck elsewhere finishes on its own.
            for connection in connections.values {
                shutdown(connection.fd, Int32(SHUT_RDWR))
            }
            let shutdownDeadline = Date(timeIntervalSinceNow: 2)
            while !connections.isEmpty && condition.wait(until: shutdownDeadline) {}
        }
        if connections.isEmpty {
            close(stopPipe.read)
            close(stopPipe.write)
            close(wakePipe.read)
            close(wakePipe.write)
        }
        // Otherwise the pipes are left open: a straggling thread may still use them, and a reused number would lie.
        state = .stopped
        condition.broadcast()
        condition.unlock()
        work.lock()
        work.broadcast()
        work.unlock()
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

    // MARK: - Listening

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

    // MARK: - The reactor

    private var underPressure: Bool { connections.count * 2 > connectionLimit }

    private func reactorLoop(listener: Int32) {
        var descriptors: [pollfd] = []
        var polled: [HTTPConnection] = []
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            condition.lock()
            descriptors.removeAll(keepingCapacity: true)
            polled.removeAll(keepingCapacity: true)
            descriptors.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0))
            descriptors.append(pollfd(fd: stopPipe.read, events: Int16(POLLIN), revents: 0))
            descriptors.append(pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0))
            for connection in waiting.values {
                descriptors.append(pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0))
                polled.append(connection)
            }
            let lingerCount = lingering.count
            for entry in lingering { descriptors.append(pollfd(fd: entry.fd, events: Int16(POLLIN), revents: 0)) }
            let wakeAt = nextDeadlineLocked()
            condition.unlock()

            let now = monotonicNanoseconds()
            var timeout = wakeAt.map { Int32(min(max(0, Int64(($0 &- min($0, now)) / 1_000_000) + 1), 250)) } ?? 250
            // While requests wait for a worker, look again soon: the pool grows if they keep waiting.
            if growWorkersIfWaiting() { timeout = min(timeout, 10) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if ready < 0 && errno != EINTR {
                report("reactor: poll failed: \(String(cString: strerror(errno)))")
                usleep(10_000)
            }
            if descriptors[1].revents != 0 { break }
            if descriptors[2].revents != 0 {
                while read(wakePipe.read, &scratch, scratch.count) > 0 {}
            }
            if ready > 0 {
                for (index, connection) in polled.enumerated() where descriptors[3 + index].revents != 0 {
                    readable(connection)
                }
                if lingerCount > 0 { drainLingering(descriptors[(3 + polled.count)...].map { ($0.fd, $0.revents) }, &scratch) }
                if descriptors[0].revents != 0 { acceptAll(listener) }
            }
            expireDeadlines()
        }
        // Closing the listener makes the kernel refuse new connections from here on.
        close(listener)
        condition.lock()
        for connection in waiting.values {
            connections[connection.id] = nil
            close(connection.fd)
        }
        waiting.removeAll()
        for entry in lingering { close(entry.fd) }
        lingering.removeAll()
        reactorRunning = false
        condition.broadcast()
        condition.unlock()
    }

    /// When the reactor must next look at the clock: the nearest connection or linger deadline.
    private func nextDeadlineLocked() -> UInt64? {
        var nearest: UInt64?
        let pressure = underPressure
        for connection in waiting.values {
            let deadline = connection.waitDeadline(underPressure: pressure)
            nearest = min(nearest ?? deadline, deadline)
        }
        for entry in lingering { nearest = min(nearest ?? entry.deadline, entry.deadline) }
        return nearest
    }

    private func readable(_ connection: HTTPConnection) {
        switch connection.receiveWaiting() {
        case .moreNeeded:
            return
        case .closed:
            condition.lock()
            waiting[connection.id] = nil
            connections[connection.id] = nil
            condition.broadcast()
            condition.unlock()
            close(connection.fd)
        case .ready:
            condition.lock()
            waiting[connection.id] = nil
            condition.unlock()
            dispatch(connection)
        }
    }

    private func expireDeadlines() {
        let now = monotonicNanoseconds()
        var expired: [HTTPConnection] = []
        var finishedLingering: [Int32] = []
        condition.lock()
        let pressure = underPressure
        for connection in waiting.values where connection.waitDeadline(underPressure: pressure) <= now {
            expired.append(connection)
        }
        for connection in expired {
            waiting[connection.id] = nil
            connections[connection.id] = nil
        }
        lingering.removeAll { entry in
            if entry.deadline <= now || pressure { finishedLingering.append(entry.fd); return true }
            return false
        }
        if !expired.isEmpty { condition.broadcast() }
        condition.unlock()
        for fd in finishedLingering { close(fd) }
        for connection in expired {
            // A head begun and not finished in time is answered 408; a connection that sent nothing just goes.
            if connection.hasPartialHead {
                connection.sendNow(.error(.requestTimeout, "timed out reading the request headers"))
                linger(connection.fd)
            } else {
                close(connection.fd)
            }
        }
    }

    private func drainLingering(_ states: [(Int32, Int16)], _ scratch: inout [UInt8]) {
        var closing: [Int32] = []
        condition.lock()
        for (fd, revents) in states where revents != 0 {
            guard let index = lingering.firstIndex(where: { $0.fd == fd }) else { continue }
            let received = recv(fd, &scratch, scratch.count, Int32(MSG_DONTWAIT))
            if received > 0 && lingering[index].discarded + received <= 1 << 20 {
                lingering[index].discarded += received
                continue
            }
            if received < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            closing.append(fd)
            lingering.remove(at: index)
        }
        condition.unlock()
        for fd in closing { close(fd) }
    }

    /// Hands a socket whose write side is done to the reactor for a short lingering close.
    func linger(_ fd: Int32) {
        shutdown(fd, Int32(SHUT_WR))
        condition.lock()
        // Under pressure, or with too many already lingering, the answer's safety is not worth the slot.
        if state != .running || underPressure || lingering.count >= 1024 {
            condition.unlock()
            close(fd)
            return
        }
        lingering.append(Lingering(fd: fd, deadline: monotonicNanoseconds() &+ nanoseconds(min(2, configuration.bodyReadTimeout))))
        condition.unlock()
        wakeReactor()
    }

    private func wakeReactor() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakePipe.write, &byte, 1)
    }

    private func acceptAll(_ listener: Int32) {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listener, $0, &length)
                }
            }
            if client < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR, ECONNABORTED, EPROTO: continue
                default:
                    // Out of descriptors or memory: the pending connection stays queued; back off a little so
                    // the next poll, which finds it again at once, does not spin.
                    report("accept failed: \(String(cString: strerror(errno)))")
                    usleep(10_000)
                    return
                }
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            // Linux does not pass the listener's O_NONBLOCK to accepted sockets: they block, as workers expect;
            // the reactor reads them with MSG_DONTWAIT.
            let remote = formatSocketAddress(&storage).map { joinHostPort($0.host, $0.port) } ?? "unknown"
            admit(client, remoteAddress: remote)
        }
    }

    private func admit(_ client: Int32, remoteAddress: String) {
        condition.lock()
        var evicted: HTTPConnection?
        if connections.count >= connectionLimit {
            // Make room by closing the connection idle longest (one that sent nothing since its last answer
            // first, then the slowest head); when every connection is busy, the new one is refused.
            evicted = waiting.values.min { a, b in
                if a.hasPartialHead != b.hasPartialHead { return !a.hasPartialHead }
                return a.waitingSince < b.waitingSince
            }
            if let evicted {
                waiting[evicted.id] = nil
                connections[evicted.id] = nil
            } else {
                condition.unlock()
                report("connection limit of \(connectionLimit) reached, every connection busy: \(remoteAddress) answered 503")
                refuseOverCapacity(client)
                return
            }
        }
        let id = nextConnectionID
        nextConnectionID += 1
        let connection = HTTPConnection(fd: client, id: id, server: self, remoteAddress: remoteAddress,
                                        acceptedAt: monotonicNanoseconds())
        connections[id] = connection
        waiting[id] = connection
        condition.unlock()
        if let evicted { close(evicted.fd) }
        setSocketOption(client, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        setSendTimeout(client, seconds: configuration.sendTimeout)
    }

    private func refuseOverCapacity(_ client: Int32) {
        var response = Array("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n".utf8)
        let body = gatewayErrorBody(status: .serviceUnavailable, message: "server is at its connection limit; retry later")
        response.append(contentsOf: "Content-Length: \(body.count)\r\nConnection: close\r\nRetry-After: 1\r\n\r\n".utf8)
        response.append(contentsOf: body)
        _ = response.withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        shutdown(client, Int32(SHUT_WR))
        condition.lock()
        if lingering.count < 1024 {
            lingering.append(Lingering(fd: client, deadline: monotonicNanoseconds() &+ 1_000_000_000))
            condition.unlock()
        } else {
            condition.unlock()
            close(client)
        }
    }

    // MARK: - Workers

    private func dispatch(_ connection: HTTPConnection) {
        work.lock()
        queue.append((connection, monotonicNanoseconds()))
        work.signal()
        let spawn = shouldSpawnLocked()
        work.unlock()
        if spawn { spawnWorker() }
    }

    /// Workers started freely; beyond them, only for requests that have waited a while.
    private static let coreWorkers = 16
    private static let patience: UInt64 = 20_000_000

    /// A new worker when requests wait for more threads than are free or starting. Beyond the core, only when
    /// the oldest request has waited 20 ms and no worker has finished one for 20 ms: workers that keep
    /// finishing requests are short of CPU, not of threads (a flood of quick 401s), while workers stuck in slow
    /// handlers (long uploads) make the pool grow.
    private func shouldSpawnLocked() -> Bool {
        let backlog = queue.count - queueStart
        guard backlog > idleWorkers + startingWorkers, startingWorkers < 4, workers < configuration.maxWorkers else { return false }
        let now = monotonicNanoseconds()
        if workers >= HTTPServer.coreWorkers,
           now &- queue[queueStart].since < HTTPServer.patience || now &- lastCompletion < HTTPServer.patience { return false }
        workers += 1
        startingWorkers += 1
        return true
    }

    /// Spawns a worker if requests have waited too long; true while any request waits.
    private func growWorkersIfWaiting() -> Bool {
        work.lock()
        let waiting = queue.count > queueStart
        let spawn = waiting && shouldSpawnLocked()
        work.unlock()
        if spawn { spawnWorker() }
        return waiting
    }

    private func spawnWorker() {
        if !spawnDetachedThread({ [self] in workerLoop() }) {
            work.lock()
            workers -= 1
            startingWorkers -= 1
            work.unlock()
            report("cannot start a worker thread")
        }
    }

    private func workerLoop() {
        work.lock()
        startingWorkers -= 1
        while true {
            while queueStart == queue.count {
                if isStoppedForWorkers { workers -= 1; work.unlock(); return }
                idleWorkers += 1
                // Threads beyond the core go soon after a burst; the core stays for the next one.
                let woke = work.wait(until: Date(timeIntervalSinceNow: workers > HTTPServer.coreWorkers ? 2 : 30))
                idleWorkers -= 1
                // Threads a burst needed go away once it is over.
                if !woke && queueStart == queue.count { workers -= 1; work.unlock(); return }
            }
            let connection = queue[queueStart].connection
            queueStart += 1
            if queueStart > 1024 && queueStart * 2 > queue.count {
                queue.removeFirst(queueStart)
                queueStart = 0
            }
            busyWorkers += 1
            let spawn = shouldSpawnLocked()
            work.unlock()
            if spawn { spawnWorker() }
            serve(connection)
            work.lock()
            busyWorkers -= 1
            lastCompletion = monotonicNanoseconds()
        }
    }

    private var isStoppedForWorkers: Bool {
        condition.lock()
        defer { condition.unlock() }
        return state == .stopped
    }

    /// Serves the requests whose heads are buffered, then hands the connection back to the reactor, to the
    /// lingering close, or closes it.
    private func serve(_ connection: HTTPConnection) {
        switch connection.serveBuffered() {
        case .keepAlive:
            condition.lock()
            if state != .running {
                connections[connection.id] = nil
                condition.broadcast()
                condition.unlock()
                close(connection.fd)
                return
            }
            connection.startWaiting()
            waiting[connection.id] = connection
            condition.unlock()
            wakeReactor()
        case .close:
            connectionFinished(connection.id)
            close(connection.fd)
        case .closeAfterDraining:
            connectionFinished(connection.id)
            linger(connection.fd)
        }
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
