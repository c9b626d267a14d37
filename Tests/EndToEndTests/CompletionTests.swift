// What the shell completion tests share (scripts from the built binary, a working directory, a gateway with
// a dataset and a job), and the tests of `batchctl __complete` itself.
import Foundation
import XCTest

enum CompletionFixture {
    /// A clean environment whose PATH finds the built binary as `batchctl`, as the scripts expect.
    static func environment() -> [String: String] {
        var env = Harness.cleanEnvironment()
        let bin = URL(fileURLWithPath: Harness.binary).deletingLastPathComponent().path
        env["PATH"] = bin + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        return env
    }

    /// `batchctl completion SHELL`, saved as `name` in a fresh directory; returns the file's path.
    static func script(_ shell: String, name: String) throws -> String {
        let result = Harness.run(["completion", shell])
        XCTAssertEqual(result.status, 0, "batchctl completion \(shell) failed: \(result.err)")
        let dir = Harness.temporaryDirectory("completion-\(shell)")
        let path = dir + "/" + name
        try result.out.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A working directory with one file (`input.jsonl`) and one directory (`outdir`), for FILE and DIR values.
    static func workingDirectory() -> String {
        let dir = Harness.temporaryDirectory("completion-cwd")
        FileManager.default.createFile(atPath: dir + "/input.jsonl", contents: Data(row.utf8))
        try? FileManager.default.createDirectory(atPath: dir + "/outdir", withIntermediateDirectories: true)
        return dir
    }

    static let row = #"{"custom_id":"r1","body":{"messages":[{"role":"user","content":"hi"}]}}"# + "\n"

    /// A real local gateway holding dataset ds1 and job job-one.
    static func gatewayWithJob() throws -> LocalServer {
        let server = try LocalServer()
        let file = Harness.temporaryDirectory("completion-data") + "/ds1.jsonl"
        try row.write(toFile: file, atomically: true, encoding: .utf8)
        let dataset = server.cli(["dataset", "create", "ds1", file])
        XCTAssertEqual(dataset.status, 0, "dataset create: \(dataset.err)")
        let job = server.cli(["bij", "create", "-m", "echo", "-d", "ds1", "--job-id", "job-one"])
        XCTAssertEqual(job.status, 0, "bij create: \(job.err)")
        return server
    }
}

final class CompletionTests: XCTestCase {
    func testCompleteListsTheIdsOnTheGateway() throws {
        let server = try CompletionFixture.gatewayWithJob()
        let jobs = server.cli(["__complete", "jobs"])
        XCTAssertEqual(jobs.status, 0, jobs.err)
        XCTAssertEqual(jobs.out, "job-one\n")
        let datasets = server.cli(["__complete", "datasets"])
        XCTAssertEqual(datasets.status, 0, datasets.err)
        XCTAssertTrue(datasets.out.split(separator: "\n").contains("ds1"), datasets.out)
    }

    func testCompleteIsSilentWhenTheGatewayIsDown() {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let result = Harness.run(["--server", "http://127.0.0.1:1", "-a", "local", "__complete", "jobs"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.out, "")
        XCTAssertEqual(result.err, "")
    }

    func testCompleteIsSilentWithoutAnAccountOrKey() {
        let result = Harness.run(["__complete", "datasets"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.out + result.err, "")
    }

    func testCompleteGivesUpQuicklyOnAGatewayThatNeverAnswers() throws {
        // A socket that listens but never accepts: the connection succeeds and no answer ever comes.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        XCTAssertTrue(bound)
        let port = UInt16(bigEndian: address.sin_port)

        let start = Date()
        let result = Harness.run(["--server", "http://127.0.0.1:\(port)", "-a", "local", "__complete", "jobs"], timeout: 20)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.out + result.err, "")
        XCTAssertLessThan(elapsed, 6, "a TAB must not hang: __complete took \(elapsed)s (no retries, 2 s timeout)")
    }

    func testCompleteRejectsAnUnknownKindSilently() {
        let result = Harness.run(["--server", "http://127.0.0.1:1", "-a", "local", "__complete", "models"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.out + result.err, "")
    }
}
