// Slow and idle clients over raw sockets: error answers close instead of draining, bodies below the minimum
// rate are cut off, idle keep-alive connections go after the idle timeout (sooner under pressure), and a
// request is served while many connections wait without a thread each.
import BatchHTTP
import Foundation
import Glibc
import XCTest

final class HTTPSlowClientTests: XCTestCase {
    private var servers: [HTTPServer] = []

    override func tearDown() {
        for server in servers { server.stop(gracePeriod: 1) }
        servers = []
        super.tearDown()
    }

    private func start(_ configure: (inout HTTPServer.Configuration) -> Void, handler: @escaping HTTPServer.Handler) throws -> (HTTPServer, Int) {
        var configuration = HTTPServer.Configuration()
        configure(&configuration)
        let server = HTTPServer(configuration: configuration, handler: handler)
        servers.append(server)
        return (server, try server.start().port)
    }

    /// A refused request whose client keeps trickling its body is closed soon after the answer; draining it
    /// would hold the connection (and, before, a thread) for as long as the client cares to trickle.
    func testAnErrorAnswerClosesInsteadOfDrainingATricklingBody() throws {
        let (_, port) = try start({ $0.bodyReadTimeout = 5 }) { _ in throw HTTPError(.forbidden, "no") }
        let client = try RawHTTPClient(port: port)
        try client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nabc")
        XCTAssertEqual(try client.readResponse().status, 403)
        let answered = Date()
        var closed = false
        while Date().timeIntervalSince(answered) < 6 {
            if (try? client.send("x")) == nil { closed = true; break }
            var descriptor = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, 100) > 0 {
                var byte: UInt8 = 0
                if recv(client.fd, &byte, 1, Int32(MSG_DONTWAIT)) <= 0 { closed = true; break }
            }
        }
        XCTAssertTrue(closed, "the connection is closed while the client still trickles")
        XCTAssertLessThan(Date().timeIntervalSince(answered), 3.5)
    }

    func testABodyBelowTheMinimumRateIsCutOffAfterTheGracePeriod() throws {
        let (_, port) = try start({ c in
            c.bodyReadTimeout = 10
            c.minBodyRate = 1000
            c.bodyRateGracePeriod = 0.5
        }) { request in .text("\(try request.body.readAll(limit: 1 << 20).count)") }
        let client = try RawHTTPClient(port: port)
        try client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
        let began = Date()
        var status = 0
        while Date().timeIntervalSince(began) < 8 {
            // One byte every 100 ms: 10 bytes/s, well under 1000, and never idle long enough for the read timeout.
            guard (try? client.send("a")) != nil else { break }
            var pending: Int32 = 0
            if ioctl(client.fd, UInt(FIONREAD), &pending) == 0 && pending > 0 { status = try client.readResponse().status; break }
            usleep(100_000)
        }
        XCTAssertEqual(status, 408)
        XCTAssertLessThan(Date().timeIntervalSince(began), 4, "cut off soon after the grace period, not after the read timeout")
    }

    func testAFastBodyIsNotCutOffByTheMinimumRate() throws {
        let (_, port) = try start({ c in
            c.minBodyRate = 1000
            c.bodyRateGracePeriod = 0.2
        }) { request in .text("\(try request.body.readAll(limit: 8 << 20).count)") }
        let client = try RawHTTPClient(port: port)
        let body = String(repeating: "z", count: 4 << 20)
        let response = try client.sendAndRead("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "\(4 << 20)")
    }

    func testIdleKeepAliveConnectionsCloseAfterTheIdleTimeoutAndSoonerUnderPressure() throws {
        let (_, port) = try start({ c in
            c.idleTimeout = 1
            c.pressureTimeout = 0.2
            c.maxConnections = 64
        }, handler: echoHandler)
        let one = try RawHTTPClient(port: port)
        XCTAssertEqual(try one.sendAndRead("GET / HTTP/1.1\r\nHost: t\r\n\r\n").status, 200)
        let began = Date()
        XCTAssertTrue(one.isClosedByPeer())
        XCTAssertGreaterThan(Date().timeIntervalSince(began), 0.7, "kept for the idle timeout")

        // More than half the limit open: the idle timeout drops to the pressure timeout.
        let crowd = try (0..<40).map { _ in try RawHTTPClient(port: port) }
        for client in crowd { XCTAssertEqual(try client.sendAndRead("GET / HTTP/1.1\r\nHost: t\r\n\r\n").status, 200) }
        let crowded = Date()
        XCTAssertTrue(crowd[0].isClosedByPeer())
        XCTAssertLessThan(Date().timeIntervalSince(crowded), 0.9, "closed sooner under pressure")
    }

    /// Handlers stuck for a long time (slow uploads, slow disks) make the pool grow past its core, so a new
    /// request is still answered.
    func testThePoolGrowsPastHandlersThatBlock() throws {
        let release = DispatchSemaphore(value: 0)
        let (server, port) = try start({ _ in }) { request in
            if request.path == "/block" { _ = release.wait(timeout: .now() + 20) }
            return .text("ok")
        }
        defer { for _ in 0..<40 { release.signal() } }
        let blocked = try (0..<40).map { _ in try RawHTTPClient(port: port) }
        for client in blocked { try client.send("GET /block HTTP/1.1\r\nHost: t\r\n\r\n") }
        let deadline = Date().addingTimeInterval(10)
        while server.statistics.workers < 40 && Date() < deadline { usleep(10_000) }
        let probe = try RawHTTPClient(port: port)
        XCTAssertEqual(try probe.sendAndRead("GET /ok HTTP/1.1\r\nHost: t\r\n\r\n").status, 200)
        XCTAssertGreaterThan(server.statistics.workers, 40, "a worker for each blocked handler, and one for the probe")
    }

    func testManyWaitingConnectionsCostNoThreadEach() throws {
        let (server, port) = try start({ $0.headerReadTimeout = 30 }, handler: echoHandler)
        var waiting: [RawHTTPClient] = []
        for i in 0..<300 {
            let client = try RawHTTPClient(port: port)
            if i % 2 == 0 { try client.send("GET / HTTP/1.1\r\nHost: t\r\nX-Half: ") }
            waiting.append(client)
        }
        let probe = try RawHTTPClient(port: port)
        XCTAssertEqual(try probe.sendAndRead("GET /probe HTTP/1.1\r\nHost: t\r\n\r\n").status, 200)
        let stats = server.statistics
        XCTAssertGreaterThanOrEqual(stats.connections, 300)
        XCTAssertLessThan(stats.workers, 16, "waiting connections hold no worker: \(stats)")
        _ = waiting
    }
}
