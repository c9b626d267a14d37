// End to end: what scripts rely on (#13 items 2, 6, 7, 8): firectl's listing, stdout data only with -o
// honoured or refused on every command, exit statuses from the gateway's code, and duration checks.
import BatchHTTP
import Foundation
import XCTest

final class OutputContractTests: XCTestCase {
    func input(_ rows: Int = 2) -> String {
        let path = Harness.temporaryDirectory("input") + "/rows.jsonl"
        let text = (1...rows).map { #"{"custom_id": "c\#($0)", "body": {"messages": [{"role": "user", "content": "a b \#($0)"}]}}"# }
            .joined(separator: "\n") + "\n"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    /// Empty datasets straight through the REST API: 120 CLI runs would only test process start-up.
    func createDatasets(_ server: LocalServer, count: Int) throws {
        let client = HTTPClient(configuration: HTTPClientConfiguration(userAgent: "tests"))
        for i in 0..<count {
            let body = #"{"datasetId": "ds-\#(String(format: "%03d", i))", "dataset": {"userUploaded": {}, "exampleCount": "0"}}"#
            let r = try client.send(HTTPClientRequest(.post, server.url + "/v1/accounts/local/datasets",
                                                      headers: ["Content-Type": "application/json"], body: [.bytes(Array(body.utf8))]))
            XCTAssertEqual(r.status, 200)
        }
    }

    func testListingAsFirectl() throws {
        let server = try LocalServer()
        try createDatasets(server, count: 120)
        for order in [["dataset", "list"], ["list", "datasets"]] {
            var r = server.cli(order + ["--no-paginate", "-o", "name"])
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertEqual(r.out.split(separator: "\n").count, 120, "--no-paginate lists all 120 (firectl's meaning)")
            r = server.cli(order + ["-o", "name"])
            XCTAssertEqual(r.out.split(separator: "\n").count, 120, "so does the default (pages of 50 followed)")
        }
        var r = server.cli(["dataset", "list", "--page-size", "7", "--limit", "30", "-o", "name"])
        XCTAssertEqual(r.out.split(separator: "\n").count, 30, "--limit caps the total across pages of --page-size")
        r = server.cli(["dataset", "list", "--page-size", "200", "-o", "json"])
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [Any])?.count, 120)
        // One page only when a --page-token is given; the note says how to go on.
        r = server.cli(["dataset", "list", "--page-token", "", "--page-size", "50", "-o", "name"])
        XCTAssertEqual(r.out.split(separator: "\n").count, 50)
        let token = try XCTUnwrap(r.err.split(separator: "\n").first { $0.hasPrefix("next page: --page-token ") }).dropFirst("next page: --page-token ".count)
        r = server.cli(["dataset", "list", "--page-token", String(token), "--page-size", "50", "-o", "name"])
        XCTAssertEqual(r.out.split(separator: "\n").first, "accounts/local/datasets/ds-050", r.out)
        XCTAssertEqual(r.out.split(separator: "\n").count, 50)
    }

    /// Every command's `-o json` parses with jq while stderr is discarded, and the commands that print no
    /// object refuse -o json with a usage error that names what they print. The list is checked against the
    /// man page, so a new command cannot be left out.
    func testEveryCommandHonoursOrRefusesJSON() throws {
        let jq = try Harness.requireTool("jq")
        let server = try LocalServer()
        let file = input()
        let dir = Harness.temporaryDirectory("dl")
        let home = Harness.temporaryDirectory("home")
        let data = Harness.temporaryDirectory("data")
        let port = Harness.freePort()
        var covered: Set<String> = []
        // A job that is still running when it is cancelled: one slow row at a time.
        let stub = try InferenceStub(delay: 2)
        let slow = try LocalServer(stub.serverArguments(serial: true))
        func json(_ path: String, _ args: [String], local: Bool = true, on target: LocalServer? = nil, status: Int32 = 0) {
            covered.insert(path)
            let env = Harness.cleanEnvironment(home: home)
            let line = (local ? ["--server", (target ?? server).url, "-a", "local"] : []) + args + ["-o", "json"]
            let r = Harness.run(line, env: env)
            XCTAssertEqual(r.status, status, "\(line): \(r.err)")
            XCTAssertFalse(r.out.isEmpty, "\(line) printed nothing on stdout")
            let parsed = Harness.runProgram(jq, ["-e", "."], stdin: r.out)
            XCTAssertEqual(parsed.status, 0, "\(line) -o json is not JSON: \(r.out)")
        }
        func refused(_ path: String, _ args: [String], formats: String) {
            covered.insert(path)
            let r = Harness.run(args + ["-o", "json"], env: Harness.cleanEnvironment(home: home))
            XCTAssertEqual(r.status, 2, "\(args)")
            XCTAssertEqual(r.out, "")
            XCTAssertTrue(r.err.contains("'batchctl \(path)' does not print -o json; it prints \(formats)"), r.err)
        }
        json("dataset create", ["dataset", "create", "ds1", file])
        json("dataset upload", ["dataset", "upload", "ds1", file, "--force"])
        json("dataset get", ["dataset", "get", "ds1"])
        json("dataset update", ["dataset", "update", "ds1", "--display-name", "renamed"])
        json("dataset list", ["dataset", "list"])
        json("dataset validate", ["dataset", "validate", file], local: false)
        json("batch-inference-job create", ["bij", "create", "--job-id", "j1", "-m", "echo", "-d", "ds1", "--wait"])
        json("batch-inference-job get", ["bij", "get", "j1"])
        json("batch-inference-job list", ["bij", "list"])
        json("batch-inference-job wait", ["bij", "wait", "j1"])
        json("dataset download", ["dataset", "download", "ds1", "--output-dir", dir])
        json("batch-inference-job results", ["bij", "results", "j1"])
        json("dataset split", ["dataset", "split", file, "--output-dir", dir + "/parts"], local: false)
        XCTAssertEqual(slow.cli(["dataset", "create", "ds2", input(3), "-q"]).status, 0)
        XCTAssertEqual(slow.cli(["bij", "create", "--job-id", "j2", "-m", "m", "-d", "ds2"]).status, 0)
        json("batch-inference-job cancel", ["bij", "cancel", "j2"], on: slow)
        json("batch-inference-job delete", ["bij", "delete", "j2", "--wait"], on: slow)
        json("dataset delete", ["dataset", "delete", "ds1"])
        json("whoami", ["whoami"])
        json("set-api-key", ["set-api-key", "fw_jsonkey12345"], local: false)
        json("version", ["version"], local: false)
        json("server start", ["server", "start", "--listen", "127.0.0.1:\(port)", "--data-dir", data], local: false)
        json("server status", ["server", "status", "--data-dir", data], local: false)
        json("server stop", ["server", "stop", "--data-dir", data], local: false)
        json("server status", ["server", "status", "--data-dir", data], local: false, status: 1)
        refused("server", ["server", "--data-dir", data], formats: "text")
        refused("completion", ["completion", "bash"], formats: "text")
        refused("man", ["man"], formats: "text")
        covered.insert("help")

        let man = Harness.run(["man"]).out
        let paths = man.split(separator: "\n").filter { $0.hasPrefix(".SS \"") }.map { $0.dropFirst(5).dropLast().replacingOccurrences(of: "\\-", with: "-") }
        XCTAssertFalse(paths.isEmpty)
        for path in paths { XCTAssertTrue(covered.contains(path), "'\(path)' is not checked for -o json") }

        // Formats a command cannot print are refused, not ignored.
        var r = Harness.run(["version", "-o", "table"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("'batchctl version' does not print -o table; it prints text, json or jsonl"), r.err)
        r = server.cli(["dataset", "download", "nope", "-o", "name"])
        XCTAssertEqual(r.status, 2, r.err)
    }

    /// A file that fails validation prints nothing on stdout, whatever the command and format.
    func testStdoutStaysDataOnlyWhenAFileIsRefused() throws {
        let server = try LocalServer()
        let bad = Harness.temporaryDirectory("input") + "/bad.jsonl"
        try #"{"custom_id": "a", "body": {"messages": []}}"#.appending("\n").write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertEqual(server.cli(["dataset", "create", "good", input(), "-q"]).status, 0)
        for args in [["dataset", "create", "x", bad], ["dataset", "upload", "good", bad, "--force"],
                     ["bij", "create", "--input-file", bad, "-m", "echo"], ["create", "dataset", "y", bad]] {
            for format in ["json", "text"] {
                let r = server.cli(args + ["-o", format])
                XCTAssertEqual(r.status, 3, "\(args): \(r.err)")
                XCTAssertEqual(r.out, "", "\(args) -o \(format) printed on stdout: \(r.out)")
                XCTAssertTrue(r.err.contains("\(bad):1: "), r.err)
                XCTAssertTrue(r.err.contains("bad.jsonl: invalid: 1 problem"), r.err)
            }
        }
        // validate's summary is its data: on stdout.
        let r = server.cli(["dataset", "validate", bad])
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.out.hasPrefix("\(bad): invalid: 1 problem"), r.out)
    }

    /// NOT_FOUND is exit 5 however it arrives; the local gateway names what is missing.
    func testNotFoundIsFiveFromTheCode() throws {
        let server = try LocalServer()
        var r = server.cli(["bij", "create", "-m", "echo", "-d", "no-such-ds"])
        XCTAssertEqual(r.status, 5, r.err)
        XCTAssertEqual(r.err, "batchctl: error: input dataset \"accounts/local/datasets/no-such-ds\" not found (HTTP 404, code 5 NOT_FOUND)\n")
        r = server.cli(["create", "batch-inference-job", "--continue-from", "ghost"])
        XCTAssertEqual(r.status, 5, r.err)
        XCTAssertEqual(r.err, "batchctl: error: job to continue from \"accounts/local/batchInferenceJobs/ghost\" not found (HTTP 404, code 5 NOT_FOUND)\n")
        // A NOT_FOUND carried by another HTTP status (as a proxy or an older gateway may send it).
        let front = try ScriptedHTTPServer(upstream: server.url)
        front.on("GET", "/v1/accounts/local/datasets/odd", .status(400, body: #"{"code": 5, "message": "dataset odd is gone", "details": []}"#))
        r = Harness.run(["--server", front.url, "-a", "local", "dataset", "get", "odd"])
        XCTAssertEqual(r.status, 5, r.err)
        XCTAssertTrue(r.err.contains("dataset odd is gone (HTTP 400, code 5 NOT_FOUND)"), r.err)
        front.on("GET", "/v1/accounts/local/datasets/taken", .status(400, body: #"{"code": 6, "message": "taken", "details": []}"#))
        XCTAssertEqual(Harness.run(["--server", front.url, "-a", "local", "dataset", "get", "taken"]).status, 6)
        // firectl's spelling of a job name is understood.
        XCTAssertEqual(server.cli(["dataset", "create", "in", input(), "-q"]).status, 0)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "named", "-m", "echo", "-d", "in", "--wait", "-q"]).status, 0)
        r = server.cli(["bij", "get", "accounts/local/batch-inference-jobs/named", "-o", "name"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "accounts/local/batchInferenceJobs/named\n")
    }

    /// --max-job-duration is held to what the gateway accepts; no duration anywhere may be zero or negative.
    func testDurationsAreChecked() {
        let base = ["bij", "create", "-m", "echo", "-d", "x", "--server", "http://127.0.0.1:9", "-a", "a"]
        for (value, message) in [("1s", "invalid value '1s' for --max-job-duration: the gateway accepts 12h to 72h (default 24h)"),
                                 ("100h", "invalid value '100h' for --max-job-duration: the gateway accepts 12h to 72h (default 24h)"),
                                 ("0s", "invalid value '0s' for --max-job-duration: must be positive"),
                                 ("-5m", "invalid value '-5m' for --max-job-duration: must be positive")] {
            let r = Harness.run(base + ["--max-job-duration", value])
            XCTAssertEqual(r.status, 2, "\(value): \(r.err)")
            XCTAssertTrue(r.err.hasPrefix("batchctl: error: \(message)\n"), "\(value): \(r.err)")
        }
        XCTAssertEqual(Harness.run(base + ["--max-job-duration", "48h", "--dry-run"]).status, 0)
        for flag in ["--wait-timeout", "--progress-interval", "--interval", "--timeout"] {
            let r = Harness.run(["bij", "wait", "j", flag, "-1s", "--server", "http://127.0.0.1:9", "-a", "a"])
            XCTAssertEqual(r.status, 2, flag)
            XCTAssertTrue(r.err.contains("invalid value '-1s' for \(flag): must be positive"), "\(flag): \(r.err)")
        }
    }
}
