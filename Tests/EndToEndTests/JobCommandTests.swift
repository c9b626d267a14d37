// End to end: batch-inference-job commands, waiting, continuation and exit statuses against a real gateway.
import Foundation
import XCTest

final class JobCommandTests: XCTestCase {
    func input(_ rows: Int, bad: Bool = false) -> String {
        var text = (1...rows).map { i in
            #"{"custom_id": "r\#(i)", "body": {"messages": [{"role": "user", "content": "alpha beta gamma delta \#(i)"}]}}"#
        }.joined(separator: "\n") + "\n"
        if bad { text += "{\"custom_id\": \"broken\", \"body\": {\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}}\n" }
        let path = Harness.temporaryDirectory("input") + "/rows.jsonl"
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }

    func testCreateWithEveryParameterAndReadThemBack() throws {
        let server = try LocalServer()
        XCTAssertEqual(server.cli(["dataset", "create", "in-ds", input(3)]).status, 0)
        let r = server.cli(["bij", "create", "--job-id", "full", "--display-name", "Full job", "-m", "accounts/fireworks/models/llama-v3p1-8b-instruct",
                            "-d", "in-ds", "-x", "out-ds", "--max-tokens", "7", "--temperature", "0.5", "--top-p", "0.9",
                            "--top-k", "40", "--n", "2", "--extra-body", #"{"stop":["\n"]}"#, "--precision", "FP8",
                            "--system-prompt", "Be terse.", "--max-job-duration", "48h", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        let job = try json(r.out)
        XCTAssertEqual(job["name"] as? String, "accounts/local/batchInferenceJobs/full")
        XCTAssertEqual(job["displayName"] as? String, "Full job")
        XCTAssertEqual(job["inputDatasetId"] as? String, "accounts/local/datasets/in-ds")
        XCTAssertEqual(job["outputDatasetId"] as? String, "accounts/local/datasets/out-ds")
        XCTAssertEqual(job["precision"] as? String, "FP8")
        XCTAssertEqual(job["systemPrompt"] as? String, "Be terse.")
        XCTAssertEqual(job["maxJobDuration"] as? String, "172800s")
        let p = try XCTUnwrap(job["inferenceParameters"] as? [String: Any])
        XCTAssertEqual(p["maxTokens"] as? Int, 7)
        XCTAssertEqual(p["temperature"] as? Double, 0.5)
        XCTAssertEqual(p["topK"] as? Int, 40)
        XCTAssertEqual(p["n"] as? Int, 2)
        XCTAssertEqual(p["extraBody"] as? String, #"{"stop":["\n"]}"#)

        let w = server.cli(["bij", "wait", "full", "--interval", "1s", "-o", "json"])
        XCTAssertEqual(w.status, 0, w.err)
        let done = try json(w.out)
        XCTAssertEqual(done["state"] as? String, "JOB_STATE_COMPLETED")
        let progress = try XCTUnwrap(done["jobProgress"] as? [String: Any])
        XCTAssertEqual(progress["totalInputRequests"] as? Int, 3)
        XCTAssertEqual(progress["successfullyProcessedRequests"] as? Int, 3)

        let dir = Harness.temporaryDirectory("dl")
        XCTAssertEqual(server.cli(["dataset", "download", "out-ds", "--output-dir", dir]).status, 0)
        let results = try String(contentsOfFile: "\(dir)/dataset/out-ds/BIJOutputSet.jsonl", encoding: .utf8)
        XCTAssertEqual(results.split(separator: "\n").count, 3)
        let first = try json(String(results.split(separator: "\n")[0]))
        let response = try XCTUnwrap(first["response"] as? [String: Any])
        XCTAssertEqual((response["choices"] as? [Any])?.count, 2, "n=2 gives two choices")
        XCTAssertEqual(response["model"] as? String, "llama-v3p1-8b-instruct", "the default model map sends the last part")
    }

    func testListGetTableAndFirectlOrder() throws {
        let server = try LocalServer()
        XCTAssertEqual(server.cli(["dataset", "create", "in-ds", input(2)]).status, 0)
        for id in ["j-a", "j-b"] {
            XCTAssertEqual(server.cli(["create", "batch-inference-job", "--job-id", id, "-m", "echo", "-d", "in-ds"]).status, 0)
        }
        var r = server.cli(["list", "batch-inference-jobs"])
        XCTAssertEqual(r.status, 0, r.err)
        let header = r.out.split(separator: "\n")[0]
        for column in ["NAME", "STATE", "MODEL", "PROGRESS", "CREATED"] { XCTAssertTrue(header.contains(column), r.out) }
        XCTAssertTrue(r.out.contains("j-a") && r.out.contains("j-b"), r.out)
        r = server.cli(["bij", "list", "-o", "name", "--filter", #"model = "echo""#])
        XCTAssertEqual(r.out.split(separator: "\n").count, 2, r.out + r.err)
        r = server.cli(["bij", "get", "j-a"])
        XCTAssertTrue(r.out.contains("Name: accounts/local/batchInferenceJobs/j-a"), r.out)
        XCTAssertEqual(server.cli(["bij", "get", "missing-job"]).status, 5)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "j-a", "-m", "echo", "-d", "in-ds"]).status, 6)
    }

    func testValidationFailureCancelDeleteAndWaitStatuses() throws {
        let server = try LocalServer()
        XCTAssertEqual(server.cli(["dataset", "create", "bad-ds", input(2, bad: true), "--no-validate"]).status, 0)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "bad-job", "-m", "echo", "-d", "bad-ds"]).status, 0)
        var r = server.cli(["bij", "wait", "bad-job", "--interval", "1s"])
        XCTAssertEqual(r.status, 8, "a failed job gives exit 8: \(r.err)")
        XCTAssertTrue(r.err.contains("JOB_STATE_FAILED") && r.err.contains("Dataset has a syntax error") && r.err.contains("rows.jsonl:3: "), r.err)

        // A job big enough to still be running when it is cancelled (the echo backend is fast, so give it many rows).
        XCTAssertEqual(server.cli(["dataset", "create", "big-ds", input(60_000), "-q"]).status, 0)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "long-job", "-m", "echo", "-d", "big-ds"]).status, 0)
        r = server.cli(["bij", "cancel", "long-job"])
        XCTAssertEqual(r.status, 0, r.err)
        r = server.cli(["bij", "wait", "long-job", "--interval", "1s"])
        XCTAssertEqual(r.status, 8, r.err)
        XCTAssertTrue(r.err.contains("JOB_STATE_CANCELLED"), r.err)
        XCTAssertEqual(server.cli(["bij", "cancel", "long-job"]).status, 1, "cancelling an ended job is refused")
        r = server.cli(["bij", "delete", "long-job", "--wait"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(server.cli(["bij", "get", "long-job"]).status, 5)

        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "slow-job", "-m", "echo", "-d", "big-ds"]).status, 0)
        r = server.cli(["bij", "wait", "slow-job", "--wait-timeout", "0.3s", "--interval", "1s"])
        XCTAssertEqual(r.status, 9, "timeout before the end gives exit 9: \(r.err)")
        _ = server.cli(["bij", "cancel", "slow-job"])
    }

    func testContinuationRunsOnlyUnfinishedRows() throws {
        // The first job expires almost at once (the floor is lowered), leaving rows unfinished.
        let server = try LocalServer(["--min-job-duration", "1s"])
        XCTAssertEqual(server.cli(["dataset", "create", "in-ds", input(40_000), "-q"]).status, 0)
        // The client holds --max-job-duration to Fireworks' 12h..72h; BATCHCTL_MIN_JOB_DURATION lowers its floor too.
        var r = server.cli(["bij", "create", "--job-id", "first", "-m", "echo", "-d", "in-ds", "--max-job-duration", "1s", "--wait", "-q"],
                           env: ["BATCHCTL_MIN_JOB_DURATION": "1s"])
        XCTAssertEqual(r.status, 8, r.err)
        XCTAssertTrue(r.err.contains("EXPIRED"), r.err)
        let first = try json(server.cli(["bij", "get", "first", "-o", "json"]).out)
        let done = (first["jobProgress"] as? [String: Any])?["successfullyProcessedRequests"] as? Int ?? -1
        XCTAssertLessThan(done, 40_000)
        print("continuation test: the first job finished \(done) of 40,000 rows before it expired")

        // A continuation inherits the window of its job (1s here), so this one asks for a day.
        r = server.cli(["bij", "create", "--continue-from", "first", "--job-id", "second", "--max-job-duration", "24h", "--wait", "-o", "json", "-q"])
        XCTAssertEqual(r.status, 0, r.err)
        let second = try json(r.out)
        XCTAssertEqual(second["model"] as? String, "echo", "model is inherited")
        XCTAssertEqual(second["continuedFromJobName"] as? String, "accounts/local/batchInferenceJobs/first")
        let p = try XCTUnwrap(second["jobProgress"] as? [String: Any])
        XCTAssertEqual(p["totalInputRequests"] as? Int, 40_000 - done, "only the unfinished rows run again")

        let dir = Harness.temporaryDirectory("dl")
        let output = (second["outputDatasetId"] as! String).split(separator: "/").last!
        r = server.cli(["dataset", "download", String(output), "--download-lineage", "--output-dir", dir])
        XCTAssertEqual(r.status, 0, r.err)
        var ids = Set<String>()
        var total = 0
        for path in r.out.split(separator: "\n") where path.hasSuffix("BIJOutputSet.jsonl") {
            for line in try String(contentsOfFile: String(path), encoding: .utf8).split(separator: "\n") {
                total += 1
                ids.insert(try json(String(line))["custom_id"] as! String)
            }
        }
        XCTAssertEqual(r.out.split(separator: "\n").filter { $0.hasSuffix("BIJOutputSet.jsonl") }.count, 2, r.out)
        XCTAssertEqual(ids.count, 40_000, "the chain holds every row")
        XCTAssertEqual(total, 40_000, "and none twice")
    }

    func testAuthErrorsAndRetries() throws {
        let secured = try LocalServer(["--api-key", "sekrit-key-123"])
        var r = secured.cli(["dataset", "list"])
        XCTAssertEqual(r.status, 4, "no key: 401 -> exit 4: \(r.err)")
        r = secured.cli(["dataset", "list", "--api-key", "wrong"])
        XCTAssertEqual(r.status, 4, "wrong key: 403 -> exit 4: \(r.err)")
        r = secured.cli(["dataset", "list", "--api-key", "sekrit-key-123"])
        XCTAssertEqual(r.status, 0, r.err)
        r = secured.cli(["dataset", "list"], env: ["FIREWORKS_API_KEY": "sekrit-key-123"])
        XCTAssertEqual(r.status, 0, r.err)

        let flaky = try LocalServer(["--fail-requests", "503x2"])
        r = flaky.cli(["dataset", "list"], env: ["BATCHCTL_RETRY_BASE": "0.05"])
        XCTAssertEqual(r.status, 0, "503 twice then 200 succeeds: \(r.err)")
        XCTAssertTrue(r.err.contains("retrying"), r.err)
        let down = try LocalServer(["--fail-requests", "503x100"])
        r = down.cli(["dataset", "list"], env: ["BATCHCTL_RETRY_BASE": "0.05"])
        XCTAssertEqual(r.status, 7, "always 503 gives exit 7 after the bounded attempts: \(r.err)")
        r = Harness.run(["--server", "http://127.0.0.1:1", "-a", "x", "dataset", "list"], env: Harness.cleanEnvironment().merging(["BATCHCTL_RETRY_BASE": "0.01"]) { $1 })
        XCTAssertEqual(r.status, 7, "nothing listening gives exit 7: \(r.err)")
    }
}
