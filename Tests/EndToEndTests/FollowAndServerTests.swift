// End to end: following jobs on and off a terminal, server start/status/stop, --local, and Ctrl-C.
import Foundation
import XCTest

final class FollowAndServerTests: XCTestCase {
    func rows(_ n: Int) -> String {
        let path = Harness.temporaryDirectory("input") + "/rows.jsonl"
        var text = ""
        for i in 0..<n { text += #"{"custom_id": "r\#(i)", "body": {"messages": [{"role": "user", "content": "one two three \#(i)"}]}}"# + "\n" }
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func testOffTerminalOneLinePerStateChange() throws {
        let server = try LocalServer()
        let r = server.cli(["bij", "create", "--input-file", rows(3), "--job-id", "plain", "-m", "echo", "--wait", "-o", "name"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "accounts/local/batchInferenceJobs/plain\n", "stdout carries only the job")
        let stateLines = r.err.split(separator: "\n").filter { $0.contains("plain: ") }
        XCTAssertTrue(stateLines.last?.contains("COMPLETED 3/3") ?? false, r.err)
        XCTAssertEqual(Set(stateLines.map { $0.split(separator: " ")[2] }).count, stateLines.count, "one line per state: \(r.err)")
        XCTAssertFalse(r.err.contains("\r"), "no live redraw off a terminal")
        XCTAssertEqual(server.cli(["dataset", "get", "plain-input", "-o", "name"]).out, "accounts/local/datasets/plain-input\n",
                       "--input-file derives the dataset id from the job id")
    }

    /// Under a pseudo-terminal (`script`), the live view redraws one line with a progress bar.
    func testLiveViewUnderAPseudoTerminal() throws {
        let script = try Harness.requireTool("script", package: "bsdutils")
        let server = try LocalServer()
        XCTAssertEqual(server.cli(["dataset", "create", "big", rows(150_000), "-q"]).status, 0)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "live", "-m", "echo", "-d", "big"]).status, 0)
        let command = "'\(Harness.binary)' --server \(server.url) -a local bij get live --watch"
        var env = Harness.cleanEnvironment()
        env.removeValue(forKey: "NO_COLOR")
        let r = Harness.runProgram(script, ["-qfec", command, "/dev/null"], env: env, timeout: 120)
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertTrue(r.out.contains("\r\u{1B}[K"), "redraws in place: \(r.out.prefix(500).debugDescription)")
        XCTAssertTrue(r.out.contains("elapsed"), r.out)
        XCTAssertTrue(r.out.contains("State: JOB_STATE_COMPLETED"), "prints the job at the end")
    }

    func testServerStartStatusStopAndBusyPort() throws {
        let home = Harness.temporaryDirectory("home")
        let data = Harness.temporaryDirectory("data")
        let env = Harness.cleanEnvironment(home: home)
        let port = 20_000 + Int(getpid() % 20_000)
        var r = Harness.run(["server", "start", "--listen", "127.0.0.1:\(port)", "--data-dir", data], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("http://127.0.0.1:\(port)"), r.out)
        r = Harness.run(["server", "status", "--data-dir", data], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("running at http://127.0.0.1:\(port)") && r.out.contains("jobs 0"), r.out)

        let other = Harness.temporaryDirectory("data")
        r = Harness.run(["server", "start", "--listen", "127.0.0.1:\(port)", "--data-dir", other], env: env)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("already in use"), "a busy port is named: \(r.err)")

        r = Harness.run(["server", "stop", "--data-dir", data], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        r = Harness.run(["server", "status", "--data-dir", data], env: env)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.out.contains("not running"), r.out)
    }

    func testNonLoopbackNeedsAnAPIKey() {
        let r = Harness.run(["server", "--listen", "0.0.0.0:0", "--data-dir", Harness.temporaryDirectory("data")])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("--api-key"), r.err)
    }

    /// Ctrl-C during a download exits 130 and leaves no partial file in the destination.
    func testInterruptedDownloadLeavesNothingBehind() throws {
        let server = try LocalServer(["--quiet"])
        XCTAssertEqual(server.cli(["dataset", "create", "big", rows(400_000), "-q"]).status, 0)
        let dir = Harness.temporaryDirectory("dl")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Harness.binary)
        p.arguments = ["--server", server.url, "-a", "local", "dataset", "download", "big", "--output-dir", dir]
        p.environment = Harness.cleanEnvironment()
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Interrupt as soon as the download has started (its partial file exists), or after a moment.
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/dataset/big")) ?? []
            if files.contains(where: { $0.hasPrefix(".") }) { break }
            usleep(1000)
        }
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/dataset/big")) ?? []
        if p.terminationStatus == 0 {
            XCTAssertEqual(files, ["rows.jsonl"], "finished before the interrupt: only the complete file")
        } else {
            XCTAssertEqual(p.terminationStatus, 130)
            XCTAssertEqual(files.filter { $0.hasPrefix(".") }, [], "no partial file is left behind")
            XCTAssertFalse(files.contains("rows.jsonl"), "nothing half-written under the final name")
        }
    }
}
