// What the network fixtures (TLSFront, ScriptedHTTPServer) share: an environment without the user's proxies and
// CA settings, free loopback ports, waiting for a port or a file, and counting the client's retry notes.
import Foundation
import XCTest

extension Harness {
    /// The variables through which the machine's network setup would reach batchctl (and libcurl): CA trust
    /// and proxies, in both spellings. A test of TLS trust or of the plain path sets the ones it means.
    static let networkVariables: [String] = {
        let names = ["SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"]
        return names + names.map { $0.lowercased() }
    }()

    /// `cleanEnvironment()` without any of `networkVariables`, with a short retry backoff
    /// (`BATCHCTL_RETRY_BASE=0.05`), then `extra` on top.
    static func networkEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = cleanEnvironment()
        for name in networkVariables { env.removeValue(forKey: name) }
        env["BATCHCTL_RETRY_BASE"] = "0.05"
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// A loopback port that was free a moment ago (another process may take it before it is used: callers
    /// that bind it retry on "address in use").
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` seconds pass; returns whether it held.
    static func wait(timeout: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    /// The lines of stderr that are retry notes ("...; retrying in 0.1s (attempt 2 of 4)").
    static func retryNotes(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.lowercased().contains("retrying") }
    }

    /// Runs `body` and returns its result with the wall-clock seconds it took.
    static func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let start = Date()
        let value = try body()
        return (value, Date().timeIntervalSince(start))
    }
}
