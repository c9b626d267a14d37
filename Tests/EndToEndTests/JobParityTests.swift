// End to end: the job rough edges of the first hour (#13 items 10, 12, 15): rerunning `--input-file`,
// lineage that survives deleted jobs, continuations that keep their settings, and text that reads right.
import Foundation
import XCTest

final class JobParityTests: XCTestCase {
    func file(_ texts: [String], name: String = "rows.jsonl") -> String {
        let path = Harness.temporaryDirectory("input") + "/" + name
        let text = texts.enumerated().map { i, t in
            #"{"custom_id": "r\#(i + 1)", "body": {"messages": [{"role": "user", "content": "\#(t)"}]}}"#
        }.joined(separator: "\n") + "\n"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func testInputFileCanBeRerun() throws {
        let server = try LocalServer()
        let input = file(["one", "two"])
        var r = server.cli(["bij", "create", "--input-file", input, "--job-id", "rerun", "-m", "echo", "--wait", "-q"])
        XCTAssertEqual(r.status, 0, r.err)
        // The job exists: refused before anything is created.
        r = server.cli(["bij", "create", "--input-file", file(["other"]), "--job-id", "rerun", "-m", "echo"])
        XCTAssertEqual(r.status, 6, r.err)
        XCTAssertEqual(r.err, "batchctl: error: batch inference job rerun already exists; nothing was created. Choose another --job-id, or delete it first (batchctl bij delete rerun)\n")
        // After a delete, the same command reuses the input dataset of the same content.
        XCTAssertEqual(server.cli(["bij", "delete", "rerun", "--wait"]).status, 0)
        r = server.cli(["bij", "create", "--input-file", input, "--job-id", "rerun", "-m", "echo", "--wait"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("reusing input dataset rerun-input: same size and SHA-256 as \(input)"), r.err)
        // Other content under the same job id: says which -d to use.
        XCTAssertEqual(server.cli(["bij", "delete", "rerun", "--wait"]).status, 0)
        let changed = file(["one", "three"])
        r = server.cli(["create", "bij", "--input-file", changed, "--job-id", "rerun", "-m", "echo"])
        XCTAssertEqual(r.status, 6, r.err)
        XCTAssertTrue(r.err.contains("dataset rerun-input already exists and does not hold \(changed)"), r.err)
        XCTAssertTrue(r.err.contains("use -d rerun-input instead of --input-file"), r.err)
        XCTAssertEqual(server.cli(["bij", "get", "rerun"]).status, 5, "no job was created")
        // Without a job id, the same file lands on the same dataset every time.
        r = server.cli(["bij", "create", "--input-file", input, "-m", "echo", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        let first = try json(r.out)["inputDatasetId"] as? String
        r = server.cli(["bij", "create", "--input-file", input, "-m", "echo", "-o", "json"])
        XCTAssertEqual(try json(r.out)["inputDatasetId"] as? String, first)
        XCTAssertTrue(r.err.contains("reusing input dataset input-"), r.err)
    }

    /// A chain of three jobs (the first two cancelled part-way on a slow backend); deleting the middle job
    /// keeps the chain whole for --download-lineage; deleting a dataset of it is a named warning and exit 1.
    func testLineageSurvivesADeletedJobAndNamesAMissingDataset() throws {
        let stub = try InferenceStub(delay: 0.3)
        let server = try LocalServer(stub.serverArguments(serial: true))
        XCTAssertEqual(server.cli(["dataset", "create", "chain-in", file((1...12).map { "ok \($0)" }), "-q"]).status, 0)
        func runPartly(_ id: String, _ args: [String]) throws {
            XCTAssertEqual(server.cli(["bij", "create", "--job-id", id, "-x", "\(id)-out"] + args).status, 0)
            XCTAssertTrue(Harness.wait(timeout: 60) {
                let p = (try? self.json(server.cli(["bij", "get", id, "-o", "json"]).out))?["jobProgress"] as? [String: Any]
                return (p?["successfullyProcessedRequests"] as? Int ?? 0) >= 2
            }, "\(id) made progress")
            XCTAssertEqual(server.cli(["bij", "cancel", id]).status, 0)
            XCTAssertEqual(server.cli(["bij", "wait", id, "--interval", "1s", "-q"]).status, 8, "\(id) ends CANCELLED")
        }
        try runPartly("c1", ["-m", "m", "-d", "chain-in"])
        try runPartly("c2", ["--continue-from", "c1"])
        var r = server.cli(["bij", "create", "--job-id", "c3", "-x", "c3-out", "--continue-from", "c2", "--wait", "-q"], timeout: 180)
        XCTAssertEqual(r.status, 0, r.err)

        func lineageRows(_ out: String) throws -> [String] {
            var ids: [String] = []
            for path in out.split(separator: "\n") where path.hasSuffix("BIJOutputSet.jsonl") {
                for line in try String(contentsOfFile: String(path), encoding: .utf8).split(separator: "\n") {
                    ids.append(try json(String(line))["custom_id"] as! String)
                }
            }
            return ids.sorted()
        }
        XCTAssertEqual(server.cli(["bij", "delete", "c2", "--wait"]).status, 0)
        let dir = Harness.temporaryDirectory("dl")
        r = server.cli(["dataset", "download", "c3-out", "--download-lineage", "--output-dir", dir])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try lineageRows(r.out), (1...12).map { "r\($0)" }.sorted(), "every row once, with the middle job deleted")
        XCTAssertEqual(Set(r.out.split(separator: "\n").map { $0.split(separator: "/").dropLast().last.map(String.init) ?? "" }),
                       ["c1-out", "c2-out", "c3-out"], r.out)

        XCTAssertEqual(server.cli(["dataset", "delete", "c2-out"]).status, 0)
        let dir2 = Harness.temporaryDirectory("dl")
        r = server.cli(["dataset", "download", "c3-out", "--download-lineage", "--output-dir", dir2])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("warning: dataset c2-out (the output of job c2), which came before c3-out in the lineage, no longer exists\n"), r.err)
        XCTAssertTrue(r.err.contains("batchctl: error: the lineage of c3-out is incomplete"), r.err)
        XCTAssertTrue(r.out.contains("\(dir2)/dataset/c3-out/BIJOutputSet.jsonl"), "what could be found is downloaded: \(r.out)")
    }

    func testContinuationKeepsPrecisionAndWindow() throws {
        let server = try LocalServer()
        let input = file(["a", "b"])
        XCTAssertEqual(server.cli(["dataset", "create", "in", input, "-q"]).status, 0)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "p1", "-m", "echo", "-d", "in", "--precision", "FP16",
                                   "--max-job-duration", "48h", "--wait", "-q"]).status, 0)
        var r = server.cli(["bij", "create", "--job-id", "p2", "--continue-from", "p1", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        var job = try json(r.out)
        XCTAssertEqual(job["precision"] as? String, "FP16", "inherited")
        XCTAssertEqual(job["maxJobDuration"] as? String, "172800s", "inherited")
        r = server.cli(["bij", "create", "--job-id", "p3", "--continue-from", "p1", "--precision", "FP8", "--max-job-duration", "12h", "-o", "json"])
        job = try json(r.out)
        XCTAssertEqual(job["precision"] as? String, "FP8", "given wins")
        XCTAssertEqual(job["maxJobDuration"] as? String, "43200s")
    }

    func testTextThatReadsRight() throws {
        let server = try LocalServer()
        XCTAssertEqual(server.cli(["dataset", "create", "in", file(["a"]), "-q"]).status, 0)
        var r = server.cli(["dataset", "create", "again", file(["a"])])
        XCTAssertNotNil(r.err.range(of: #"^validated /\S+/rows.jsonl: valid: 1 row, "#, options: .regularExpression), r.err)
        r = server.cli(["bij", "create", "--job-id", "fresh", "-m", "echo", "-d", "in"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertFalse(r.out.contains("Lifecycle:"), "no empty Lifecycle header for a job that has not started: \(r.out)")
        r = server.cli(["bij", "wait", "fresh"])
        for line in r.err.split(separator: "\n") {
            XCTAssertFalse(line.hasSuffix(" "), "no trailing space: '\(line)'")
            XCTAssertFalse(line.contains("0/0 rows"), "no counts before they are known: \(line)")
        }
        r = Harness.run(["server", "--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.out.contains("Commands:\n  start       Start the local gateway in the background\n  stop        Stop the background local gateway\n  status      Show whether the local gateway runs\n"), r.out)
    }
}
