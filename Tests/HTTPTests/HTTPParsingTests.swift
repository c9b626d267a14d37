// Unit tests of the HTTP layer's pure parts: headers, targets, ranges, error bodies, chunk sizes, in-memory bodies.
@testable import BatchHTTP
import Foundation
import XCTest

final class HTTPParsingTests: XCTestCase {
    func testHeadersAreCaseInsensitiveAndKeepOrder() {
        var headers: HTTPHeaders = ["Content-Type": "text/plain", "X-Multi": "a"]
        headers.add("x-multi", "b")
        XCTAssertEqual(headers["content-type"], "text/plain")
        XCTAssertEqual(headers["X-MULTI"], "a")
        XCTAssertEqual(headers.values(for: "X-Multi"), ["a", "b"])
        XCTAssertEqual(headers.map { $0.name }, ["Content-Type", "X-Multi", "x-multi"])
        headers["X-MULTI"] = "c"
        XCTAssertEqual(headers.values(for: "x-multi"), ["c"])
        headers["content-type"] = nil
        XCTAssertFalse(headers.contains("Content-Type"))
        let connection: HTTPHeaders = ["Connection": "Keep-Alive, Upgrade", "connection": " close "]
        XCTAssertEqual(connection.tokens(for: "CONNECTION"), ["keep-alive", "upgrade", "close"])
    }

    func testTargetDecoding() throws {
        let request = try HTTPRequest(method: "GET", target: "/v1/accounts/a%2Fb/datasets/x%3Ay:upload/?pageSize=5&filter=state+%3D+%22X%22&empty=&bare")
        XCTAssertEqual(request.rawPath, "/v1/accounts/a%2Fb/datasets/x%3Ay:upload/")
        XCTAssertEqual(request.path, "/v1/accounts/a/b/datasets/x:y:upload/")
        XCTAssertEqual(request.pathSegments, ["v1", "accounts", "a/b", "datasets", "x:y:upload", ""])
        XCTAssertEqual(request.rawQuery, "pageSize=5&filter=state+%3D+%22X%22&empty=&bare")
        XCTAssertEqual(request.query, [HTTPQueryItem(name: "pageSize", value: "5"),
                                       HTTPQueryItem(name: "filter", value: "state = \"X\""),
                                       HTTPQueryItem(name: "empty", value: ""),
                                       HTTPQueryItem(name: "bare", value: "")])
        XCTAssertEqual(request.queryValue("filter"), "state = \"X\"")
        XCTAssertNil(request.queryValue("missing"))

        XCTAssertEqual(try HTTPRequest(method: "GET", target: "/").pathSegments, [])
        XCTAssertEqual(try HTTPRequest(method: "GET", target: "/%C3%A9t%C3%A9").path, "/été")
        XCTAssertEqual(try HTTPRequest(method: "GET", target: "http://example.com:80/a/b?x=1").rawPath, "/a/b")
        XCTAssertEqual(try HTTPRequest(method: "GET", target: "http://example.com").rawPath, "/")
        // Plus means space only in the query.
        XCTAssertEqual(try HTTPRequest(method: "GET", target: "/a+b?q=a+b").path, "/a+b")
    }

    func testMalformedTargetsAreRefusedWith400() {
        for target in ["/bad%zz", "/trunc%4", "/notutf8%FF", "relative/path", "/frag#ment", "ftp://host/x"] {
            XCTAssertThrowsError(try HTTPRequest(method: "GET", target: target), target) { error in
                XCTAssertEqual((error as? HTTPError)?.status, .badRequest, target)
            }
        }
        // A malformed query escape is kept literally: query values are often typed by hand.
        XCTAssertEqual(try HTTPRequest(method: "GET", target: "/?a=100%").queryValue("a"), "100%")
    }

    func testRangeSelection() {
        let cases: [(String?, Int, HTTPByteRange)] = [
            (nil, 10, .whole),
            ("bytes=0-0", 10, .partial(offset: 0, length: 1)),
            ("bytes=2-5", 10, .partial(offset: 2, length: 4)),
            ("bytes=2-", 10, .partial(offset: 2, length: 8)),
            ("bytes=5-100", 10, .partial(offset: 5, length: 5)),
            ("bytes=-3", 10, .partial(offset: 7, length: 3)),
            ("bytes=-30", 10, .partial(offset: 0, length: 10)),
            ("BYTES = 1-2", 10, .whole),
            ("Bytes=1-2", 10, .partial(offset: 1, length: 2)),
            ("bytes=10-", 10, .unsatisfiable),
            ("bytes=10-20", 10, .unsatisfiable),
            ("bytes=-0", 10, .unsatisfiable),
            ("bytes=0-", 0, .unsatisfiable),
            ("bytes=-5", 0, .unsatisfiable),
            ("bytes=5-2", 10, .whole),
            ("bytes=0-1,3-4", 10, .whole),
            ("items=0-1", 10, .whole),
            ("bytes=a-b", 10, .whole),
            ("bytes=-", 10, .whole),
            ("bytes=99999999999999999999999-", 10, .whole),
        ]
        for (header, size, expected) in cases {
            XCTAssertEqual(HTTPByteRange.select(header, size: size), expected, "\(header ?? "nil") of \(size)")
        }
    }

    func testGatewayErrorCodesAndBody() throws {
        let expected: [Int: Int] = [400: 3, 401: 16, 403: 7, 404: 5, 408: 4, 409: 10, 413: 8, 414: 8, 416: 11,
                                    429: 8, 431: 8, 500: 13, 501: 12, 503: 14, 504: 4, 505: 12]
        for (status, code) in expected {
            XCTAssertEqual(HTTPStatus(status).gatewayErrorCode, code, "HTTP \(status)")
        }
        let response = HTTPResponse.error(.badRequest, "bad \"quote\" \\ and\nnewline \u{1}")
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(response.headers["Content-Type"], "application/json")
        guard case .bytes(let bytes) = response.body else { return XCTFail("error body should be bytes") }
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        XCTAssertEqual(object["code"] as? Int, 3)
        XCTAssertEqual(object["message"] as? String, "bad \"quote\" \\ and\nnewline \u{1}")
        XCTAssertEqual((object["details"] as? [Any])?.count, 0)
    }

    func testReasonPhrases() {
        XCTAssertEqual(HTTPStatus.ok.reasonPhrase, "OK")
        XCTAssertEqual(HTTPStatus(431).reasonPhrase, "Request Header Fields Too Large")
        XCTAssertEqual(HTTPStatus(418).reasonPhrase, "Client Error")
        XCTAssertFalse(HTTPStatus.noContent.allowsBody)
        XCTAssertTrue(HTTPStatus.ok.allowsBody)
    }

    func testChunkSizeLines() throws {
        XCTAssertEqual(try HTTPChunked.parseSize(Array("1a".utf8)), 26)
        XCTAssertEqual(try HTTPChunked.parseSize(Array("FF ; name=value".utf8)), 255)
        XCTAssertEqual(try HTTPChunked.parseSize(Array("0".utf8)), 0)
        for bad in ["", "x", "-1", "1 2", "0x10", "1000000000000000"] {
            XCTAssertThrowsError(try HTTPChunked.parseSize(Array(bad.utf8)), bad)
        }
    }

    func testFramingRules() throws {
        func framing(_ headers: HTTPHeaders) throws -> HTTPBodyFraming {
            try HTTPRequestParser.framing(of: HTTPRequestHead(method: "POST", target: "/", version: .http1_1, headers: headers))
        }
        XCTAssertEqual(try framing([:]), HTTPBodyFraming.none)
        XCTAssertEqual(try framing(["Content-Length": "0"]), HTTPBodyFraming.none)
        XCTAssertEqual(try framing(["Content-Length": "12"]), .length(12))
        XCTAssertEqual(try framing(["Content-Length": "12, 12"]), .length(12))
        XCTAssertEqual(try framing(["Transfer-Encoding": "Chunked"]), .chunked)
        XCTAssertThrowsError(try framing(["Content-Length": "+12"]))
        XCTAssertThrowsError(try framing(["Content-Length": ""]))
        XCTAssertThrowsError(try framing(["Content-Length": "1", "Transfer-Encoding": "chunked"]))
        XCTAssertThrowsError(try framing(["Transfer-Encoding": "chunked, chunked"]))
    }

    func testRequestHeadParsing() throws {
        func parse(_ text: String) throws -> HTTPRequestHead {
            var bytes = Array(text.utf8)
            return try bytes.withUnsafeMutableBufferPointer { try HTTPRequestParser.parseHead(UnsafeBufferPointer($0)) }
        }
        let head = try parse("PATCH /x HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Spaces: \t a b \t\r\n")
        XCTAssertEqual(head.method, "PATCH")
        XCTAssertEqual(head.target, "/x")
        XCTAssertEqual(head.version, .http1_1)
        XCTAssertEqual(head.headers["x-empty"], "")
        XCTAssertEqual(head.headers["x-spaces"], "a b")
        XCTAssertEqual(try parse("GET / HTTP/1.0\n").version, .http1_0)
        XCTAssertEqual(try parse("GET / HTTP/1.9\nHost: h\n").version, .http1_1)
        for bad in ["GET / HTTP/1.1\r\nHost: h\r\nBad\u{0}Value: x\r\n", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n",
                    "GET / http/1.1\r\nHost: h\r\n", "GET /\u{7F} HTTP/1.1\r\nHost: h\r\n"] {
            XCTAssertThrowsError(try parse(bad), bad.debugDescription) { error in
                XCTAssertEqual((error as? HTTPError)?.status, .badRequest, bad.debugDescription)
            }
        }
    }

    func testInMemoryBodyReadsAndLimits() throws {
        let request = try HTTPRequest(method: "POST", target: "/", body: Array("0123456789".utf8))
        XCTAssertEqual(try request.body.readChunk(max: 4), Array("0123".utf8))
        XCTAssertEqual(try request.body.readAll(limit: 100), Array("456789".utf8))
        XCTAssertNil(try request.body.readChunk())
        XCTAssertTrue(request.body.isComplete)

        let large = try HTTPRequest(method: "POST", target: "/", body: [UInt8](repeating: 1, count: 50))
        XCTAssertThrowsError(try large.body.readAll(limit: 49)) { error in
            XCTAssertEqual(error as? HTTPBodyError, .tooLarge(limit: 49))
        }
    }

    func testFileResponseHonoursRangeForGetOnly() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/f.txt"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("abcdef".utf8)))
        let ranged = try HTTPResponse.file(atPath: path, for: HTTPRequest(method: "GET", target: "/", headers: ["Range": "bytes=1-2"]))
        XCTAssertEqual(ranged.status, .partialContent)
        XCTAssertEqual(ranged.headers["Content-Range"], "bytes 1-2/6")
        guard case .file(let region) = ranged.body else { return XCTFail("expected a file body") }
        XCTAssertEqual(region.offset, 1)
        XCTAssertEqual(region.length, 2)
        let put = try HTTPResponse.file(atPath: path, for: HTTPRequest(method: "POST", target: "/", headers: ["Range": "bytes=1-2"]))
        XCTAssertEqual(put.status, .ok)
        XCTAssertThrowsError(try HTTPResponse.file(atPath: directory + "/missing", for: HTTPRequest(method: "GET", target: "/"))) { error in
            XCTAssertEqual(error as? HTTPFileError, .notFound(path: directory + "/missing"))
        }
        XCTAssertThrowsError(try HTTPOpenFile(path: directory)) { error in
            XCTAssertEqual(error as? HTTPFileError, .notARegularFile(path: directory))
        }
    }
}
