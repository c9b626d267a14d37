// End to end: SIGINT, SIGTERM and SIGHUP. The CLI removes what it was writing and exits 128+N whatever the
// interrupted request does; an interrupted `dataset create` can be run again; the foreground server stops
// gracefully within 5 s, and at once on a second signal.
import BatchJSONL
import Foundation
import XCTest

final class SignalTests: XCTestCase {
    /// batchctl started in the background, stderr to a file, stdin from `stdin` (kept open) or /dev/null.
    func spawn(_ args: [String], env: [String: String]? = nil, stdin: Pipe? = nil) throws -> (Process, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Harness.binary)
        p.arguments = args
        p.environment = env ?? Harness.cleanEnvironment()
        let errPath = Harness.temporaryDirectory("err") + "/stderr"
        FileManager.default.createFile(atPath: errPath, contents: nil)
        p.standardError = FileHandle(forWritingAtPath: errPath)
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = stdin ?? FileHandle.nullDevice
        try p.run()
        return (p, errPath)
    }

    func waitUntil(_ timeout: Double = 20, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    /// Waits for the process to end within `timeout` seconds (killing it otherwise); returns its status.
    func exitStatus(_ p: Process, within timeout: Double = 20) -> Int32? {
        guard waitUntil(timeout, { !p.isRunning }) else { kill(p.processIdentifier, SIGKILL); p.waitUntilExit(); return nil }
        p.waitUntilExit()
        return p.terminationStatus
    }

    func testEachSignalRemovesThePartialDownloadAndExitsWithItsOwnStatus() throws {
        // A gateway whose download URL never answers: the partial file exists and the request is in flight when
        // the signal comes.
        let front = try ScriptedHTTPServer()
        front.on("GET", "/v1/accounts/local/datasets/big:getDownloadEndpoint",
                 .status(200, body: #"{"filenameToSignedUrls": {"dataset/big/rows.jsonl": "{self}/file"}}"#), repeatLast: true)
        front.on("GET", "/file", .hang(60), repeatLast: true)
        for (number, status) in [(SIGINT, Int32(130)), (SIGTERM, 143), (SIGHUP, 129)] {
            let dir = Harness.temporaryDirectory("dl")
            let (p, errPath) = try spawn(["--server", front.url, "-a", "local", "dataset", "download", "big", "--output-dir", dir])
            let partialExists = waitUntil {
                ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/dataset/big")) ?? []).contains { $0.hasPrefix(".") }
            }
            XCTAssertTrue(partialExists, "the download started")
            kill(p.processIdentifier, number)
            XCTAssertEqual(exitStatus(p), status, "signal \(number): " + ((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""))
            XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: dir + "/dataset/big")) ?? [], [], "no partial file after signal \(number)")
        }
    }

    func testTheCopyOfStdinIsRemovedOnSIGTERMAndAfterSuccess() throws {
        let gateway = try LocalServer(["--quiet"])
        let tmp = Harness.temporaryDirectory("tmpdir")
        var env = Harness.cleanEnvironment()
        env["TMPDIR"] = tmp + "/"
        let input = Pipe()
        let (p, errPath) = try spawn(["--server", gateway.url, "-a", "local", "dataset", "create", "piped", "-"], env: env, stdin: input)
        input.fileHandleForWriting.write(Data(#"{"custom_id": "a", "body": {"messages": [{"role": "user", "content": "x"}]}}"#.utf8 + [10]))
        XCTAssertTrue(waitUntil { !((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []).isEmpty }, "stdin is being copied")
        kill(p.processIdentifier, SIGTERM)
        XCTAssertEqual(exitStatus(p), 143, (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
        try? input.fileHandleForWriting.close()
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [], [], "the copy of stdin is gone")

        let ok = Harness.run(["--server", gateway.url, "-a", "local", "dataset", "create", "piped2", "-", "-q"], env: env,
                             stdin: #"{"custom_id": "a", "body": {"messages": [{"role": "user", "content": "x"}]}}"# + "\n")
        XCTAssertEqual(ok.status, 0, ok.err)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [], [], "no copy of stdin stays after a success")
    }

    func testAnInterruptedDatasetCreateCanBeRunAgain() throws {
        let gateway = try LocalServer(["--quiet"])
        let front = try ScriptedHTTPServer(upstream: gateway.url)
        front.on("POST", "/v1/accounts/local/datasets/again:upload", .hang(60))
        let file = ReliabilityTests.rows(4)
        let (p, _) = try spawn(["--server", front.url, "-a", "local", "dataset", "create", "again", file])
        XCTAssertTrue(waitUntil { front.requests("POST", "/v1/accounts/local/datasets/again:upload").count == 1 }, "the upload started")
        kill(p.processIdentifier, SIGINT)
        XCTAssertEqual(exitStatus(p), 130)
        let rerun = gateway.cli(["dataset", "create", "again", file, "-o", "json"])
        XCTAssertEqual(rerun.status, 0, "the same command works again: \(rerun.err)")
        let dataset = try XCTUnwrap(try gateway.get(ReliabilityTests.datasets + "again").json)
        XCTAssertEqual(dataset["state"]?.stringValue, "READY")
        XCTAssertEqual(dataset["exampleCount"]?.stringValue, "4")
    }

    func testTheForegroundServerStopsGracefullyOnSIGTERMAndSIGINT() throws {
        for number in [SIGTERM, SIGINT] {
            let server = try LocalServer()
            XCTAssertEqual(server.cli(["dataset", "create", "d", ReliabilityTests.rows(3), "-q"]).status, 0)
            let process = try XCTUnwrap(server.current)
            let began = Date()
            kill(process.processIdentifier, number)
            XCTAssertEqual(exitStatus(process, within: 10), 0, server.log)
            XCTAssertLessThan(Date().timeIntervalSince(began), 5, "stopped within 5 s")
            XCTAssertTrue(server.log.contains("batchctl server: stopped"), server.log)
            // The data dir is free again: the next server takes it at once.
            try server.start()
            XCTAssertEqual(try server.get(ReliabilityTests.datasets + "d").status, 200)
            server.stop()
        }
    }

    func testASecondSignalStopsTheServerAtOnce() throws {
        let backend = try ReliabilityTests.stuckBackend()
        let server = try ReliabilityTests.serverOn(backend)
        XCTAssertEqual(server.cli(["dataset", "create", "in", ReliabilityTests.rows(3), "-q"]).status, 0)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "s1", "-m", "m", "-d", "in"]).status, 0)
        try server.waitFor(ReliabilityTests.jobs + "s1") { $0["state"]?.stringValue == "JOB_STATE_RUNNING" }
        // A client that keeps a request open holds the graceful stop for its grace period.
        let fd = try RawGateway.connect(port: server.port)
        defer { close(fd) }
        RawGateway.sendAll(fd, RawGateway.head("POST", "/v1/accounts/local/datasets/in:upload", host: "127.0.0.1",
                                               headers: [("Content-Type", "multipart/form-data; boundary=x")], contentLength: 1000))
        let process = try XCTUnwrap(server.current)
        kill(process.processIdentifier, SIGTERM)
        usleep(300_000)
        let began = Date()
        kill(process.processIdentifier, SIGINT)
        let status = exitStatus(process, within: 10)
        XCTAssertNotNil(status)
        XCTAssertNotEqual(status, 0, "a second signal is not a graceful stop")
        XCTAssertLessThan(Date().timeIntervalSince(began), 1.5, "the second signal stops it at once")
        try server.start()
        try server.waitFor(ReliabilityTests.jobs + "s1") { $0["state"]?.stringValue == "JOB_STATE_RUNNING" }
    }
}
