// Tests of the HTTP/1.1 client's response head parsing (the socket paths are covered by HTTPBackendTests).
import XCTest
@testable import BatchEngine

final class HTTPClientTests: XCTestCase {
    func head(_ text: String) -> ResponseHead? { ResponseHead(ArraySlice(Array(text.utf8))) }

    func testHeadersAreFoundWhateverTheirCase() throws {
        let parsed = try XCTUnwrap(head("HTTP/1.1 429 Too Many Requests\r\nCONTENT-length:  17 \r\nretry-AFTER: 2\r\nX-Other: y"))
        XCTAssertEqual(parsed.status, 429)
        XCTAssertEqual(parsed.contentLength, 17)
        XCTAssertEqual(parsed.retryAfter, "2")
        XCTAssertTrue(parsed.keepAlive)
        XCTAssertFalse(parsed.chunked)
    }

    func testConnectionAndChunking() throws {
        XCTAssertEqual(head("HTTP/1.1 200 OK\r\nConnection: Close")?.keepAlive, false)
        XCTAssertEqual(head("HTTP/1.0 200 OK")?.keepAlive, false, "HTTP/1.0 closes unless told otherwise")
        XCTAssertEqual(head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive")?.keepAlive, true)
        XCTAssertEqual(head("HTTP/1.1 200\r\nTransfer-Encoding: gzip, Chunked")?.chunked, true)
        XCTAssertEqual(head("HTTP/1.1 204 No Content")?.contentLength, nil)
    }

    func testMalformedHeadsAreRefused() {
        for text in ["", "HTTP/2 200 OK", "HTTP/1.1 2x0 OK", "HTTP/1.1 099 Odd", "ICY 200 OK", "HTTP/1.1 200 OK\r\nno colon here",
                     "HTTP/1.1 200 OK\r\nContent-Length: -1", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999"] {
            XCTAssertNil(head(text), text.debugDescription)
        }
    }
}
