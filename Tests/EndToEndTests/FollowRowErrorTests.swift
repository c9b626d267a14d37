// End to end: following a job as a script or CI log sees it: --wait-timeout, the failed-row summary and
// --fail-on-row-errors, and progress lines off a terminal (#13 items 3, 4, 5), on a real gateway whose
// backend is an inference stub that fails rows and can be slow.
import Foundation
import XCTest

final class FollowRowErrorTests: XCTestCase {
    /// Rows whose text the stub answers: `ok ...` succeeds, `fail-CODE ...` fails with HTTP CODE.
    func rows(_ texts: [String]) -> String {
        let path = Harness.temporaryDirectory("input") + "/rows.jsonl"
        let text = texts.enumerated().map { i, t in
            #"{"custom_id": "r\#(i + 1)", "body": {"messages": [{"role": "user", "content": "\#(t)"}]}}"#
        }.joined(separator: "\n") + "\n"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func testFailedRowsAreSummedUpAndFailOnRowErrorsExitsTen() throws {
        let stub = try InferenceStub()
        let server = try LocalServer(stub.serverArguments())
        let input = rows(["ok one", "fail-400 two", "ok three", "fail-422 four", "fail-400 five"])
        XCTAssertEqual(server.cli(["dataset", "create", "mixed", input, "-q"]).status, 0)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "rowjob", "-m", "m", "-d", "mixed", "-x", "rowjob-out"]).status, 0)

        // Without the flag the job is a success (exit 0), but never silently.
        var r = server.cli(["bij", "wait", "rowjob", "--interval", "1s", "-o", "name"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "accounts/local/batchInferenceJobs/rowjob\n", "stdout carries only the data")
        let summary = r.err.split(separator: "\n").drop { !$0.hasPrefix("warning: rowjob") }.map(String.init)
        XCTAssertEqual(Array(summary.prefix(1)), ["warning: rowjob ended with 3 failed rows of 5 (2 ok)"], r.err)
        XCTAssertEqual(summary.count, 5, r.err)
        if summary.count >= 5 {
            XCTAssertTrue(summary[1].hasPrefix("  2 x code 400: ") && summary[1].contains("refused: fail-400"), summary[1])
            XCTAssertTrue(summary[2].hasPrefix("  1 x code 422: ") && summary[2].contains("refused: fail-422 four"), summary[2])
            XCTAssertEqual(summary[3], "  failed rows are in error-data of dataset rowjob-out (batchctl dataset download rowjob-out)")
            XCTAssertEqual(summary[4], "  rerun them: batchctl --server \(server.url) -a local bij create --continue-from rowjob --wait")
        }

        // With it, any failed row is exit 10: wait, get --watch, and create --wait (in firectl's order too).
        r = server.cli(["bij", "wait", "rowjob", "--fail-on-row-errors"])
        XCTAssertEqual(r.status, 10, r.err)
        XCTAssertTrue(r.err.contains("batchctl: error: rowjob ended with 3 failed rows (--fail-on-row-errors)"), r.err)
        r = server.cli(["wait", "batch-inference-job", "rowjob", "--fail-on-row-errors", "-q"])
        XCTAssertEqual(r.status, 10, r.err)
        XCTAssertTrue(r.err.contains("warning: rowjob ended with 3 failed rows"), "the summary is a warning, kept with --quiet: \(r.err)")
        r = server.cli(["bij", "get", "rowjob", "--watch", "--fail-on-row-errors"])
        XCTAssertEqual(r.status, 10, r.err)
        let dir = Harness.temporaryDirectory("dl")
        r = server.cli(["create", "bij", "--job-id", "rowjob2", "-m", "m", "-d", "mixed", "--wait", "--fail-on-row-errors", "--download", dir])
        XCTAssertEqual(r.status, 10, r.err)
        XCTAssertTrue(r.err.contains("  failed rows are in \(dir)/dataset/"), "points at the downloaded error-data: \(r.err)")
        r = server.cli(["bij", "wait", "--fail-on-row-errors", "rowjob2", "-o", "json"])
        XCTAssertEqual(r.status, 10)
        XCTAssertNotNil((try? JSONSerialization.jsonObject(with: Data(r.out.utf8))) as? [String: Any], "stdout is still the job: \(r.out)")

        // A job without failed rows passes with the flag.
        XCTAssertEqual(server.cli(["dataset", "create", "clean", rows(["ok a", "ok b"]), "-q"]).status, 0)
        r = server.cli(["bij", "create", "--job-id", "cleanjob", "-m", "m", "-d", "clean", "--wait", "--fail-on-row-errors"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertFalse(r.err.contains("warning:"), r.err)

        // The follow flags need a command that follows.
        r = server.cli(["bij", "create", "-m", "m", "-d", "clean", "--fail-on-row-errors"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("--fail-on-row-errors needs --wait"), r.err)
        r = server.cli(["bij", "get", "cleanjob", "--wait-timeout", "1m"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("--wait-timeout needs --watch"), r.err)
    }

    /// A slow backend (0.5 s a request, one at a time) and --progress-interval 1s: a piped `wait` writes a
    /// progress line at least every 2 s, each with time, state, counts, rate and ETA.
    func testProgressLinesOffATerminalAtLeastEveryInterval() throws {
        let stub = try InferenceStub(delay: 0.5)
        let server = try LocalServer(stub.serverArguments(serial: true))
        XCTAssertEqual(server.cli(["dataset", "create", "slow", rows((1...14).map { "ok \($0)" }), "-q"]).status, 0)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "slowjob", "-m", "m", "-d", "slow"]).status, 0)
        let r = server.cli(["bij", "wait", "slowjob", "--progress-interval", "1s", "--interval", "5s"], timeout: 180)
        XCTAssertEqual(r.status, 0, r.err)
        let lines = r.err.split(separator: "\n").filter { $0.contains(" slowjob: ") }
        let times = lines.compactMap { line -> Date? in
            let stamp = String(line.prefix(20))
            let f = ISO8601DateFormatter()
            return f.date(from: stamp)
        }
        XCTAssertEqual(times.count, lines.count, "every line starts with its time: \(r.err)")
        XCTAssertGreaterThanOrEqual(lines.filter { $0.contains(": RUNNING ") }.count, 3, "several lines while RUNNING: \(r.err)")
        for (a, b) in zip(times, times.dropFirst()) {
            XCTAssertLessThanOrEqual(b.timeIntervalSince(a), 2, "a progress line at least every 2 s: \(r.err)")
        }
        let running = lines.filter { $0.contains(": RUNNING ") && $0.contains("rows/s") }
        XCTAssertFalse(running.isEmpty, "lines carry the rate: \(r.err)")
        if let line = running.first {
            let pattern = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ slowjob: RUNNING \d+/14 rows, \d+ ok, 0 failed, \d+\.\d rows/s, ETA \S+$"#
            XCTAssertNotNil(line.range(of: pattern, options: .regularExpression), String(line))
        }
        XCTAssertTrue(lines.last?.contains("slowjob: COMPLETED 14/14 rows, 14 ok, 0 failed") ?? false, r.err)
        XCTAssertFalse(r.err.contains("PENDING \n") || r.err.contains("0/0 rows"), "no empty counts: \(r.err)")
    }

    /// --wait-timeout bounds the waiting (exit 9) on every follower; the global --timeout is per request.
    func testWaitTimeoutOnEveryFollowerAndTheGlobalTimeoutIsPerRequest() throws {
        let stub = try InferenceStub(delay: 0.5)
        let server = try LocalServer(stub.serverArguments(serial: true))
        XCTAssertEqual(server.cli(["dataset", "create", "slow", rows((1...16).map { "ok \($0)" }), "-q"]).status, 0)
        var r = server.cli(["bij", "create", "--job-id", "t1", "-m", "m", "-d", "slow", "--wait", "--wait-timeout", "300ms"])
        XCTAssertEqual(r.status, 9, r.err)
        XCTAssertNotNil(r.err.range(of: #"batchctl: error: t1 is still [A-Z]+ after 300ms"#, options: .regularExpression), r.err)
        XCTAssertFalse(r.err.contains("(("), "no nested parentheses: \(r.err)")
        r = server.cli(["bij", "get", "t1", "--watch", "--wait-timeout", "300ms"])
        XCTAssertEqual(r.status, 9, r.err)
        r = server.cli(["wait", "bij", "t1", "--wait-timeout", "300ms"])
        XCTAssertEqual(r.status, 9, r.err)
        // `--timeout 1s` is how long one request may take, not how long to wait: the 8 s job is waited for.
        let (waited, seconds) = Harness.timed { server.cli(["--timeout", "1s", "bij", "wait", "t1", "--interval", "1s"], timeout: 180) }
        XCTAssertEqual(waited.status, 0, waited.err)
        XCTAssertGreaterThan(seconds, 1, "it waited past the per-request timeout")

        // Deletes: --wait-timeout needs --wait; with it the delete is waited for.
        r = server.cli(["bij", "delete", "t1", "--wait-timeout", "1m"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("--wait-timeout needs --wait"), r.err)
        r = server.cli(["delete", "batch-inference-job", "t1", "--wait", "--wait-timeout", "1m", "-o", "name"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "accounts/local/batchInferenceJobs/t1\n")
        r = server.cli(["dataset", "delete", "slow", "--wait", "--wait-timeout", "1m"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.err, "deleted accounts/local/datasets/slow\n")
    }
}
