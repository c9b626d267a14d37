// End to end: the local gateway over real HTTP: the Fireworks guide's curl flow, bad input over raw sockets,
// API keys, signed URLs, and restarts after kill -9.
import Foundation
import XCTest

final class GatewayTests: XCTestCase {
    func curl(_ args: [String]) throws -> Harness.Result {
        let path = try Harness.requireTool("curl")
        return Harness.runProgram(path, ["-sS"] + args)
    }

    func object(_ text: String) throws -> [String: Any] {
        guard let o = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw NSError(domain: "test", code: 1, userInfo: [NSLocalizedDescriptionKey: "not an object: \(text)"])
        }
        return o
    }

    /// The batch guide's curl flow: create the dataset entry, upload multipart, create the job, poll, list,
    /// ask for the download endpoint and fetch the URLs.
    func testFireworksGuideCurlFlow() throws {
        let server = try LocalServer()
        let base = server.url + "/v1/accounts/local"
        let auth = ["-H", "Authorization: Bearer any-key"]
        let file = Harness.temporaryDirectory("curl") + "/batch_input.jsonl"
        try (#"{"custom_id": "a", "body": {"messages": [{"role": "user", "content": "one two"}]}}"# + "\n" +
             #"{"custom_id": "b", "body": {"messages": [{"role": "user", "content": "three"}], "max_tokens": 5}}"# + "\n")
            .write(toFile: file, atomically: true, encoding: .utf8)

        var r = try curl(auth + ["-X", "POST", "\(base)/datasets", "-H", "Content-Type: application/json",
                                 "-d", #"{"datasetId": "batch-input", "dataset": {"userUploaded": {}, "exampleCount": "2", "format": "CHAT"}}"#])
        var d = try object(r.out)
        XCTAssertEqual(d["name"] as? String, "accounts/local/datasets/batch-input")
        XCTAssertEqual(d["state"] as? String, "UPLOADING")
        XCTAssertEqual(d["exampleCount"] as? String, "2")
        for key in ["displayName", "createTime", "updateTime", "status", "estimatedTokenCount", "externalUrl", "sourceJobName"] {
            XCTAssertNotNil(d[key], "unpopulated field \(key) is present")
        }
        XCTAssertNil(d["evaluationResult"], "unset oneof members are omitted")

        r = try curl(auth + ["-X", "POST", "\(base)/datasets/batch-input:upload", "-F", "file=@\(file)"])
        let upload = try object(r.out)
        XCTAssertEqual(upload["object"] as? String, "file")
        XCTAssertEqual(upload["filename"] as? String, "batch_input.jsonl")
        XCTAssertEqual(upload["bytes"] as? Int, try Data(contentsOf: URL(fileURLWithPath: file)).count)
        XCTAssertNotNil(upload["created_at"] as? Int, "the upload answer is snake_case")
        d = try object(try curl(auth + ["\(base)/datasets/batch-input"]).out)
        XCTAssertEqual(d["state"] as? String, "READY")

        r = try curl(auth + ["-X", "POST", "\(base)/batchInferenceJobs?batchInferenceJobId=guide-job", "-H", "Content-Type: application/json",
                             "-d", #"{"model": "accounts/fireworks/models/llama-v3p1-8b-instruct", "input_dataset_id": "accounts/local/datasets/batch-input", "inference_parameters": {"max_tokens": 10, "temperature": 0.2}}"#])
        var job = try object(r.out)
        XCTAssertEqual(job["name"] as? String, "accounts/local/batchInferenceJobs/guide-job")
        XCTAssertTrue((job["outputDatasetId"] as? String ?? "").hasPrefix("accounts/local/datasets/bij-"), "output dataset created")
        XCTAssertTrue(job["jobProgress"] is NSNull, "jobProgress is null until the job starts")
        XCTAssertEqual(job["precision"] as? String, "BF16", "server-side default filled in")
        XCTAssertEqual((job["inferenceParameters"] as? [String: Any])?["maxTokens"] as? Int, 10, "snake_case in, camelCase out")

        let deadline = Date().addingTimeInterval(30)
        while job["state"] as? String != "JOB_STATE_COMPLETED", Date() < deadline {
            usleep(100_000)
            job = try object(try curl(auth + ["\(base)/batchInferenceJobs/guide-job"]).out)
        }
        XCTAssertEqual(job["state"] as? String, "JOB_STATE_COMPLETED")
        let progress = try XCTUnwrap(job["jobProgress"] as? [String: Any])
        XCTAssertEqual(progress["totalProcessedRequests"] as? Int, 2)
        XCTAssertEqual(progress["successfullyProcessedRequests"] as? Int, 2)
        XCTAssertNotNil((job["lifecycle"] as? [String: Any])?["endTime"] as? String)

        let list = try object(try curl(auth + ["\(base)/batchInferenceJobs?pageSize=10"]).out)
        XCTAssertEqual((list["batchInferenceJobs"] as? [Any])?.count, 1)
        XCTAssertEqual(list["totalSize"] as? Int, 1)
        XCTAssertEqual(list["nextPageToken"] as? String, "")

        let output = (job["outputDatasetId"] as! String).split(separator: "/").last!
        let endpoint = try object(try curl(auth + ["\(base)/datasets/\(output):getDownloadEndpoint"]).out)
        let urls = try XCTUnwrap(endpoint["filenameToSignedUrls"] as? [String: String])
        XCTAssertEqual(Set(urls.keys), ["dataset/\(output)/BIJOutputSet.jsonl", "dataset/\(output)/error-data"])
        let results = try curl([urls["dataset/\(output)/BIJOutputSet.jsonl"]!]).out
        XCTAssertEqual(results.split(separator: "\n").count, 2)
        let ranged = try curl(["-H", "Range: bytes=0-9", urls["dataset/\(output)/BIJOutputSet.jsonl"]!]).out
        XCTAssertEqual(ranged, String(results.prefix(10)), "signed download URLs support Range")

        r = try curl(auth + ["-X", "POST", "-o", "/dev/null", "-w", "%{http_code}", "\(base)/datasets/\(output):getDownloadEndpoint"])
        XCTAssertEqual(r.out, "501", "POST to getDownloadEndpoint is grpc-gateway's Method Not Allowed")
    }

    func testUnknownFieldsBadIdsAndMissingDataset() throws {
        let server = try LocalServer()
        let base = server.url + "/v1/accounts/local"
        let json = ["-H", "Content-Type: application/json"]
        var r = try curl(json + ["-X", "POST", "\(base)/datasets", "-d", #"{"datasetId": "x1", "dataset": {"exampleCount": "1", "foo": 1}}"#, "-w", "\n%{http_code}"])
        XCTAssertTrue(r.out.contains(#""code":3"#) && r.out.contains("unknown field \\\"foo\\\"") && r.out.hasSuffix("400"), r.out)
        r = try curl(json + ["-X", "POST", "\(base)/datasets", "-d", #"{"datasetId": "x2", "dataset": {"userUploaded": {}}}"#])
        XCTAssertTrue(r.out.contains("example_count is required for uploaded datasets"), r.out)
        r = try curl(["\(base)/datasets/missing", "-w", "\n%{http_code}"])
        XCTAssertTrue(r.out.contains(#""code":5"#) && r.out.hasSuffix("404"), r.out)
        r = try curl(["\(base)/datasets/UPPER", "-w", "\n%{http_code}"])
        XCTAssertTrue(r.out.hasSuffix("400"), r.out)
        r = try curl(["--path-as-is", "\(base)/datasets/..%2F..%2Fetc", "-w", "\n%{http_code}"])
        XCTAssertTrue(r.out.hasSuffix("400"), r.out)
        r = try curl(["--path-as-is", "\(server.url)/v1/accounts/../../etc/datasets", "-w", "\n%{http_code}"])
        XCTAssertTrue(r.out.hasSuffix("400") || r.out.hasSuffix("404"), r.out)
        let outside = try FileManager.default.contentsOfDirectory(atPath: (server.dataDir as NSString).deletingLastPathComponent)
        XCTAssertFalse(outside.contains("etc"), "nothing is written outside the data dir")
    }

    /// Raw sockets: malformed HTTP gets a 4xx and the server keeps serving.
    func testMalformedHTTPOverRawSockets() throws {
        let server = try LocalServer()
        func exchange(_ bytes: String, readTimeout: Double = 5) -> String {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(server.port).bigEndian)
            inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
            _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            var tv = timeval(tv_sec: Int(readTimeout), tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            _ = send(fd, bytes, bytes.utf8.count, Int32(MSG_NOSIGNAL))
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n > 0 ? String(decoding: buffer.prefix(n), as: UTF8.self) : ""
        }
        XCTAssertTrue(exchange("GARBAGE\r\n\r\n").hasPrefix("HTTP/1.1 400"))
        XCTAssertTrue(exchange("GET / HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n").hasPrefix("HTTP/1.1 431"))
        // (A loopback Host: the gateway refuses names it does not answer to, before it reads a body.)
        XCTAssertTrue(exchange("POST /v1/accounts/local/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").hasPrefix("HTTP/1.1 400"))
        XCTAssertTrue(exchange("GET /v1/accounts/local/datasets HTTP/1.1\r\n X-Folded: yes\r\n\r\n").hasPrefix("HTTP/1.1 400"))
        // The server still answers a good request.
        XCTAssertTrue(exchange("GET /v1/accounts/local/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").hasPrefix("HTTP/1.1 200"))
    }

    func testAPIKeyOnEveryRouteAndSignedURLsCannotBeForged() throws {
        let server = try LocalServer(["--api-key", "right-key"])
        let base = server.url + "/v1/accounts/local"
        for (method, path) in [("GET", "/datasets"), ("POST", "/datasets"), ("GET", "/batchInferenceJobs"), ("DELETE", "/datasets/x"),
                               ("POST", "/datasets/x:upload"), ("GET", "/datasets/x:getDownloadEndpoint"), ("POST", "/batchInferenceJobs/j:cancel")] {
            let none = try curl(["-X", method, "-o", "/dev/null", "-w", "%{http_code}", base + path]).out
            XCTAssertEqual(none, "401", "\(method) \(path) without a key")
            let wrong = try curl(["-X", method, "-H", "Authorization: Bearer wrong", "-o", "/dev/null", "-w", "%{http_code}", base + path]).out
            XCTAssertEqual(wrong, "403", "\(method) \(path) with a wrong key")
        }
        XCTAssertEqual(try curl(["-o", "/dev/null", "-w", "%{http_code}", server.url + "/verifyApiKey"]).out, "401")

        let input = Harness.temporaryDirectory("in") + "/a.jsonl"
        try (#"{"custom_id": "a", "body": {"messages": [{"role": "user", "content": "x"}]}}"# + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        XCTAssertEqual(server.cli(["dataset", "create", "ds", input, "--api-key", "right-key"]).status, 0)
        let endpoint = try object(try curl(["-H", "Authorization: Bearer right-key", "\(base)/datasets/ds:getDownloadEndpoint"]).out)
        let url = try XCTUnwrap((endpoint["filenameToSignedUrls"] as? [String: String])?["dataset/ds/a.jsonl"])
        XCTAssertEqual(try curl(["-o", "/dev/null", "-w", "%{http_code}", url]).out, "200", "a signed URL needs no key")
        // Change one hex digit of the signature (the last query parameter).
        var forged = Array(url)
        let middle = forged.count - 20
        forged[middle] = forged[middle] == "a" ? "b" : "a"
        XCTAssertEqual(try curl(["-o", "/dev/null", "-w", "%{http_code}", String(forged)]).out, "403", "a changed signature is refused")
        let refusal = try curl([String(forged)]).out
        XCTAssertTrue(refusal.contains("<Code>SignatureDoesNotMatch</Code>"), refusal)
        XCTAssertEqual(try curl(["-o", "/dev/null", "-w", "%{http_code}", url.replacingOccurrences(of: "X-Goog-Expires=600", with: "X-Goog-Expires=6000")]).out,
                       "403", "a stretched lifetime is refused")
        XCTAssertEqual(try curl(["-X", "PUT", "-H", "Content-Type: application/octet-stream", "-d", "x", "-o", "/dev/null", "-w", "%{http_code}",
                                 url]).out, "403", "a download URL cannot upload: the method is signed")
    }

    /// Records written before a kill -9 are all readable after a restart.
    func testRecordsSurviveKill9() throws {
        let server = try LocalServer()
        let input = Harness.temporaryDirectory("in") + "/a.jsonl"
        try (#"{"custom_id": "a", "body": {"messages": [{"role": "user", "content": "x"}]}}"# + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        for i in 0..<5 { XCTAssertEqual(server.cli(["dataset", "create", "ds-\(i)", input, "-q"]).status, 0) }
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "kept", "-m", "echo", "-d", "ds-0", "--wait", "-q"]).status, 0)
        server.crash()
        try server.start()
        XCTAssertEqual(server.cli(["dataset", "list", "-o", "name"]).out.split(separator: "\n").count, 6)
        let r = server.cli(["bij", "get", "kept", "-o", "json"])
        XCTAssertTrue(r.out.contains("JOB_STATE_COMPLETED"), r.out)
    }

    /// kill -9 the server several times during a 20,000-row job; after restarts every custom_id appears
    /// exactly once across results and errors, and the job completes.
    func testCrashesDuringAJobLoseAndRepeatNothing() throws {
        let server = try LocalServer(["--quiet"])
        let count = 20_000
        let input = Harness.temporaryDirectory("in") + "/big.jsonl"
        var text = ""
        for i in 0..<count { text += #"{"custom_id": "id-\#(i)", "body": {"messages": [{"role": "user", "content": "w \#(i)"}]}}"# + "\n" }
        try text.write(toFile: input, atomically: true, encoding: .utf8)
        XCTAssertEqual(server.cli(["dataset", "create", "big", input, "-q"]).status, 0)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "crashy", "-m", "echo", "-d", "big", "-x", "crashy-out"]).status, 0)
        for _ in 0..<4 {
            usleep(UInt32.random(in: 20_000...150_000))
            server.crash()
            try server.start()
        }
        let r = server.cli(["bij", "wait", "crashy", "--interval", "1s", "-o", "json"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.err + server.log.suffix(2000))
        let dir = server.dataDir + "/accounts/local/datasets/crashy-out/files"
        var seen: [String: Int] = [:]
        for file in ["BIJOutputSet.jsonl", "error-data"] {
            let content = (try? String(contentsOfFile: dir + "/" + file, encoding: .utf8)) ?? ""
            for line in content.split(separator: "\n") {
                let id = try object(String(line))["custom_id"] as! String
                seen[id, default: 0] += 1
            }
        }
        XCTAssertEqual(seen.count, count, "every row ended somewhere")
        XCTAssertEqual(seen.values.filter { $0 != 1 }.count, 0, "no row was written twice")
    }
}
