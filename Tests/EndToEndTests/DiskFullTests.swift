// End to end on a real full disk (a 30 MB tmpfs, mounted as root): every route answers 503 UNAVAILABLE, a
// job the disk stops ends FAILED with RESOURCE_EXHAUSTED, saved once space is freed, and work goes on.
import BatchJSONL
import Foundation
import XCTest

final class DiskFullTests: XCTestCase {
    private var mountPoint: String?

    override func tearDown() {
        if let mountPoint { _ = Harness.runProgram("/bin/umount", ["-l", mountPoint]) }
        super.tearDown()
    }

    /// A fresh 30 MB tmpfs, or a skip (a failure in CI) saying why there is none.
    func mountTmpfs() throws -> String {
        let dir = Harness.temporaryDirectory("tmpfs")
        let why: String
        if getuid() != 0 {
            why = "mounting a tmpfs needs root (run the tests as root, as CI does)"
        } else {
            let r = Harness.runProgram("/bin/mount", ["-t", "tmpfs", "-o", "size=30m,mode=0700", "tmpfs", dir])
            if r.status == 0 { mountPoint = dir; return dir }
            why = "mount -t tmpfs failed: \(r.err)"
        }
        if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(why) }
        throw XCTSkip(why)
    }

    /// Writes a file until the disk refuses, leaving about `leave` bytes free (0: nothing at all).
    func fill(_ path: String, leave: Int = 0) {
        var info = statvfs()
        statvfs((path as NSString).deletingLastPathComponent, &info)
        let free = Int(info.f_bavail) * Int(info.f_frsize)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        defer { close(fd) }
        var remaining = max(0, free - leave)
        let block = [UInt8](repeating: 0x5A, count: 1 << 20)
        while remaining > 0 {
            let n = block.withUnsafeBytes { write(fd, $0.baseAddress, min($0.count, remaining)) }
            if n <= 0 { break }
            remaining -= n
        }
        if leave == 0 {
            let byte: [UInt8] = [1]
            while byte.withUnsafeBytes({ write(fd, $0.baseAddress, 1) }) == 1 {}
        }
    }

    func testAFullDiskIsRetryableAndAJobItStopsEndsDurably() throws {
        let mount = try mountTmpfs()
        let data = mount + "/data"
        let server = try LocalServer(["--quiet"], dataDir: data)
        let port = { server.port }
        XCTAssertEqual(server.cli(["dataset", "create", "in", ReliabilityTests.rows(3000), "-q"]).status, 0)
        XCTAssertEqual(server.cli(["dataset", "create", "signed-target", "-q"]).status, 0)
        let endpoint = try RawGateway.json(port: port(), "POST", ReliabilityTests.datasets + "signed-target:getUploadEndpoint",
                                           #"{"filenameToSize": {"rows.jsonl": "200000"}}"#)
        let signedPath = ReliabilityTests.pathAndQuery(try XCTUnwrap(endpoint.json?["filenameToSignedUrls"]?["rows.jsonl"]?.stringValue, endpoint.description))

        let filler = mount + "/filler"
        fill(filler)
        var answers: [(String, RawGateway.Answer)] = []
        answers.append(("create dataset", try RawGateway.json(port: port(), "POST", "/v1/accounts/local/datasets",
                                                             #"{"datasetId": "more", "dataset": {"userUploaded": {}, "exampleCount": "1"}}"#)))
        let form = ReliabilityTests.multipart(String(repeating: "y", count: 100_000))
        answers.append((":upload", try RawGateway.send(port: port(), "POST", ReliabilityTests.datasets + "signed-target:upload",
                                                      headers: [("Content-Type", form.type)], body: form.body)))
        answers.append(("signed PUT", try RawGateway.send(port: port(), "PUT", signedPath, headers: [("Content-Type", "application/octet-stream"),
                                                         ("X-Goog-Content-Length-Range", "200000,200000")], body: [UInt8](repeating: 0x41, count: 200_000))))
        answers.append(("create job", try RawGateway.json(port: port(), "POST", "/v1/accounts/local/batchInferenceJobs?batchInferenceJobId=nope",
                                                         #"{"model": "m", "inputDatasetId": "accounts/local/datasets/in"}"#)))
        for (what, answer) in answers {
            XCTAssertEqual(answer.status, 503, "\(what) on a full disk: \(answer)")
            // The signed PUT answers as storage does (XML); the API routes with the gateway's JSON.
            if what == "signed PUT" { continue }
            XCTAssertEqual(answer.json?["code"]?.int64Value, 14, "\(what): UNAVAILABLE: \(answer)")
            XCTAssertEqual(answer.headers["retry-after"], "1", what)
        }
        XCTAssertEqual(try server.get(ReliabilityTests.datasets + "in").status, 200, "reads still work")

        // Room for the job's records, not for its results: the disk fills while it runs.
        unlink(filler)
        fill(filler, leave: 256 * 1024)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "full", "-m", "m", "-d", "in", "-x", "full-out"]).status, 0)
        let failed = try server.waitFor(ReliabilityTests.jobs + "full", timeout: 60) { $0["state"]?.stringValue == "JOB_STATE_FAILED" }
        XCTAssertEqual(failed["status"]?["code"]?.stringValue, "RESOURCE_EXHAUSTED", failed.compactText)
        XCTAssertTrue(failed["status"]?["message"]?.stringValue?.contains(data) ?? false, "names the data dir: \(failed.compactText)")

        // Space comes back: the end of the job is saved (it was retried), and it survives a kill.
        unlink(filler)
        let record = data + "/accounts/local/batchInferenceJobs/full/job.json"
        let saved = (0..<100).contains { _ in
            if (try? String(contentsOfFile: record, encoding: .utf8))?.contains("JOB_STATE_FAILED") == true { return true }
            usleep(100_000)
            return false
        }
        XCTAssertTrue(saved, "the FAILED record reaches the disk once there is room")
        server.crash()
        try server.start()
        let after = try XCTUnwrap(try server.get(ReliabilityTests.jobs + "full").json)
        XCTAssertEqual(after["state"]?.stringValue, "JOB_STATE_FAILED")
        XCTAssertEqual(after["status"]?["code"]?.stringValue, "RESOURCE_EXHAUSTED")
        let output = try XCTUnwrap(try server.get(ReliabilityTests.datasets + "full-out").json)
        XCTAssertEqual(output["state"]?.stringValue, "READY")
        XCTAssertEqual(output["exampleCount"]?.int64Value, after["jobProgress"]?["outputRows"]?.int64Value, "counters equal the files")

        // Work goes on: the continuation runs the rest, every row exactly once across the chain.
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "rest", "--continue-from", "full", "-m", "m", "-x", "rest-out", "--wait", "-q"]).status, 0)
        let first = try ReliabilityTests.outputIDs(server, "full-out")["BIJOutputSet.jsonl"] ?? []
        let second = try ReliabilityTests.outputIDs(server, "rest-out")["BIJOutputSet.jsonl"] ?? []
        XCTAssertEqual(first.count, Int(output["exampleCount"]?.int64Value ?? -1))
        XCTAssertEqual((first + second).sorted(), (0..<3000).map { "r\($0)" }.sorted(), "every row exactly once")
        XCTAssertEqual(try RawGateway.json(port: server.port, "POST", "/v1/accounts/local/datasets",
                                           #"{"datasetId": "more", "dataset": {"userUploaded": {}, "exampleCount": "1"}}"#).status, 200)
    }
}
