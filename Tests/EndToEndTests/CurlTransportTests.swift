// The libcurl path (used for https:// and proxies), driven over plain http against a real local gateway so
// every option the shim sets is exercised: JSON bodies, file uploads, streamed downloads, errors, progress.
@testable import BatchClient
import Foundation
import XCTest

final class CurlTransportTests: XCTestCase {
    func testJSONUploadAndDownloadThroughLibcurl() throws {
        let server = try LocalServer()
        let base = server.url + "/v1/accounts/local"
        var answer = try CurlTransport.perform(HTTPExchange(method: "POST", url: base + "/datasets",
            headers: [("Content-Type", "application/json")],
            body: Array(#"{"datasetId": "c1", "dataset": {"userUploaded": {}, "exampleCount": "1"}}"#.utf8), stall: 10))
        XCTAssertEqual(answer.status, 200, String(decoding: answer.body, as: UTF8.self))
        XCTAssertTrue(String(decoding: answer.body, as: UTF8.self).contains("accounts/local/datasets/c1"))
        XCTAssertEqual(answer.headers["content-type"], "application/json")

        answer = try CurlTransport.perform(HTTPExchange(method: "GET", url: base + "/datasets/missing", stall: 10))
        XCTAssertEqual(answer.status, 404, "an error answer is an answer, not a transport failure")

        let file = Harness.temporaryDirectory("curl") + "/rows.jsonl"
        let content = String(repeating: #"{"custom_id": "x", "body": {"messages": [{"role": "user", "content": "hi"}]}}"# + "\n", count: 1)
        try content.write(toFile: file, atomically: true, encoding: .utf8)
        let size = Int64(content.utf8.count)
        answer = try CurlTransport.perform(HTTPExchange(method: "POST", url: base + "/datasets/c1:getUploadEndpoint",
            body: Array(#"{"filenameToSize": {"rows.jsonl": "\#(size)"}}"#.utf8), stall: 10))
        let signed = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["filenameToSignedUrls"] as? [String: String])
        var uploaded: Int64 = 0
        answer = try CurlTransport.perform(HTTPExchange(method: "PUT", url: signed["rows.jsonl"]!,
            headers: [("Content-Type", "application/octet-stream"), ("X-Goog-Content-Length-Range", "\(size),\(size)")],
            uploadPath: file, uploadSize: size, stall: 10, progress: { done, _ in uploaded = max(uploaded, done) }))
        XCTAssertEqual(answer.status, 200, String(decoding: answer.body, as: UTF8.self))
        XCTAssertEqual(uploaded, size, "upload progress reaches the file size")
        answer = try CurlTransport.perform(HTTPExchange(method: "POST", url: base + "/datasets/c1:validateUpload", body: Array("{}".utf8), stall: 10))
        XCTAssertEqual(answer.status, 200)

        answer = try CurlTransport.perform(HTTPExchange(method: "GET", url: base + "/datasets/c1:getDownloadEndpoint", stall: 10))
        let downloads = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["filenameToSignedUrls"] as? [String: String])
        let target = Harness.temporaryDirectory("curl") + "/out"
        FileManager.default.createFile(atPath: target, contents: nil)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: target))
        answer = try CurlTransport.perform(HTTPExchange(method: "GET", url: downloads["dataset/c1/rows.jsonl"]!, sinkFD: handle.fileDescriptor, stall: 10))
        try handle.close()
        XCTAssertEqual(answer.received, size)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), content)

        answer = try CurlTransport.perform(HTTPExchange(method: "DELETE", url: base + "/datasets/c1", stall: 10))
        XCTAssertEqual(answer.status, 200)
    }

    func testNothingListeningIsATransportError() {
        XCTAssertThrowsError(try CurlTransport.perform(HTTPExchange(method: "GET", url: "http://127.0.0.1:1/x", stall: 2))) { error in
            XCTAssertTrue(error is TransportError, "\(error)")
        }
    }
}
