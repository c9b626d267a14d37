// Tests of HTTPServer over real sockets on 127.0.0.1: keep-alive, bodies, Expect, HEAD, ranges, uploads, stop.
import BatchHTTP
import Foundation
import Glibc
import XCTest

final class HTTPServerTests: XCTestCase {
    private var servers: [HTTPServer] = []

    override func tearDown() {
        for server in servers { server.stop(gracePeriod: 1) }
        servers = []
        super.tearDown()
    }

    private func start(handler: @escaping HTTPServer.Handler = echoHandler,
                       configure: (inout HTTPServer.Configuration) -> Void = { _ in }) throws -> Int {
        var configuration = HTTPServer.Configuration()
        configure(&configuration)
        let server = HTTPServer(configuration: configuration, handler: handler)
        servers.append(server)
        return try server.start().port
    }

    func testKeepAliveServesSeveralRequestsOnOneConnection() throws {
        let port = try start()
        let client = try RawHTTPClient(port: port)
        var peers: Set<String> = []
        for index in 0..<3 {
            try client.send("GET /items/\(index)?q=\(index) HTTP/1.1\r\nHost: test\r\n\r\n")
            let response = try client.readResponse()
            XCTAssertEqual(response.status, 200)
            XCTAssertNil(response.headers["connection"])
            let echo = try response.json()
            XCTAssertEqual(echo["path"] as? String, "/items/\(index)")
            XCTAssertEqual(echo["query"] as? [[String]], [["q", "\(index)"]])
            peers.insert(echo["remote"] as? String ?? "")
        }
        XCTAssertEqual(peers.count, 1, "all requests should come from one client port")
    }

    func testEveryAnswerCarriesADateHeader() throws {
        // RFC 9110 §6.6.1, and what live Fireworks sends: an IMF-fixdate on successes and errors alike.
        let port = try start()
        let client = try RawHTTPClient(port: port)
        for request in ["GET /items/1 HTTP/1.1\r\nHost: t\r\n\r\n", "BREW /x HTTP/1.1\r\nHost: t\r\n\r\n"] {
            try client.send(request)
            let response = try client.readResponse()
            let date = try XCTUnwrap(response.headers["date"], "\(response.status) has no Date")
            XCTAssertNotNil(date.range(of: #"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$"#,
                                        options: .regularExpression), date)
            let seconds = try XCTUnwrap(RetryAfter.parseHTTPDate(date))
            XCTAssertEqual(seconds, Date().timeIntervalSince1970, accuracy: 60)
        }
        XCTAssertEqual(HTTPDate.string(unixSeconds: 784111777), "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let port = try start()
        let client = try RawHTTPClient(port: port)
        try client.send("GET /first HTTP/1.1\r\nHost: t\r\n\r\nGET /second HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().json()["path"] as? String, "/first")
        XCTAssertEqual(try client.readResponse().json()["path"] as? String, "/second")
    }

    func testHTTP10ClosesUnlessKeepAliveIsAsked() throws {
        let port = try start()
        let kept = try RawHTTPClient(port: port)
        try kept.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let first = try kept.readResponse()
        XCTAssertEqual(first.status, 200)
        XCTAssertEqual(first.headers["connection"], "keep-alive")
        try kept.send("GET /b HTTP/1.0\r\n\r\n")
        let second = try kept.readResponse()
        XCTAssertEqual(second.headers["connection"], "close")
        XCTAssertTrue(kept.isClosedByPeer())
    }

    func testConnectionCloseIsHonoured() throws {
        let port = try start()
        let client = try RawHTTPClient(port: port)
        try client.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(try client.readResponse().headers["connection"], "close")
        XCTAssertTrue(client.isClosedByPeer())
    }

    func testPostWithContentLength() throws {
        let port = try start()
        let client = try RawHTTPClient(port: port)
        try client.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world")
        let echo = try client.readResponse().json()
        XCTAssertEqual(echo["method"] as? String, "POST")
        XCTAssertEqual(echo["body"] as? String, "hello world")
    }

    func testPostChunkedWithExtensionsAndTrailers() throws {
        let port = try start()
        let client = try RawHTTPClient(port: port)
        try client.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "5\r\nhello\r\n6;name=value\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n")
        XCTAssertEqual(try client.readResponse().json()["body"] as? String, "hello world")
        try client.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().json()["path"] as? String, "/after")
    }

    func testExpectContinueIsSentWhenTheHandlerReadsTheBody() throws {
        let port = try start()
        let client = try RawHTTPClient(port: port)
        try client.send("PUT /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        XCTAssertEqual(try client.readExactly(25), Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        try client.send("data")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(try response.json()["body"] as? String, "data")
    }

    func testExpectContinueIsNotSentWhenTheHandlerAnswersWithoutReading() throws {
        let port = try start { request in
            .error(.unauthorized, "no key")
        }
        let client = try RawHTTPClient(port: port)
        try client.send("PUT /e HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\nExpect: 100-continue\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 401, "the final answer comes first, without a 100 Continue")
        XCTAssertEqual(response.headers["connection"], "close")
        XCTAssertTrue(client.isClosedByPeer())
    }

    func testHeadSendsHeadersWithoutBody() throws {
        let port = try start()
        let client = try RawHTTPClient(port: port)
        try client.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n")
        let head = try client.readResponse(isHead: true)
        XCTAssertEqual(head.status, 200)
        let declared = Int(head.headers["content-length"] ?? "")
        XCTAssertNotNil(declared)
        XCTAssertGreaterThan(declared ?? 0, 0)
        XCTAssertTrue(head.body.isEmpty)
        // Had a body followed, this would read it as the next status line.
        try client.send("GET /next HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().json()["path"] as? String, "/next")
    }

    func testRangesOnAFile() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/data.bin"
        let content = Array("0123456789".utf8)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(content)))
        let port = try start { request in try HTTPResponse.file(atPath: path, for: request) }
        let client = try RawHTTPClient(port: port)
        func get(_ range: String?) throws -> RawHTTPResponse {
            try client.send("GET /f HTTP/1.1\r\nHost: t\r\n" + (range.map { "Range: \($0)\r\n" } ?? "") + "\r\n")
            return try client.readResponse()
        }
        let whole = try get(nil)
        XCTAssertEqual(whole.status, 200)
        XCTAssertEqual(whole.body, content)
        XCTAssertEqual(whole.headers["accept-ranges"], "bytes")

        let middle = try get("bytes=2-5")
        XCTAssertEqual(middle.status, 206)
        XCTAssertEqual(middle.body, Array("2345".utf8))
        XCTAssertEqual(middle.headers["content-range"], "bytes 2-5/10")

        let suffix = try get("bytes=-3")
        XCTAssertEqual(suffix.status, 206)
        XCTAssertEqual(suffix.body, Array("789".utf8))

        let open = try get("bytes=7-")
        XCTAssertEqual(open.body, Array("789".utf8))
        XCTAssertEqual(open.headers["content-range"], "bytes 7-9/10")

        let beyond = try get("bytes=10-20")
        XCTAssertEqual(beyond.status, 416)
        XCTAssertEqual(beyond.headers["content-range"], "bytes */10")
        XCTAssertEqual(try beyond.json()["code"] as? Int, 11)

        let head = try client.sendAndRead("HEAD /f HTTP/1.1\r\nHost: t\r\n\r\n", isHead: true)
        XCTAssertEqual(head.headers["content-length"], "10")
        XCTAssertTrue(head.body.isEmpty)
    }

    func testLargeFileIsSentWhole() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/big.bin"
        var content = [UInt8](repeating: 0, count: 3 << 20)
        for index in content.indices { content[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 8) }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(content)))
        let port = try start { request in try HTTPResponse.file(atPath: path, for: request) }
        let client = try RawHTTPClient(port: port)
        let response = try client.sendAndRead("GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(response.body.count, content.count)
        XCTAssertTrue(response.body == content)
    }

    func testStreamedResponseIsChunked() throws {
        let port = try start { _ in
            return HTTPResponse(headers: ["Content-Type": "application/jsonl"], body: .stream { writer in
                for index in 0..<1000 { try writer.write("{\"row\":\(index)}\n") }
                try writer.write([UInt8](repeating: UInt8(ascii: "x"), count: 200_000))
            })
        }
        let client = try RawHTTPClient(port: port)
        let response = try client.sendAndRead("GET /s HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(response.headers["transfer-encoding"], "chunked")
        let text = String(decoding: response.body, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{\"row\":0}\n{\"row\":1}\n"))
        XCTAssertTrue(text.contains("{\"row\":999}\n"))
        XCTAssertEqual(response.body.count, (0..<1000).map { "{\"row\":\($0)}\n".utf8.count }.reduce(0, +) + 200_000)
        try client.send("GET /again HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 200)
    }

    func testStreamedResponseWithDeclaredLength() throws {
        let port = try start { _ in
            return HTTPResponse(headers: ["Content-Length": "6"], body: .stream { writer in
                try writer.write("abc")
                try writer.write("def")
            })
        }
        let client = try RawHTTPClient(port: port)
        let response = try client.sendAndRead("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertNil(response.headers["transfer-encoding"])
        XCTAssertEqual(response.body, Array("abcdef".utf8))
    }

    func testUnreadBodyIsDrainedBeforeTheNextRequest() throws {
        let port = try start { request in .text("ignored body of \(request.body.contentLength ?? -1)") }
        let client = try RawHTTPClient(port: port)
        let body = String(repeating: "z", count: 100_000)
        try client.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        XCTAssertEqual(try client.readResponse().status, 200)
        try client.send("GET /y HTTP/1.1\r\nHost: t\r\n\r\n")
        let next = try client.readResponse()
        XCTAssertEqual(String(decoding: next.body, as: UTF8.self), "ignored body of 0")
    }

    func testStreamedUploadGoesToDiskWithoutBeingHeldInMemory() throws {
        let directory = try temporaryDirectory()
        let destination = directory + "/upload.bin"
        let port = try start { request in
            let fd = open(destination, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw HTTPError(.internalServerError, "cannot create file") }
            defer { close(fd) }
            let written = try request.body.write(toFileDescriptor: fd, limit: 100 << 20)
            return .json("{\"written\":\(written)}")
        }
        let size = 50 << 20
        var piece = [UInt8](repeating: 0, count: 1 << 20)
        for index in piece.indices { piece[index] = UInt8(truncatingIfNeeded: index % 251) }

        let baseline = residentMemoryBytes()
        let sampler = MemorySampler()
        sampler.start()
        let client = try RawHTTPClient(port: port)
        try client.send("PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: \(size)\r\n\r\n")
        for _ in 0..<(size / piece.count) { try client.send(piece) }
        let response = try client.readResponse()
        let peak = sampler.stop()

        XCTAssertEqual(try response.json()["written"] as? Int, size)
        let stored = try XCTUnwrap(FileManager.default.contents(atPath: destination))
        XCTAssertEqual(stored.count, size)
        XCTAssertTrue(stored.prefix(piece.count).elementsEqual(piece))
        XCTAssertTrue(stored.suffix(piece.count).elementsEqual(piece))
        XCTAssertLessThan(peak - baseline, 20 << 20, "resident memory grew by \((peak - baseline) >> 20) MiB during a 50 MiB upload")
    }

    func testPercentDecodedSegmentsKeepEncodedSlashes() throws {
        let port = try start()
        let client = try RawHTTPClient(port: port)
        let echo = try client.sendAndRead("GET /v1/a%2Fb/c%20d:get?x=1+2&y=%41&flag HTTP/1.1\r\nHost: t\r\n\r\n").json()
        XCTAssertEqual(echo["rawPath"] as? String, "/v1/a%2Fb/c%20d:get")
        XCTAssertEqual(echo["segments"] as? [String], ["v1", "a/b", "c d:get"])
        XCTAssertEqual(echo["query"] as? [[String]], [["x", "1 2"], ["y", "A"], ["flag", ""]])
    }

    func testHandlerErrorsAreAnswered() throws {
        struct Unexpected: Error {}
        let port = try start { request in
            if request.path == "/teapot" { throw HTTPError(.conflict, "already there") }
            throw Unexpected()
        }
        let client = try RawHTTPClient(port: port)
        let conflict = try client.sendAndRead("GET /teapot HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(conflict.status, 409)
        XCTAssertEqual(try conflict.json()["message"] as? String, "already there")
        let failure = try client.sendAndRead("GET /other HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(failure.status, 500)
        XCTAssertEqual(try failure.json()["code"] as? Int, 13)
    }

    func testLogLineHasNoQueryOrCredentials() throws {
        let lines = LockedLines()
        let port = try start(configure: { $0.log = { lines.append($0) } })
        let client = try RawHTTPClient(port: port)
        _ = try client.sendAndRead("GET /v1/x?token=secret123 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer key456\r\n\r\n")
        // The line is written once the response is out, so it may trail the client's read a little.
        let deadline = Date(timeIntervalSinceNow: 2)
        while lines.all.isEmpty && Date() < deadline { usleep(1_000) }
        let logged = lines.all
        XCTAssertEqual(logged.count, 1)
        let line = logged.first ?? ""
        XCTAssertTrue(line.hasPrefix("GET /v1/x 200 "), line)
        XCTAssertTrue(line.hasSuffix("ms"), line)
        XCTAssertFalse(line.contains("secret123") || line.contains("key456"), line)
    }

    func testIPv6Loopback() throws {
        let probe = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard probe >= 0 else { throw XCTSkip("no IPv6 on this machine") }
        close(probe)
        let server = HTTPServer(configuration: .init(host: "[::1]"), handler: echoHandler)
        servers.append(server)
        let address: HTTPServerAddress
        do {
            address = try server.start()
        } catch HTTPServerError.invalidHost {
            throw XCTSkip("::1 is not configured on this machine")
        }
        XCTAssertEqual(address.host, "::1")
        XCTAssertEqual(address.description, "[::1]:\(address.port)")
        let client = try RawHTTPClient(port: address.port, host: "::1")
        XCTAssertEqual(try client.sendAndRead("GET /six HTTP/1.1\r\nHost: [::1]\r\n\r\n").status, 200)
    }

    func testPortInUseGivesAClearError() throws {
        let port = try start()
        let second = HTTPServer(configuration: .init(port: port), handler: echoHandler)
        XCTAssertThrowsError(try second.start()) { error in
            XCTAssertEqual(error as? HTTPServerError, .addressInUse(address: "127.0.0.1:\(port)"))
            XCTAssertEqual("\(error)", "address 127.0.0.1:\(port) is already in use")
        }
    }

    // MARK: - Stopping

    func testGracefulStopFinishesTheRequestInFlightThenRefusesConnections() throws {
        let entered = DispatchSemaphore(value: 0)
        let server = HTTPServer(configuration: .init()) { _ in
            entered.signal()
            usleep(400_000)
            return .text("finished")
        }
        let port = try server.start().port
        let client = try RawHTTPClient(port: port)
        try client.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(entered.wait(timeout: .now() + 5), .success)
        let stopped = DispatchSemaphore(value: 0)
        let began = Date()
        DispatchQueue.global().async {
            server.stop(gracePeriod: 5)
            stopped.signal()
        }
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "finished")
        XCTAssertEqual(response.headers["connection"], "close")
        XCTAssertEqual(stopped.wait(timeout: .now() + 5), .success)
        XCTAssertLessThan(Date().timeIntervalSince(began), 3)
        XCTAssertThrowsError(try RawHTTPClient(port: port), "connections after stop must be refused")
    }

    func testStopClosesIdleKeepAliveConnectionsPromptly() throws {
        let server = HTTPServer(configuration: .init(), handler: echoHandler)
        let port = try server.start().port
        let client = try RawHTTPClient(port: port)
        XCTAssertEqual(try client.sendAndRead("GET / HTTP/1.1\r\nHost: t\r\n\r\n").status, 200)
        let began = Date()
        server.stop(gracePeriod: 10)
        XCTAssertLessThan(Date().timeIntervalSince(began), 1)
        XCTAssertTrue(client.isClosedByPeer())
    }
}

/// Answers with a JSON description of the request, reading the whole body.
func echoHandler(_ request: HTTPRequest) throws -> HTTPResponse {
    let body = try request.body.readAll(limit: 1 << 20)
    let object: [String: Any] = [
        "method": request.method,
        "path": request.path,
        "rawPath": request.rawPath,
        "segments": request.pathSegments,
        "query": request.query.map { [$0.name, $0.value] },
        "body": String(decoding: body, as: UTF8.self),
        "remote": request.remoteAddress,
    ]
    return .json(Array(try JSONSerialization.data(withJSONObject: object)))
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "http-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func residentMemoryBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kilobytes * 1024
    }
    return 0
}

/// Samples the resident memory every few milliseconds to catch a peak that a before/after reading misses.
final class MemorySampler: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private var peak = 0
    private let done = DispatchSemaphore(value: 0)

    func start() {
        Thread.detachNewThread { [self] in
            while lock.withLock({ running }) {
                let current = residentMemoryBytes()
                lock.withLock { peak = max(peak, current) }
                usleep(5_000)
            }
            done.signal()
        }
    }

    func stop() -> Int {
        lock.withLock { running = false }
        done.wait()
        return lock.withLock { max(peak, residentMemoryBytes()) }
    }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
