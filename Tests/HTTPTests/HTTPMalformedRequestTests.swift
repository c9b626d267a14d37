// Malformed and hostile input over raw sockets: each gets its 4xx and the server keeps serving.
import BatchHTTP
import Foundation
import Glibc
import XCTest

final class HTTPMalformedRequestTests: XCTestCase {
    private var server: HTTPServer!
    private var port = 0

    override func setUpWithError() throws {
        var configuration = HTTPServer.Configuration()
        configuration.maxHeaderBytes = 8 * 1024
        configuration.maxRequestLineBytes = 1024
        configuration.headerReadTimeout = 0.5
        configuration.bodyReadTimeout = 0.5
        configuration.maxConnections = 4
        server = HTTPServer(configuration: configuration) { request in
            let body = try request.body.readAll(limit: 1000)
            return .json("{\"received\":\(body.count)}")
        }
        port = try server.start().port
    }

    override func tearDown() {
        server.stop(gracePeriod: 1)
        super.tearDown()
    }

    /// Sends `request`, expects `status` with the gateway's error body and `code`, a closed connection, and a
    /// server that still answers a fresh connection.
    private func assertRefused(_ request: [UInt8], status: Int, code: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let client = try RawHTTPClient(port: port)
        try client.send(request)
        let response = try client.readResponse()
        XCTAssertEqual(response.status, status, file: file, line: line)
        XCTAssertEqual(response.headers["connection"], "close", file: file, line: line)
        let body = try response.json()
        XCTAssertEqual(body["code"] as? Int, code, file: file, line: line)
        XCTAssertNotNil(body["message"] as? String, file: file, line: line)
        XCTAssertEqual((body["details"] as? [Any])?.count, 0, file: file, line: line)
        XCTAssertTrue(client.isClosedByPeer(), "connection should close after \(status)", file: file, line: line)
        try assertStillServing(file: file, line: line)
    }

    private func assertRefused(_ request: String, status: Int, code: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        try assertRefused(Array(request.utf8), status: status, code: code, file: file, line: line)
    }

    private func assertStillServing(file: StaticString = #filePath, line: UInt = #line) throws {
        let client = try RawHTTPClient(port: port)
        let response = try client.sendAndRead("GET /ok HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(response.status, 200, "server should keep serving", file: file, line: line)
    }

    func testGarbageRequestLine() throws {
        try assertRefused("HELLO THERE\r\n\r\n", status: 400, code: 3)
        try assertRefused("GET\r\n\r\n", status: 400, code: 3)
        try assertRefused("GET /  HTTP/1.1\r\nHost: t\r\n\r\n", status: 400, code: 3)
        try assertRefused("GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n", status: 400, code: 3)
        try assertRefused("G(T / HTTP/1.1\r\nHost: t\r\n\r\n", status: 400, code: 3)
        try assertRefused("GET noslash HTTP/1.1\r\nHost: t\r\n\r\n", status: 400, code: 3)
        try assertRefused([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a], status: 400, code: 3)
    }

    func testUnsupportedVersion() throws {
        try assertRefused("GET / HTTP/2.0\r\nHost: t\r\n\r\n", status: 505, code: 12)
        try assertRefused("GET / HTTP/1\r\nHost: t\r\n\r\n", status: 400, code: 3)
    }

    func testBadHeaders() throws {
        try assertRefused("GET / HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n\r\n", status: 400, code: 3)
        try assertRefused("GET / HTTP/1.1\r\nHost: t\r\nNo-Colon\r\n\r\n", status: 400, code: 3)
        try assertRefused("GET / HTTP/1.1\r\nHost : t\r\n\r\n", status: 400, code: 3)
        try assertRefused("GET / HTTP/1.1\r\n\r\n", status: 400, code: 3)
        try assertRefused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400, code: 3)
        try assertRefused("GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n", status: 400, code: 3)
    }

    func testOversizedHeaderBlock() throws {
        let filler = (0..<200).map { "X-Filler-\($0): \(String(repeating: "v", count: 60))\r\n" }.joined()
        try assertRefused("GET / HTTP/1.1\r\nHost: t\r\n" + filler + "\r\n", status: 431, code: 8)
    }

    func testTooLongRequestLine() throws {
        try assertRefused("GET /" + String(repeating: "a", count: 2000) + " HTTP/1.1\r\nHost: t\r\n\r\n", status: 414, code: 8)
        // Refused as soon as the limit is passed, without waiting for the end of the line.
        let client = try RawHTTPClient(port: port)
        try client.send("GET /" + String(repeating: "b", count: 1500))
        XCTAssertEqual(try client.readResponse().status, 414)
    }

    func testBadContentLength() throws {
        try assertRefused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ten\r\n\r\n", status: 400, code: 3)
        try assertRefused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", status: 400, code: 3)
        try assertRefused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", status: 400, code: 3)
        try assertRefused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 4\r\n\r\nabcd", status: 400, code: 3)
        try assertRefused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999\r\n\r\n", status: 400, code: 3)
    }

    func testBothContentLengthAndChunked() throws {
        try assertRefused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                          status: 400, code: 3)
    }

    func testUnknownTransferCoding() throws {
        try assertRefused("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", status: 501, code: 12)
        try assertRefused("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", status: 400, code: 3)
    }

    func testBadChunkSize() throws {
        try assertRefused("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", status: 400, code: 3)
        try assertRefused("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n", status: 400, code: 3)
        try assertRefused("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", status: 400, code: 3)
    }

    func testBodyOverTheHandlersLimit() throws {
        let body = String(repeating: "a", count: 5000)
        try assertRefused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + body, status: 413, code: 8)
        let chunk = String(repeating: "b", count: 600)
        try assertRefused("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n0\r\n\r\n",
                          status: 413, code: 8)
    }

    func testClientStoppingMidHeadersGets408() throws {
        let client = try RawHTTPClient(port: port)
        try client.send("GET / HTTP/1.1\r\nHost: t\r\nX-Part")
        let began = Date()
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 408)
        XCTAssertEqual(try response.json()["code"] as? Int, 4)
        XCTAssertLessThan(Date().timeIntervalSince(began), 2)
        XCTAssertTrue(client.isClosedByPeer())
        try assertStillServing()
    }

    func testSlowClientTricklingHeadersIsCutOffByTheTotalTimeout() throws {
        let client = try RawHTTPClient(port: port)
        let began = Date()
        // Each byte arrives well within any per-read timeout; only a deadline for the whole head stops this.
        var status = 0
        for byte in "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ".utf8 + Array(repeating: UInt8(ascii: "s"), count: 100) {
            guard (try? client.send([byte])) != nil else { break }
            usleep(20_000)
            var pending: Int32 = 0
            if ioctl(client.fd, UInt(FIONREAD), &pending) == 0 && pending > 0 {
                status = try client.readResponse().status
                break
            }
        }
        XCTAssertEqual(status, 408)
        XCTAssertLessThan(Date().timeIntervalSince(began), 1.5)
    }

    func testClientStoppingMidBodyGets408() throws {
        let client = try RawHTTPClient(port: port)
        try client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly a part")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 408)
        try assertStillServing()
    }

    func testIdleConnectionWithoutARequestIsClosedSilently() throws {
        let client = try RawHTTPClient(port: port)
        XCTAssertTrue(client.isClosedByPeer(), "no request at all: closed after the header timeout, no 408")
    }

    /// At the limit, the connection idle longest makes room: a new client is served, the idle one is closed.
    func testAtTheLimitTheLongestIdleConnectionMakesRoom() throws {
        let held = try (0..<4).map { _ in try RawHTTPClient(port: port) }
        for client in held {
            XCTAssertEqual(try client.sendAndRead("GET / HTTP/1.1\r\nHost: t\r\n\r\n").status, 200)
        }
        // The workers hand the answered connections back to the reactor; on a loaded machine that takes a moment.
        let deadline = Date().addingTimeInterval(5)
        while server.statistics.waiting < 4 && Date() < deadline { usleep(1000) }
        let extra = try RawHTTPClient(port: port)
        XCTAssertEqual(try extra.sendAndRead("GET / HTTP/1.1\r\nHost: t\r\n\r\n").status, 200)
        XCTAssertTrue(held[0].isClosedByPeer(), "the longest-idle connection was closed to admit the new one")
    }

    /// When every connection is busy in a handler, a connection beyond the limit is answered 503 and closed.
    func testConnectionsBeyondTheLimitGet503WhenAllAreBusy() throws {
        let release = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        var configuration = HTTPServer.Configuration()
        configuration.maxConnections = 2
        let busy = HTTPServer(configuration: configuration) { _ in
            entered.signal()
            _ = release.wait(timeout: .now() + 10)
            return .text("done")
        }
        let busyPort = try busy.start().port
        defer { for _ in 0..<2 { release.signal() }; busy.stop(gracePeriod: 1) }
        let held = try (0..<2).map { _ in try RawHTTPClient(port: busyPort) }
        for client in held {
            try client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            XCTAssertEqual(entered.wait(timeout: .now() + 5), .success)
        }
        let extra = try RawHTTPClient(port: busyPort)
        try extra.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = try extra.readResponse()
        XCTAssertEqual(response.status, 503)
        XCTAssertEqual(try response.json()["code"] as? Int, 14)
        XCTAssertTrue(extra.isClosedByPeer())
    }

    func testPeerVanishingMidResponseDoesNotCrash() throws {
        let big = HTTPServer(configuration: .init()) { _ in .bytes([UInt8](repeating: 7, count: 8 << 20), contentType: "application/octet-stream") }
        let bigPort = try big.start().port
        defer { big.stop(gracePeriod: 1) }
        for _ in 0..<5 {
            let client = try RawHTTPClient(port: bigPort)
            try client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            _ = try client.readExactly(100)
        }
        let client = try RawHTTPClient(port: bigPort)
        XCTAssertEqual(try client.sendAndRead("GET / HTTP/1.1\r\nHost: t\r\n\r\n").body.count, 8 << 20)
    }

    func testMutatedRequestsNeverBreakTheServer() throws {
        let seeds = [
            "GET /v1/a?b=c HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n",
            "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
            "PUT /y HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            "GET / HTTP/1.0\r\nRange: bytes=0-1\r\n\r\n",
        ].map { Array($0.utf8) }
        let specials: [UInt8] = [0x00, 0x0A, 0x0D, 0x20, 0x3A, 0x25, 0xFF, 0x09, 0x30, 0x66]
        var random = SplitMix64(seed: 0x5EED)
        for round in 0..<300 {
            var bytes = seeds[round % seeds.count]
            for _ in 0...(random.next() % 4) {
                let position = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 4 {
                case 0: bytes[position] = specials[Int(random.next() % UInt64(specials.count))]
                case 1: bytes.insert(specials[Int(random.next() % UInt64(specials.count))], at: position)
                case 2: bytes.remove(at: position)
                default: bytes[position] = UInt8(truncatingIfNeeded: random.next())
                }
            }
            let client = try RawHTTPClient(port: port, receiveTimeout: 2)
            try? client.send(bytes)
            // End of input: the server must answer or close now instead of waiting for more.
            shutdown(client.fd, Int32(SHUT_WR))
            var sink = [UInt8](repeating: 0, count: 4096)
            while recv(client.fd, &sink, sink.count, 0) > 0 {}
        }
        try assertStillServing()
    }
}

/// A small seeded generator, so that a failing mutation can be replayed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
