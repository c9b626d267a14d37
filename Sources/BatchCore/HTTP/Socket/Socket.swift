// The client's socket layer: a monotonic clock, the one capped conversion from seconds to socket timeouts,
// connect with a deadline, send-all. Everything above BatchHTTP reaches the network through HTTPClient.
import Glibc

/// The longest timeout anything here accepts: about 30 years. Larger values (or infinity) would overflow
/// `timeval`, `Int` nanoseconds or libcurl's milliseconds; callers refuse them as usage errors before this.
public let maximumTimeout: Double = 1_000_000_000

/// Seconds on the monotonic clock: immune to wall-clock jumps, for deadlines.
@inline(__always)
public func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

public enum SocketTimeout {
    /// Clamps a timeout to what every consumer can represent: at least 1 ms, at most `maximumTimeout`.
    /// NaN and negative values become 1 ms, so a deadline already passed fails at once instead of blocking.
    public static func clamp(_ seconds: Double) -> Double {
        guard seconds.isFinite else { return seconds > 0 ? maximumTimeout : 0.001 }
        return Swift.min(Swift.max(seconds, 0.001), maximumTimeout)
    }

    /// `timeval` for SO_RCVTIMEO / SO_SNDTIMEO (a zero timeval would mean "wait forever").
    public static func timeval(_ seconds: Double) -> Glibc.timeval {
        let s = clamp(seconds)
        let whole = s.rounded(.down)
        return Glibc.timeval(tv_sec: Int(whole), tv_usec: Swift.max(Int((s - whole) * 1e6), whole == 0 ? 1000 : 0))
    }

    /// Milliseconds for poll(2), capped to Int32.
    public static func pollMilliseconds(_ seconds: Double) -> Int32 {
        Int32(Swift.min(Double(Int32.max), Swift.max(1, (clamp(seconds) * 1000).rounded(.up))))
    }

    public static func set(_ fd: Int32, _ option: Int32, _ seconds: Double) {
        var tv = timeval(seconds)
        setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<Glibc.timeval>.size))
    }
}

/// Why a socket operation failed, before HTTPClient names the URL.
enum SocketFailure: Error {
    case resolve(String)
    case connect(String)
    case connectTimedOut
    case timedOut
    /// The peer reset or closed the connection; `errno` when there was one.
    case closed(Int32)
    case failed(Int32)
}

func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

enum TCPSocket {
    /// A connected, blocking TCP socket (TCP_NODELAY, close-on-exec), tried over every address of `host`
    /// until `deadline` (monotonic seconds).
    static func connect(host: String, port: Int, deadline: Double) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else { throw SocketFailure.resolve(String(cString: gai_strerror(rc))) }
        defer { freeaddrinfo(list) }
        var failure = SocketFailure.connect("no address")
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            if fd < 0 { failure = .connect(errnoText(errno)); continue }
            var connected = Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0
            if !connected && errno == EINPROGRESS {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                var ready: Int32 = -1
                repeat {
                    let left = deadline - monotonicSeconds()
                    if left <= 0 { ready = 0; break }
                    ready = poll(&p, 1, SocketTimeout.pollMilliseconds(left))
                } while ready < 0 && errno == EINTR
                if ready == 1 {
                    var soError: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
                    if soError == 0 { connected = true } else { failure = .connect(errnoText(soError)) }
                } else {
                    failure = .connectTimedOut
                }
            } else if !connected {
                failure = .connect(errnoText(errno))
            }
            if !connected { close(fd); continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return fd
        }
        throw failure
    }

    /// Sends every byte (SO_SNDTIMEO bounds each wait).
    static func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var sent = 0
        while sent < bytes.count {
            let n = send(fd, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            if n >= 0 { sent += n; continue }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { throw SocketFailure.timedOut }
            if code == EPIPE || code == ECONNRESET { throw SocketFailure.closed(code) }
            throw SocketFailure.failed(code)
        }
    }
}
