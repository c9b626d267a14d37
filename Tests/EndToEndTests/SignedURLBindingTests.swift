// End to end, issue 14 finding 6 (and item 5), at the HTTP level with curl against a real gateway: a signed upload
// URL replayed without a key after validation must not swap a READY dataset's bytes, and a download URL must not
// serve a dataset deleted and created again under the same id. Only the URLs the gateway hands out are used, so
// these run against any build of the gateway.
import Foundation
import XCTest

final class SignedURLBindingTests: XCTestCase {
    let rows = #"{"custom_id": "a", "body": {"messages": [{"role": "user", "content": "original"}]}}"# + "\n"
    let other = #"{"custom_id": "a", "body": {"messages": [{"role": "user", "content": "replaced"}]}}"# + "\n"

    func curl(_ args: [String]) throws -> Harness.Result {
        Harness.runProgram(try Harness.requireTool("curl"), ["-sS"] + args)
    }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func file(_ text: String) throws -> String {
        let path = Harness.temporaryDirectory("put") + "/body"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// PUT as the docs' curl flow does it: the two signed headers, no key. Returns the HTTP status.
    func put(_ url: String, _ text: String) throws -> String {
        try curl(["-X", "PUT", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/octet-stream",
                  "-H", "X-Goog-Content-Length-Range: \(text.utf8.count),\(text.utf8.count)", "--data-binary", "@" + file(text), url]).out
    }

    func testAnUploadURLReplayedAfterValidationDoesNotChangeTheDataset() throws {
        let server = try LocalServer(["--api-key", "k"])
        let base = server.url + "/v1/accounts/local/datasets"
        let auth = ["-H", "Authorization: Bearer k", "-H", "Content-Type: application/json"]
        XCTAssertEqual(try curl(auth + ["-o", "/dev/null", "-w", "%{http_code}", "-d", #"{"datasetId":"ds","dataset":{"userUploaded":{},"exampleCount":"1"}}"#, base]).out, "200")
        let endpoint = try json(try curl(auth + ["-d", #"{"filenameToSize":{"in.jsonl":"\#(rows.utf8.count)"}}"#, base + "/ds:getUploadEndpoint"]).out)
        let url = try XCTUnwrap((endpoint["filenameToSignedUrls"] as? [String: String])?["in.jsonl"])
        XCTAssertEqual(try put(url, rows), "200")
        XCTAssertEqual(try curl(auth + ["-o", "/dev/null", "-w", "%{http_code}", "-d", "{}", base + "/ds:validateUpload"]).out, "200")

        // The same URL, an hour's lifetime not yet over, without any key, with other bytes of the same size.
        XCTAssertEqual(other.utf8.count, rows.utf8.count)
        let replay = try put(url, other)
        XCTAssertEqual(replay, "412", "a READY dataset's files never change through a signed URL")
        let download = try json(try curl(auth.prefix(2) + [base + "/ds:getDownloadEndpoint"]).out)
        let read = try XCTUnwrap((download["filenameToSignedUrls"] as? [String: String])?["dataset/ds/in.jsonl"])
        XCTAssertEqual(try curl([read]).out, rows, "the validated bytes are still there")
    }

    func testADownloadURLDoesNotServeADatasetCreatedAgainUnderTheSameID() throws {
        let server = try LocalServer()
        let base = server.url + "/v1/accounts/local/datasets"
        XCTAssertEqual(server.cli(["dataset", "create", "ds", try file(rows), "-q"]).status, 0)
        let download = try json(try curl([base + "/ds:getDownloadEndpoint"]).out)
        let old = try XCTUnwrap((download["filenameToSignedUrls"] as? [String: String])?["dataset/ds/body"])
        XCTAssertEqual(try curl([old]).out, rows)
        XCTAssertEqual(server.cli(["dataset", "delete", "ds", "-q"]).status, 0)
        XCTAssertEqual(server.cli(["dataset", "create", "ds", try file(other), "-q"]).status, 0)
        XCTAssertEqual(try curl(["-o", "/dev/null", "-w", "%{http_code}", old]).out, "404", "the old URL finds nothing in the new dataset")
    }

    func testUploadingAgainIntoAReadyDatasetThroughTheSignedURLPath() throws {
        let server = try LocalServer()
        XCTAssertEqual(server.cli(["dataset", "create", "ds", try file(rows), "-q"]).status, 0)
        let r = server.cli(["dataset", "upload", "ds", try file(other), "--force", "-o", "json"], env: ["BATCHCTL_DIRECT_UPLOAD_LIMIT": "1"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains(#""state": "READY""#), r.out)
        let download = try json(try curl([server.url + "/v1/accounts/local/datasets/ds:getDownloadEndpoint"]).out)
        let url = try XCTUnwrap((download["filenameToSignedUrls"] as? [String: String])?["dataset/ds/body"])
        XCTAssertEqual(try curl([url]).out, other, "replaced with an API key, through a new upload session")
    }

    func testARefusedUploadURLIsAskedForAgainOnce() throws {
        // A PUT whose first try went through but whose answer was lost finds its URL used (412) when retried; an
        // expired URL is 400. Either way the client asks for a fresh URL once and puts again.
        let port = Harness.freePort()
        let front = try ScriptedHTTPServer(upstream: "http://127.0.0.1:\(port)")
        defer { front.stop() }
        let server = try LocalServer(["--public-url", front.url], port: port)
        let used = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>ConditionNotMet</Code><Message>At least one of the pre-conditions you specified did not hold.</Message></Error>"
        front.on("PUT", prefix: "/storage/", .status(412, body: used, headers: ["Content-Type": "application/xml"]))
        let r = Harness.run(["--server", front.url, "-a", "local", "dataset", "create", "again", try file(rows)],
                            env: Harness.networkEnvironment(["BATCHCTL_DIRECT_UPLOAD_LIMIT": "1"]))
        XCTAssertEqual(r.status, 0, r.err + server.log.suffix(1000))
        XCTAssertTrue(r.err.contains("asking for a fresh one"), r.err)
        XCTAssertEqual(front.requests("PUT", prefix: "/storage/").map(\.status), [412, 200])
        XCTAssertEqual(front.requests("POST", "/v1/accounts/local/datasets/again:getUploadEndpoint").count, 2)
    }
}
