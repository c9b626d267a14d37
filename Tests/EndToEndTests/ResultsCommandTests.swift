// End to end: `bij results` (joined to the input across a continuation, filters, planted duplicates, a
// deleted job in the lineage, --follow on a running job) and `dataset split` on a 300 MB file, against a real
// gateway whose OpenAI-compatible backend is a Python server that fails some rows.
import Foundation
import XCTest

final class ResultsCommandTests: XCTestCase {
    // MARK: fixtures

    /// A stdlib Python chat-completions server. The first word of a row's message decides: `bad-*` is
    /// refused with 400 every time, `once-*` the first time only, anything else is answered. An optional
    /// delay per request makes it slow.
    private final class RowBackend {
        let process = Process()
        let directory = Harness.temporaryDirectory("rowbackend")
        private(set) var url = ""

        static let source = #"""
        import json, sys, threading, time
        from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
        delay = float(sys.argv[2])
        seen = {}
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def reply(self, status, obj):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def do_POST(self):
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                text = req["messages"][-1]["content"]
                with lock:
                    seen[text] = seen.get(text, 0) + 1
                    n = seen[text]
                if delay: time.sleep(delay)
                kind = text.split("-")[0]
                try:
                    if kind == "bad" or (kind == "once" and n == 1):
                        return self.reply(400, {"error": {"message": "refused: " + text}})
                    self.reply(200, {"id": "c-" + text, "object": "chat.completion", "created": 1, "model": "m",
                                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "re: " + text}, "finish_reason": "stop"}],
                                     "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})
                except (BrokenPipeError, ConnectionResetError):
                    pass

        ThreadingHTTPServer.daemon_threads = True
        ThreadingHTTPServer.request_queue_size = 128
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        with open(sys.argv[1] + ".tmp", "w") as f: f.write(str(server.server_address[1]))
        import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
        server.serve_forever()
        """#

        init(delay: Double = 0) throws {
            let python = try Harness.requireTool("python3")
            let script = directory + "/backend.py"
            try Self.source.write(toFile: script, atomically: true, encoding: .utf8)
            let portFile = directory + "/port"
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [script, portFile, String(delay)]
            let log = directory + "/backend.log"
            FileManager.default.createFile(atPath: log, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: log)
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
            _ = Harness.wait(timeout: 20) { FileManager.default.fileExists(atPath: portFile) || !self.process.isRunning }
            guard let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) else {
                throw NSError(domain: "RowBackend", code: 1, userInfo: [NSLocalizedDescriptionKey:
                    "the backend did not start: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")])
            }
            url = "http://127.0.0.1:\(port)/v1"
        }

        deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }
    }

    /// Rows r1...rN: every tenth from 3 is `bad`, every tenth from 7 is `once`, the rest are plain.
    func kind(_ i: Int) -> String { i % 10 == 3 ? "bad" : i % 10 == 7 ? "once" : "ok" }

    func input(_ rows: Int) throws -> String {
        let path = Harness.temporaryDirectory("input") + "/rows.jsonl"
        var text = ""
        for i in 1...rows { text += #"{"custom_id": "r\#(i)", "body": {"messages": [{"role": "user", "content": "\#(kind(i))-\#(i)"}]}}"# + "\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func lines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func job(_ server: LocalServer, _ id: String) throws -> [String: Any] {
        let r = server.cli(["bij", "get", id, "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        return try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
    }

    static let first = "accounts/local/batchInferenceJobs/first"
    static let second = "accounts/local/batchInferenceJobs/second"

    /// A gateway on the row backend, with job `first` over 30 rows (3 bad and 3 once rows fail) and its
    /// continuation `second` (the once rows now succeed, the bad ones fail again).
    private func continuedJobs() throws -> (LocalServer, RowBackend) {
        let backend = try RowBackend()
        let server = try LocalServer(["--backend", "openai", "--inference-url", backend.url])
        XCTAssertEqual(server.cli(["dataset", "create", "in-ds", try input(30), "-q"]).status, 0)
        var r = server.cli(["bij", "create", "--job-id", "first", "-m", "m", "-d", "in-ds", "--wait", "-q"])
        XCTAssertEqual(r.status, 0, r.err)
        r = server.cli(["bij", "create", "--continue-from", "first", "--job-id", "second", "--wait", "-q"])
        XCTAssertEqual(r.status, 0, r.err)
        return (server, backend)
    }

    // MARK: results

    func testResultsJoinTheInputInOrderAcrossTheContinuation() throws {
        let (server, backend) = try continuedJobs()
        defer { withExtendedLifetime(backend) {} }
        var r = server.cli(["bij", "results", "second"])
        XCTAssertEqual(r.status, 0, r.err)
        let rows = try lines(r.out)
        XCTAssertEqual(rows.map { $0["custom_id"] as? String }, (1...30).map { "r\($0)" }, "one line per input row, in input order")
        for (i, row) in zip(1..., rows) {
            let id = "r\(i)"
            switch kind(i) {
            case "ok":
                XCTAssertEqual(row["status"] as? String, "succeeded", id)
                XCTAssertEqual(row["job"] as? String, Self.first, "\(id) was answered by the first job")
                XCTAssertEqual(((row["response"] as? [String: Any])?["choices"] as? [[String: Any]])?.first?["message"]
                    .flatMap { ($0 as? [String: Any])?["content"] as? String }, "re: ok-\(i)")
            case "once":
                XCTAssertEqual(row["status"] as? String, "succeeded", id)
                XCTAssertEqual(row["job"] as? String, Self.second, "\(id) failed in the first job and succeeded in the continuation")
            default:
                XCTAssertEqual(row["status"] as? String, "failed", id)
                XCTAssertEqual(row["job"] as? String, Self.second, "\(id): the latest failure")
                XCTAssertNotNil(row["error"] as? [String: Any], id)
                XCTAssertNil(row["response"], id)
            }
        }
        XCTAssertTrue(r.err.contains("27 succeeded, 3 failed (400: 3), 0 missing, of 30 rows"), r.err)

        // --status failed: exactly the failed ones; --fail-on-row-errors: exit 10.
        r = server.cli(["bij", "results", "second", "--status", "failed", "-o", "name", "--fail-on-row-errors"])
        XCTAssertEqual(r.status, 10, r.err)
        XCTAssertEqual(r.out, "r3\nr13\nr23\n")
        r = server.cli(["bij", "results", "second", "--status", "succeeded,missing", "-o", "name"])
        XCTAssertEqual(r.out.split(separator: "\n").count, 27, r.out)

        // --no-lineage: the continuation's own output only.
        r = server.cli(["bij", "results", "second", "--no-lineage", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        let own = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [[String: Any]]
        XCTAssertEqual(own.count, 30)
        XCTAssertEqual(own.filter { $0["status"] as? String == "missing" }.count, 24, "rows the continuation did not run")
        XCTAssertTrue(own.filter { $0["status"] as? String == "missing" }.allSatisfy { $0["job"] is NSNull })

        // The first job alone: the once rows are still failures there.
        r = server.cli(["bij", "results", "first", "--status", "failed", "-o", "name"])
        XCTAssertEqual(r.out, "r3\nr7\nr13\nr17\nr23\nr27\n")

        // --with-request, --content, the table, and two jobs merged in the order given.
        r = server.cli(["bij", "results", "second", "--with-request"])
        let withBody = try lines(r.out)
        XCTAssertEqual(((withBody[6]["body"] as? [String: Any])?["messages"] as? [[String: Any]])?.first?["content"] as? String, "once-7")
        r = server.cli(["bij", "results", "second", "--content"])
        XCTAssertEqual(r.out.split(separator: "\n", omittingEmptySubsequences: false).prefix(4), ["re: ok-1", "re: ok-2", "", "re: ok-4"])
        r = server.cli(["bij", "results", "second", "-o", "table"])
        let header = r.out.split(separator: "\n").first ?? ""
        for column in ["CUSTOM_ID", "STATUS", "TOKENS", "ANSWER"] { XCTAssertTrue(header.contains(column), r.out) }
        XCTAssertTrue(r.out.contains("r3 ") && r.out.contains("error 400"), r.out)
        r = server.cli(["bij", "results", "first", "second", "-o", "name"])
        XCTAssertEqual(r.out.split(separator: "\n").count, 60)
        XCTAssertTrue(r.err.contains("of 60 rows of 2 jobs"), r.err)
    }

    func testPlantedDuplicatesAndUnknownIDsAreNamed() throws {
        let (server, backend) = try continuedJobs()
        defer { withExtendedLifetime(backend) {} }
        let output = try XCTUnwrap((try job(server, "first")["outputDatasetId"] as? String)?.split(separator: "/").last)
        let path = "\(server.dataDir)/accounts/local/datasets/\(output)/files/BIJOutputSet.jsonl"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        let firstLine = try XCTUnwrap(original.split(separator: "\n").first)
        let plantedID = try XCTUnwrap(try lines(String(firstLine)).first?["custom_id"] as? String)
        let stranger = firstLine.replacingOccurrences(of: "\"\(plantedID)\"", with: "\"stranger\"")
        try (original + firstLine + "\n" + stranger + "\n").write(toFile: path, atomically: false, encoding: .utf8)

        let r = server.cli(["bij", "results", "second"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try lines(r.out).count, 30, "still one line per input row")
        XCTAssertTrue(r.err.contains("duplicate custom_id \"\(plantedID)\" in dataset/\(output)/BIJOutputSet.jsonl"), r.err)
        XCTAssertTrue(r.err.contains("custom_id not in the input: \"stranger\""), r.err)
    }

    func testTheLineageResolvesAfterTheContinuationsJobIsDeleted() throws {
        // The gateway records the lineage on the output datasets themselves (#13), so it survives the job.
        let (server, backend) = try continuedJobs()
        defer { withExtendedLifetime(backend) {} }
        var r = server.cli(["bij", "create", "--continue-from", "second", "--job-id", "third", "--wait", "-q"])
        XCTAssertEqual(r.status, 0, r.err)
        r = server.cli(["bij", "delete", "second", "--wait"])
        XCTAssertEqual(r.status, 0, r.err)
        r = server.cli(["bij", "results", "third"])
        XCTAssertEqual(r.status, 0, r.err)
        let rows = try lines(r.out)
        XCTAssertEqual(rows.count, 30)
        for (i, row) in zip(1..., rows) where kind(i) == "once" {
            XCTAssertEqual(row["status"] as? String, "succeeded", "r\(i)")
            XCTAssertEqual(row["job"] as? String, Self.second, "r\(i): the deleted job is still named from its output dataset")
        }
        XCTAssertEqual(rows.filter { $0["status"] as? String == "succeeded" }.count, 27, r.err)
    }

    // MARK: follow

    func testFollowPrintsRowsBeforeTheJobEndsAndEveryRowByTheEnd() throws {
        let backend = try RowBackend(delay: 0.002)
        let server = try LocalServer(["--backend", "openai", "--inference-url", backend.url, "--concurrency", "32"])
        let path = Harness.temporaryDirectory("input") + "/rows.jsonl"
        var text = ""
        for i in 1...20_000 { text += #"{"custom_id": "r\#(i)", "body": {"messages": [{"role": "user", "content": "ok-\#(i)"}]}}"# + "\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(server.cli(["dataset", "create", "big-ds", path, "-q"]).status, 0)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "slow", "-m", "m", "-d", "big-ds", "-q"]).status, 0)

        let out = Harness.temporaryDirectory("follow") + "/out"
        let follow = try Background(["--server", server.url, "-a", "local", "bij", "results", "slow", "--follow", "-o", "name"], stdout: out)
        // Rows appear while the job still runs.
        XCTAssertTrue(Harness.wait(timeout: 120) { ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("\n") },
                      "no row within 2 minutes: \(follow.err)")
        let state = try job(server, "slow")["state"] as? String
        let early = ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(separator: "\n").count
        XCTAssertEqual(state, "JOB_STATE_RUNNING", "rows were printed before the job ended (\(early) so far)")
        XCTAssertLessThan(early, 20_000)

        XCTAssertTrue(follow.wait(timeout: 600), "follow did not end")
        XCTAssertEqual(follow.status, 0, follow.err)
        let ids = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(ids.count, 20_000, "exactly every row by the end")
        XCTAssertEqual(Set(ids).count, 20_000, "none twice")
        XCTAssertTrue(follow.err.contains("20,000 succeeded, 0 failed, 0 missing, of 20,000 rows"), follow.err)
        XCTAssertEqual(try job(server, "slow")["state"] as? String, "JOB_STATE_COMPLETED")
        print("follow test: \(early) of 20,000 rows printed while the job was RUNNING")
    }

    /// batchctl running in the background, stdout to a file.
    private final class Background {
        let process = Process()
        let errPath: String
        init(_ args: [String], stdout: String) throws {
            errPath = stdout + ".err"
            FileManager.default.createFile(atPath: stdout, contents: nil)
            FileManager.default.createFile(atPath: errPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: Harness.binary)
            process.arguments = args
            process.environment = Harness.cleanEnvironment()
            process.standardOutput = FileHandle(forWritingAtPath: stdout)
            process.standardError = FileHandle(forWritingAtPath: errPath)
            try process.run()
        }
        var err: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
        var status: Int32 { process.terminationStatus }
        func wait(timeout: Double) -> Bool {
            let done = Harness.wait(timeout: timeout) { !self.process.isRunning }
            if !done { process.terminate(); process.waitUntilExit() }
            return done
        }
        deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }
    }

    // MARK: split

    func testSplitOf300MBKeepsEveryByteUnderTheLimitAndEachPartValid() throws {
        let dir = Harness.temporaryDirectory("split")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/big.jsonl"
        let (rows, size) = try Self.generate(path, bytes: 300_000_000)
        let r = Harness.run(["dataset", "split", path, "--max-bytes", "64MB", "--output-dir", dir + "/parts", "-o", "json"], timeout: 600)
        XCTAssertEqual(r.status, 0, r.err)
        let parts = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [[String: Any]]
        XCTAssertEqual(parts.count, Int((Double(size) / 64e6).rounded(.up)), r.out)
        XCTAssertEqual(parts.compactMap { $0["rows"] as? Int }.reduce(0, +), rows)
        let paths = parts.compactMap { $0["path"] as? String }
        XCTAssertEqual(paths.map { ($0 as NSString).lastPathComponent }, (1...parts.count).map { String(format: "big.part-%04d.jsonl", $0) })

        // The parts concatenated are the input, byte for byte; each is under the limit and valid on its own.
        let original = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? original.close() }
        for (part, info) in zip(paths, parts) {
            let attributes = try FileManager.default.attributesOfItem(atPath: part)
            let length = (attributes[.size] as? NSNumber)?.intValue ?? -1
            XCTAssertLessThanOrEqual(length, 64_000_000, part)
            XCTAssertEqual(length, info["bytes"] as? Int)
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: part))
            defer { try? handle.close() }
            while true {
                let chunk = handle.readData(ofLength: 8 << 20)
                if chunk.isEmpty { break }
                XCTAssertEqual(original.readData(ofLength: chunk.count), chunk, "\(part) differs from the input")
            }
            let v = Harness.run(["dataset", "validate", part, "-o", "json"], timeout: 300)
            XCTAssertEqual(v.status, 0, "\(part): \(v.err)")
            let report = try JSONSerialization.jsonObject(with: Data(v.out.utf8)) as? [String: Any]
            XCTAssertEqual(report?["rows"] as? Int, info["rows"] as? Int, v.out)
        }
        XCTAssertTrue(original.readData(ofLength: 1).isEmpty, "the parts hold the whole input")
    }

    func testSplitOfAnInvalidFileLeavesNoPart() throws {
        let dir = Harness.temporaryDirectory("split-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rows = (1...50).map { #"{"custom_id": "r\#($0)", "body": {"messages": [{"role": "user", "content": "hi"}]}}"# }
        try ((rows + [rows[4]] + rows.prefix(3).map { $0.replacingOccurrences(of: "\"r", with: "\"s") }).joined(separator: "\n") + "\n")
            .write(toFile: dir + "/in.jsonl", atomically: true, encoding: .utf8)
        let r = Harness.run(["dataset", "split", dir + "/in.jsonl", "--rows", "10", "--output-dir", dir + "/parts"])
        XCTAssertEqual(r.status, 3, r.err)
        XCTAssertTrue(r.err.contains("in.jsonl:51: duplicate custom_id \"r5\" (first seen on line 5)"), r.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/parts"), [], "no part and no temporary file is left")
    }

    /// Writes chat rows of about 300 bytes up to `bytes`; returns the row count and the size.
    static func generate(_ path: String, bytes: Int) throws -> (Int, Int) {
        let prefix = Array(#"{"custom_id": "row-"#.utf8)
        let suffix = Array((#"", "body": {"messages": [{"role": "user", "content": ""# + String(repeating: "lorem ipsum ", count: 20) + #""}], "max_tokens": 16}}"# + "\n").utf8)
        let rowLength = prefix.count + 8 + suffix.count
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var chunk = [UInt8]()
        chunk.reserveCapacity(4 << 20)
        var rows = 0
        var written = 0
        while written + rowLength <= bytes {
            chunk += prefix
            var n = rows
            var digits = [UInt8](repeating: 0x30, count: 8)
            var i = 7
            while n > 0 { digits[i] = UInt8(0x30 + n % 10); n /= 10; i -= 1 }
            chunk += digits
            chunk += suffix
            rows += 1
            written += rowLength
            if chunk.count >= 4 << 20 { handle.write(Data(chunk)); chunk.removeAll(keepingCapacity: true) }
        }
        handle.write(Data(chunk))
        return (rows, written)
    }
}
