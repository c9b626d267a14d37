// End to end: 1,000 connections without credentials that idle, send heads or bodies a byte at a time, or
// idle after a 401, while a well-behaved client's GET is answered within a second each time; the server's
// threads and memory stay bounded (read from /proc/PID/status).
import Foundation
import Glibc
import XCTest

final class SlowClientTests: XCTestCase {
    func testAThousandSlowOrIdleConnectionsDoNotKeepAWellBehavedRequestWaiting() throws {
        let server = try LocalServer(["--quiet", "--api-key", "right-key"])
        let port = server.port
        // The threads a server has anyway (job workers, the inference pool): what requests add is measured against it.
        let baseline = RawGateway.procStatus(server.pid, "Threads") ?? 0
        let attackers = SlowAttackers(port: port)
        try attackers.open(perKind: 250)
        defer { attackers.stop() }
        XCTAssertGreaterThanOrEqual(attackers.openCount, 1000, "1,000 connections are open")

        var worst = 0.0, maxThreads = 0, maxRSS = 0, probes = 0
        let deadline = Date().addingTimeInterval(8)
        while Date() < deadline {
            attackers.trickle()
            let began = Date()
            let answer = try RawGateway.send(port: port, "GET", "/v1/accounts/local/datasets", headers: [("Authorization", "Bearer right-key")], timeout: 5)
            let took = Date().timeIntervalSince(began)
            XCTAssertEqual(answer.status, 200, "probe \(probes): \(answer)")
            XCTAssertLessThan(took, 1.0, "probe \(probes) waited \(took)s with \(attackers.openCount) slow connections open")
            worst = max(worst, took)
            probes += 1
            maxThreads = max(maxThreads, RawGateway.procStatus(server.pid, "Threads") ?? 0)
            maxRSS = max(maxRSS, RawGateway.procStatus(server.pid, "VmRSS") ?? 0)
            usleep(200_000)
        }
        print("slow clients: \(attackers.openCount) open at the end, \(attackers.opened) opened in all, \(probes) probes, worst \(Int(worst * 1000)) ms, "
              + "server threads <= \(maxThreads) (\(baseline) before), RSS <= \(maxRSS / 1024) MiB")
        XCTAssertGreaterThan(probes, 10)
        XCTAssertGreaterThan(baseline, 0)
        XCTAssertLessThan(maxThreads - baseline, 64, "threads for requests stay bounded, whatever the connections")
        XCTAssertLessThan(maxRSS, 300 * 1024, "memory stays bounded (kB)")
    }
}

/// Four kinds of unwelcome connections, kept open (reopened when the server closes them).
final class SlowAttackers {
    enum Kind: CaseIterable { case silent, slowHead, slowBody, idleAfter401 }
    struct Connection { var fd: Int32; var kind: Kind }
    let port: Int
    private var connections: [Connection] = []
    private(set) var opened = 0

    init(port: Int) {
        self.port = port
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < 4096 { limit.rlim_cur = min(limit.rlim_max, 4096); setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) }
    }

    var openCount: Int { connections.filter { $0.fd >= 0 }.count }

    func open(perKind: Int) throws {
        for kind in Kind.allCases {
            for _ in 0..<perKind { if let c = try? connect(kind) { connections.append(c) } }
        }
    }

    private func connect(_ kind: Kind) throws -> Connection {
        let fd = try RawGateway.connect(port: port, timeout: 2)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        opened += 1
        let host = "Host: 127.0.0.1:\(port)\r\n"
        switch kind {
        case .silent: break
        case .slowHead: send(fd, "GET /v1/accounts/local/datasets HTTP/1.1\r\n\(host)")
        case .slowBody:
            send(fd, "POST /v1/accounts/local/datasets HTTP/1.1\r\n\(host)Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{")
        case .idleAfter401: send(fd, "GET /v1/accounts/local/datasets HTTP/1.1\r\n\(host)\r\n")
        }
        return Connection(fd: fd, kind: kind)
    }

    private func send(_ fd: Int32, _ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
    }

    /// One byte more on each trickling connection; connections the server closed are opened again.
    func trickle() {
        var scratch = [UInt8](repeating: 0, count: 4096)
        for i in connections.indices {
            let c = connections[i]
            if c.fd < 0 {
                if let again = try? connect(c.kind) { connections[i] = again }
                continue
            }
            let n = recv(c.fd, &scratch, scratch.count, Int32(MSG_DONTWAIT))
            let closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            if closed {
                close(c.fd)
                connections[i] = (try? connect(c.kind)) ?? Connection(fd: -1, kind: c.kind)
                continue
            }
            switch c.kind {
            case .slowHead: send(c.fd, "X-Slow: a\r\n")
            case .slowBody: send(c.fd, "a")
            case .silent, .idleAfter401: break
            }
        }
    }

    func stop() {
        for c in connections where c.fd >= 0 { close(c.fd) }
        connections = []
    }
}
