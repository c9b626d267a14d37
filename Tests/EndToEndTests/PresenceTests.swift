// End to end, issue 12 items 1 and 6: what is set is sent (zero included) and what is not set is absent, from
// the command line through the gateway to the inference server; and --dry-run prints each request as it would go.
import Foundation
import XCTest

/// An OpenAI-compatible inference server in a few lines of Python that writes every request body it gets to a
/// JSONL file and answers each with a fixed chat completion.
final class RecordingInferenceServer {
    let directory = Harness.temporaryDirectory("infer")
    private(set) var port = 0
    private let process = Process()
    var url: String { "http://127.0.0.1:\(port)/v1" }
    var bodiesPath: String { directory + "/bodies.jsonl" }

    static let source = #"""
import json, sys
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
out = sys.argv[1]
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(out, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        answer = json.dumps({"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""#

    init() throws {
        let python = try Harness.requireTool("python3")
        let script = directory + "/server.py"
        try Self.source.write(toFile: script, atomically: true, encoding: .utf8)
        let portFile = directory + "/port"
        FileManager.default.createFile(atPath: portFile, contents: nil)
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, bodiesPath]
        process.standardOutput = FileHandle(forWritingAtPath: portFile)
        process.standardError = FileHandle.nullDevice
        try process.run()
        _ = Harness.wait(timeout: 20) {
            self.port = Int(((try? String(contentsOfFile: portFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            return self.port > 0
        }
        guard port > 0 else { throw NSError(domain: "RecordingInferenceServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "did not start"]) }
    }

    deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }

    /// The request bodies received so far, decoded.
    var bodies: [[String: Any]] {
        let text = (try? String(contentsOfFile: bodiesPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}

final class PresenceTests: XCTestCase {
    static let rows = (1...2).map { #"{"custom_id": "p\#($0)", "body": {"messages": [{"role": "user", "content": "hi \#($0)"}]}}"# }
        .joined(separator: "\n") + "\n"

    func input() throws -> String {
        let path = Harness.temporaryDirectory("in") + "/in.jsonl"
        try Self.rows.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func testSetZerosReachTheInferenceServerAndUnsetParametersAreAbsentEverywhere() throws {
        let backend = try RecordingInferenceServer()
        let server = try LocalServer(["--backend", "openai", "--inference-url", backend.url])
        XCTAssertEqual(server.cli(["dataset", "create", "in", try input(), "-q"]).status, 0)

        var r = server.cli(["bij", "create", "--job-id", "greedy", "-m", "m", "-d", "in", "--temperature", "0", "--top-k", "0", "--wait", "-q", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err + server.log.suffix(1500))
        var job = try json(r.out)
        XCTAssertEqual(job["inferenceParameters"] as? NSDictionary, ["temperature": 0, "topK": 0], "only what was set, zeros kept")
        var bodies = backend.bodies
        XCTAssertEqual(bodies.count, 2)
        for body in bodies {
            XCTAssertEqual(body["temperature"] as? Int, 0, "temperature 0 is sent as 0: \(body)")
            XCTAssertEqual(body["top_k"] as? Int, 0)
            for absent in ["top_p", "n", "max_tokens"] { XCTAssertNil(body[absent], "\(absent) was not set: \(body)") }
        }

        r = server.cli(["bij", "create", "--job-id", "plain", "-m", "m", "-d", "in", "--wait", "-q", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        job = try json(r.out)
        XCTAssertTrue(job["inferenceParameters"] is NSNull, "no parameter set: null, as live")
        XCTAssertTrue(job["maxJobDuration"] is NSNull)
        bodies = Array(backend.bodies.dropFirst(2))
        XCTAssertEqual(bodies.count, 2)
        for body in bodies {
            for absent in ["temperature", "top_p", "top_k", "n", "max_tokens"] { XCTAssertNil(body[absent], "\(absent): \(body)") }
        }
        let got = try json(server.cli(["bij", "get", "greedy", "-o", "json"]).out)
        XCTAssertEqual(got["inferenceParameters"] as? NSDictionary, ["temperature": 0, "topK": 0], "as stored")
    }

    func testDryRunShowsEachRequestAsSentWithTheKeyOnlyWhereItGoes() throws {
        let server = try LocalServer()
        let file = try input()
        let r = server.cli(["dataset", "create", "dry", file, "--dry-run", "--api-key", "fw_secretkey1234"],
                           env: ["BATCHCTL_DIRECT_UPLOAD_LIMIT": "1"])
        XCTAssertEqual(r.status, 0, r.err)
        let requests = r.out.components(separatedBy: "\n").split(separator: "", omittingEmptySubsequences: true).map { $0.joined(separator: "\n") }
        let put = try XCTUnwrap(r.out.components(separatedBy: "PUT ").dropFirst().first, r.out)
        let putHead = put.components(separatedBy: "\n\n").first ?? ""
        XCTAssertFalse(putHead.contains("Authorization"), "the signed PUT carries no key:\n\(putHead)")
        XCTAssertTrue(putHead.contains("Content-Type: application/octet-stream"), putHead)
        XCTAssertTrue(putHead.contains("X-Goog-Content-Length-Range: \(Self.rows.utf8.count),\(Self.rows.utf8.count)"), putHead)
        XCTAssertTrue(putHead.contains("Content-Length: \(Self.rows.utf8.count)"), putHead)
        for method in ["POST \(server.url)/v1/accounts/local/datasets\n", "POST \(server.url)/v1/accounts/local/datasets/dry:getUploadEndpoint",
                       "POST \(server.url)/v1/accounts/local/datasets/dry:validateUpload"] {
            let block = try XCTUnwrap(r.out.components(separatedBy: method).dropFirst().first, "\(method) in\n\(r.out)")
            XCTAssertTrue(block.hasPrefix("Authorization: Bearer fw_****1234\n") || block.contains("\nAuthorization: Bearer fw_****1234\n"),
                          "the key is sent there, masked: \(method)")
        }
        XCTAssertFalse(r.out.contains("fw_secretkey1234"), "never the key itself")
        XCTAssertTrue(r.out.contains("User-Agent: batchctl/"), r.out)
        XCTAssertGreaterThan(requests.count, 3)
        XCTAssertEqual(server.cli(["dataset", "get", "dry"]).status, 5, "nothing was sent")

        let job = server.cli(["bij", "create", "--job-id", "j", "-m", "m", "--input-file", file, "--temperature", "0", "--dry-run"])
        XCTAssertEqual(job.status, 0, job.err)
        XCTAssertFalse(job.err.contains("created input dataset"), "claims nothing it did not do: \(job.err)")
        XCTAssertTrue(job.out.contains(#""temperature": 0"#), job.out)
    }
}
