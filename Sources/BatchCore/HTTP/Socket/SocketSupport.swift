// Low-level helpers of the HTTP server: monotonic time, socket options, address formatting, detached threads.
import Glibc

/// Socket-level failures inside the server; the body and writer APIs translate them into public errors.
enum HTTPIOError: Error {
    case timedOut
    /// The peer closed the connection.
    case closed
    /// The server is stopping and the connection was idle.
    case stopping
    case failed(Int32)
    /// A framing line did not fit the limit.
    case lineTooLong
}

@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

func nanoseconds(_ seconds: Double) -> UInt64 {
    guard seconds > 0 else { return 0 }
    // Clamp so that an "infinite" configured timeout cannot overflow the deadline arithmetic.
    return UInt64(min(seconds, 100 * 365 * 86_400) * 1_000_000_000)
}

func setSocketOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
    var value = value
    _ = setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
}

func setSendTimeout(_ fd: Int32, seconds: Double) {
    let clamped = max(0.001, min(seconds, 1_000_000))
    var time = timeval(tv_sec: Int(clamped), tv_usec: Int((clamped - Double(Int(clamped))) * 1_000_000))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
}

/// `host:port`, or `[host]:port` for IPv6, from a socket address.
func formatSocketAddress(_ storage: UnsafePointer<sockaddr_storage>) -> (host: String, port: Int)? {
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    switch Int32(storage.pointee.ss_family) {
    case AF_INET:
        return storage.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
            var ip = address.pointee.sin_addr
            guard inet_ntop(AF_INET, &ip, &text, socklen_t(text.count)) != nil else { return nil }
            return (String(cString: text), Int(UInt16(bigEndian: address.pointee.sin_port)))
        }
    case AF_INET6:
        return storage.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
            var ip = address.pointee.sin6_addr
            guard inet_ntop(AF_INET6, &ip, &text, socklen_t(text.count)) != nil else { return nil }
            return (String(cString: text), Int(UInt16(bigEndian: address.pointee.sin6_port)))
        }
    default:
        return nil
    }
}

func joinHostPort(_ host: String, _ port: Int) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
}

private final class ThreadEntry {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Starts a detached pthread. Foundation's Thread would do, but pthreads let us size the stack and skip the
/// run-loop machinery on a path taken once per connection.
func spawnDetachedThread(stackSize: Int = 4 << 20, _ body: @escaping () -> Void) -> Bool {
    let entry = Unmanaged.passRetained(ThreadEntry(body)).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    pthread_attr_setstacksize(&attributes, stackSize)
    var thread = pthread_t()
    let result = pthread_create(&thread, &attributes, { argument in
        guard let argument else { return nil }
        let entry = Unmanaged<ThreadEntry>.fromOpaque(argument).takeRetainedValue()
        entry.body()
        return nil
    }, entry)
    if result != 0 {
        Unmanaged<ThreadEntry>.fromOpaque(entry).release()
        return false
    }
    return true
}
