// The one HTTP client against the project's own HTTP server, in process, over both paths: our sockets and
// libcurl (forced onto plain http, so no TLS is needed here).
@testable import BatchHTTP
import Foundation
import Glibc
import XCTest

final class HTTPClientTests: XCTestCase {
    private var servers: [HTTPServer] = []

    override func tearDown() {
        for server in servers { server.stop(gracePeriod: 1) }
        servers.removeAll()
        super.tearDown()
    }

    private func start(_ handler: @escaping HTTPServer.Handler) throws -> String {
        let server = HTTPServer(configuration: HTTPServer.Configuration(), handler: handler)
        servers.append(server)
        return "http://127.0.0.1:\(try server.start().port)"
    }

    private func client(curl: Bool, stall: Double = 5) -> HTTPClient {
        HTTPClient(configuration: HTTPClientConfiguration(userAgent: "batchctl/9.9.9 (linux; test)", stallTimeout: stall, forceLibcurl: curl))
    }

    private func bothPaths(_ body: (_ curl: Bool, _ label: String) throws -> Void) rethrows {
        try body(false, "sockets")
        try body(true, "libcurl")
    }

    func testKeepAliveReusesOneConnectionAcrossRequests() throws {
        let base = try start { request in .text(request.remoteAddress) }
        try bothPaths { curl, label in
            let http = client(curl: curl)
            var peers: Set<String> = []
            for _ in 0..<4 {
                let response = try http.send(HTTPClientRequest(.get, base + "/peer"))
                XCTAssertEqual(response.status, 200, label)
                peers.insert(String(decoding: response.body, as: UTF8.self))
            }
            XCTAssertEqual(peers.count, 1, "\(label): every request on one kept-alive connection, saw \(peers)")
        }
    }

    func testUserAgentIsSentOnBothPaths() throws {
        let base = try start { request in .text(request.headers["User-Agent"] ?? "none") }
        try bothPaths { curl, label in
            let response = try client(curl: curl).send(HTTPClientRequest(.get, base + "/ua", headers: ["User-Agent": "someone-else"]))
            XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "batchctl/9.9.9 (linux; test)", label)
        }
    }

    func testChunkedAnswersArriveWholeInMemoryAndInAFile() throws {
        let pieces = (0..<200).map { "piece \($0) " + String(repeating: "x", count: $0 * 37) + "\n" }
        let base = try start { _ in
            HTTPResponse(headers: ["Content-Type": "text/plain"], body: .stream { writer in
                for piece in pieces { try writer.write(piece); try writer.flush() }
            })
        }
        let expected = pieces.joined()
        try bothPaths { curl, label in
            let http = client(curl: curl)
            let response = try http.send(HTTPClientRequest(.get, base + "/stream"))
            XCTAssertEqual(String(decoding: response.body, as: UTF8.self), expected, label)

            let path = NSTemporaryDirectory() + "chunked-\(UUID().uuidString)"
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            defer { close(fd); unlink(path) }
            let streamed = try http.send(HTTPClientRequest(.get, base + "/stream"), sink: .file(descriptor: fd))
            XCTAssertEqual(streamed.streamedBytes, Int64(expected.utf8.count), label)
            XCTAssertTrue(streamed.body.isEmpty, label)
            XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), expected, label)
        }
    }

    func testRequestBodiesStreamFromPartsAndFilesWithProgress() throws {
        let base = try start { request in
            let body = try request.body.readAll(limit: 64 << 20)
            return .text("\(request.headers["Content-Length"] ?? "-") \(body.count) \(body.reduce(0) { $0 &+ Int($1) })")
        }
        let path = NSTemporaryDirectory() + "parts-\(UUID().uuidString)"
        let fileBytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        FileManager.default.createFile(atPath: path, contents: Data(fileBytes))
        defer { unlink(path) }
        let head = Array("--head--".utf8), tail = Array("--tail--".utf8)
        let all = head + fileBytes + tail
        try bothPaths { curl, label in
            nonisolated(unsafe) var last: Int64 = 0
            let response = try client(curl: curl).send(
                HTTPClientRequest(.post, base + "/upload", body: [.bytes(head), .file(path: path, length: Int64(fileBytes.count)), .bytes(tail)]),
                progress: { done, _ in last = done })
            XCTAssertEqual(String(decoding: response.body, as: UTF8.self),
                           "\(all.count) \(all.count) \(all.reduce(0) { $0 &+ Int($1) })", label)
            XCTAssertGreaterThan(last, Int64(fileBytes.count) / 2, "\(label): progress was reported")
        }
    }

    func testAStallBelowOneSecondFailsInTime() throws {
        let base = try start { _ in Thread.sleep(forTimeInterval: 3); return .text("late") }
        try bothPaths { curl, label in
            let began = monotonicSeconds()
            XCTAssertThrowsError(try client(curl: curl, stall: 0.3).send(HTTPClientRequest(.get, base + "/slow", totalTimeout: 0.6))) { error in
                XCTAssertEqual((error as? HTTPClientError)?.kind, .timedOut, "\(label): \(error)")
                XCTAssertEqual((error as? HTTPClientError)?.requestSent, true, label)
            }
            XCTAssertLessThan(monotonicSeconds() - began, 2.0, label)
        }
    }

    func testAServerThatNeverAnswersTimesOut() throws {
        // A listening socket nobody accepts from: the kernel completes the connection, nothing ever answers.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        listen(fd, 8)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let began = monotonicSeconds()
        XCTAssertThrowsError(try client(curl: false, stall: 0.25).send(HTTPClientRequest(.get, "http://127.0.0.1:\(port)/"))) { error in
            XCTAssertEqual((error as? HTTPClientError)?.kind, .timedOut, "\(error)")
        }
        XCTAssertLessThan(monotonicSeconds() - began, 1.5)
    }

    func testNothingListeningIsAConnectErrorThatSentNothing() throws {
        let port = try start { _ in .text("") }.split(separator: ":").last.map { Int($0)! }!
        servers.forEach { $0.stop(gracePeriod: 0) }
        try bothPaths { curl, label in
            XCTAssertThrowsError(try client(curl: curl).send(HTTPClientRequest(.post, "http://127.0.0.1:\(port)/x", body: [.bytes([1])]))) { error in
                let e = error as? HTTPClientError
                XCTAssertEqual(e?.kind, .connect, "\(label): \(error)")
                XCTAssertEqual(e?.requestSent, false, label)
                XCTAssertEqual(e?.isTransient, true, label)
            }
        }
    }

    func testRedirectsAreFollowedForGETAndDropCredentialsAcrossOrigins() throws {
        let target = try start { request in .text("auth=\(request.headers["Authorization"] ?? "none") path=\(request.path)") }
        let otherOrigin = target.replacingOccurrences(of: "127.0.0.1", with: "localhost")
        let base = try start { request in
            switch request.path {
            case "/same": return HTTPResponse(status: 302, headers: ["Location": "/final"], body: .empty)
            case "/final": return .text("auth=\(request.headers["Authorization"] ?? "none") path=/final")
            case "/other": return HTTPResponse(status: 307, headers: ["Location": otherOrigin + "/elsewhere"], body: .empty)
            case "/loop": return HTTPResponse(status: 301, headers: ["Location": "/loop"], body: .empty)
            default: return .text("?")
            }
        }
        try bothPaths { curl, label in
            let http = client(curl: curl)
            let headers: HTTPHeaders = ["Authorization": "Bearer secret"]
            XCTAssertEqual(String(decoding: try http.send(HTTPClientRequest(.get, base + "/same", headers: headers)).body, as: UTF8.self),
                           "auth=Bearer secret path=/final", label)
            XCTAssertEqual(String(decoding: try http.send(HTTPClientRequest(.get, base + "/other", headers: headers)).body, as: UTF8.self),
                           "auth=none path=/elsewhere", "\(label): no credentials for another host")
            XCTAssertEqual(try http.send(HTTPClientRequest(.post, base + "/same", body: [.bytes([])])).status, 302,
                           "\(label): a POST is never redirected")
            XCTAssertThrowsError(try http.send(HTTPClientRequest(.get, base + "/loop"))) { error in
                XCTAssertEqual((error as? HTTPClientError)?.kind, .tooManyRedirects, label)
            }
        }
    }

    func testErrorStatusesAreAnswersAndBodiesOverTheLimitAreRefused() throws {
        let base = try start { request in
            request.path == "/big" ? .text(String(repeating: "y", count: 100_000)) : .error(.notFound, "nope")
        }
        try bothPaths { curl, label in
            let http = client(curl: curl)
            let missing = try http.send(HTTPClientRequest(.delete, base + "/missing"))
            XCTAssertEqual(missing.status, 404, label)
            XCTAssertTrue(String(decoding: missing.body, as: UTF8.self).contains("nope"), label)
            XCTAssertThrowsError(try http.send(HTTPClientRequest(.get, base + "/big"), sink: .memory(limit: 1000))) { error in
                XCTAssertEqual((error as? HTTPClientError)?.kind, .responseTooLarge, label)
            }
        }
    }

    func testPreparedRequestsOnBothPaths() throws {
        let base = try start { request in
            .json(Array(#"{"len": \#(try request.body.readAll(limit: 1 << 20).count), "auth": "\#(request.headers["Authorization"] ?? "")"}"#.utf8))
        }
        try bothPaths { curl, label in
            let http = client(curl: curl)
            let prepared = try http.prepare(.post, base + "/v1/chat/completions", headers: ["Authorization": "Bearer k", "Content-Type": "application/json"])
            for n in [0, 10, 70_000] {
                let response = try http.send(prepared, body: [UInt8](repeating: 65, count: n), timeout: 5)
                XCTAssertEqual(String(decoding: response.body, as: UTF8.self), #"{"len": \#(n), "auth": "Bearer k"}"#, label)
            }
        }
    }
}

final class HTTPWireTests: XCTestCase {
    private func head(_ text: String, method: HTTPMethod = .get) -> HTTPResponseHead? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { try? HTTPResponseHead(parsing: $0, method: method) }
    }

    func testResponseHeadsWhateverTheCaseOfTheirNames() throws {
        let parsed = try XCTUnwrap(head("HTTP/1.1 429 Too Many Requests\r\nCONTENT-length:  17 \r\nretry-AFTER: 2\r\nX-Other: y"))
        XCTAssertEqual(parsed.status, 429)
        XCTAssertEqual(parsed.framing, .length(17))
        XCTAssertEqual(parsed.headers["Retry-After"], "2")
        XCTAssertTrue(parsed.keepAlive)
        XCTAssertEqual(head("HTTP/1.1 200 OK\r\nConnection: Close")?.keepAlive, false)
        XCTAssertEqual(head("HTTP/1.0 200 OK\r\nContent-Length: 1")?.keepAlive, false, "HTTP/1.0 closes unless told otherwise")
        XCTAssertEqual(head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1")?.keepAlive, true)
        XCTAssertEqual(head("HTTP/1.1 200\r\nTransfer-Encoding: gzip, Chunked")?.framing, .chunked)
        XCTAssertEqual(head("HTTP/1.1 200 OK")?.framing, .untilClose)
        XCTAssertEqual(head("HTTP/1.1 204 No Content")?.framing, HTTPBodyFraming.none)
        XCTAssertEqual(head("HTTP/1.1 200 OK\r\nContent-Length: 5", method: .head)?.framing, HTTPBodyFraming.none)
    }

    func testMalformedHeadsAreRefused() {
        for text in ["", "HTTP/2 200 OK", "HTTP/1.1 2x0 OK", "HTTP/1.1 099 Odd", "ICY 200 OK", "HTTP/1.1 200 OK\r\nno colon here",
                     "HTTP/1.1 200 OK\r\nContent-Length: -1", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999",
                     "HTTP/1.1 200 OK\r\n folded: line"] {
            XCTAssertNil(head(text), text.debugDescription)
        }
    }

    func testURLs() throws {
        let url = try XCTUnwrap(HTTPURL("HTTPS://Example.COM/a/b?sig=secret#frag"))
        XCTAssertEqual(url.scheme, .https)
        XCTAssertEqual(url.host, "example.com")
        XCTAssertEqual(url.port, 443)
        XCTAssertEqual(url.target, "/a/b?sig=secret")
        XCTAssertEqual(url.redacted, "https://example.com/a/b", "messages never carry a signed URL's query")
        XCTAssertEqual(HTTPURL("http://[::1]:8080")?.authority, "[::1]:8080")
        XCTAssertEqual(HTTPURL("http://h?x=1")?.target, "/?x=1")
        for bad in ["ftp://x", "http://", "http://u:p@h/", "http://h:0/", "http://h:99999/", "h:80", "http://h/ space"] {
            XCTAssertNil(HTTPURL(bad), bad)
        }
        XCTAssertEqual(url.resolving("/c")?.description, "https://example.com/c")
        XCTAssertEqual(url.resolving("c?d=1")?.description, "https://example.com/a/c?d=1")
        XCTAssertEqual(url.resolving("//other.org/x")?.description, "https://other.org/x")
        XCTAssertEqual(url.resolving("http://x:81/y")?.description, "http://x:81/y")
        XCTAssertFalse(url.sameOrigin(url.resolving("//other.org/x")!))
    }

    func testRetryAfterInSecondsAndAsHTTPDates() {
        XCTAssertEqual(RetryAfter.seconds("2"), 2)
        XCTAssertEqual(RetryAfter.seconds(" 0.5 "), 0.5)
        XCTAssertNil(RetryAfter.seconds("-1"))
        XCTAssertNil(RetryAfter.seconds("soon"))
        let now = 784_111_777.0  // Sun, 06 Nov 1994 08:49:37 GMT
        XCTAssertEqual(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:47 GMT", now: now), 10)
        XCTAssertEqual(RetryAfter.seconds("Sunday, 06-Nov-94 08:49:57 GMT", now: now), 20)
        XCTAssertEqual(RetryAfter.seconds("Sun Nov  6 08:50:07 1994", now: now), 30)
        XCTAssertEqual(RetryAfter.seconds("Sun, 06 Nov 1994 08:00:00 GMT", now: now), 0, "a date in the past means now")
        let backoff = Backoff(base: 0.5, cap: 60)
        XCTAssertEqual(backoff.delay(attempt: 1), 0.5, accuracy: 0.1)
        XCTAssertEqual(backoff.delay(attempt: 3), 2, accuracy: 0.4)
        XCTAssertEqual(backoff.delay(attempt: 1, retryAfter: 7), 7, accuracy: 0.0001)
        XCTAssertEqual(backoff.delay(attempt: 1, retryAfter: 1e12), 60)
        XCTAssertLessThanOrEqual(backoff.delay(attempt: 1000), 72)
    }

    func testProxiesAsCurlReadsTheEnvironment() throws {
        let p = ProxyConfiguration.from(environment: ["HTTPS_PROXY": "proxy.corp:3128", "http_proxy": "http://p2:8080",
                                                      "NO_PROXY": "localhost, .internal.example ,10.0.0.1,svc:8443"])
        func proxy(_ url: String) -> String? { p.proxy(for: HTTPURL(url)!) }
        XCTAssertEqual(proxy("https://api.fireworks.ai/v1"), "http://proxy.corp:3128")
        XCTAssertEqual(proxy("http://example.com/"), "http://p2:8080")
        XCTAssertNil(proxy("http://localhost:8700/"))
        XCTAssertNil(proxy("https://a.internal.example/"))
        XCTAssertNil(proxy("https://internal.example/"))
        XCTAssertNil(proxy("http://10.0.0.1/"))
        XCTAssertNil(proxy("https://svc:8443/"))
        XCTAssertEqual(proxy("https://svc:443/"), "http://proxy.corp:3128")
        XCTAssertEqual(proxy("https://notinternal.example/"), "http://proxy.corp:3128")
        XCTAssertNil(ProxyConfiguration.from(environment: ["https_proxy": "p:1", "no_proxy": "*"]).proxy(for: HTTPURL("https://x/")!))
        XCTAssertNil(ProxyConfiguration.from(environment: [:]).proxy(for: HTTPURL("https://x/")!))
    }

    func testTrustFromFlagAndEnvironment() {
        XCTAssertEqual(TLSTrust.from(environment: ["SSL_CERT_FILE": "/a.pem", "CURL_CA_BUNDLE": "/b.pem"], caFile: nil).caFile, "/b.pem")
        XCTAssertEqual(TLSTrust.from(environment: ["CURL_CA_BUNDLE": "/b.pem"], caFile: nil).caFile, "/b.pem")
        XCTAssertEqual(TLSTrust.from(environment: ["SSL_CERT_FILE": "/a.pem"], caFile: "/flag.pem").caFile, "/flag.pem")
        XCTAssertEqual(TLSTrust.from(environment: ["SSL_CERT_DIR": "/d1:/d2"], caFile: nil).caDirectory, "/d1")
        XCTAssertEqual(TLSTrust.from(environment: [:], caFile: nil), TLSTrust())
    }

    func testTimeoutsAreClampedNeverTrapped() {
        for absurd in [Double.infinity, 1e300, 99999999999999999999] {
            let tv = SocketTimeout.timeval(absurd)
            XCTAssertEqual(Double(tv.tv_sec), maximumTimeout, "\(absurd)")
        }
        XCTAssertEqual(SocketTimeout.timeval(0.3).tv_sec, 0)
        XCTAssertEqual(SocketTimeout.timeval(0.3).tv_usec, 300_000, accuracy: 1)
        XCTAssertGreaterThan(SocketTimeout.timeval(0).tv_usec, 0, "zero would mean wait forever")
        XCTAssertGreaterThan(SocketTimeout.timeval(.nan).tv_usec, 0)
        XCTAssertEqual(SocketTimeout.pollMilliseconds(1e300), Int32.max)
    }
}
