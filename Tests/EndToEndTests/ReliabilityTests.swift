// End to end, one test per finding of issue 14 against a real `batchctl server`: one writer per resource,
// the data dir lock, recovery after kill -9, browsers kept out, size caps, swept temporary files,
// permissions and consistent reads. Disk-full, slow clients, signals and the chaos run have their own files.
import BatchJSONL
import Foundation
import XCTest

final class ReliabilityTests: XCTestCase {
    static let datasets = "/v1/accounts/local/datasets/"
    static let jobs = "/v1/accounts/local/batchInferenceJobs/"

    static func rows(_ n: Int, prefix: String = "r") -> String {
        let path = Harness.temporaryDirectory("input") + "/rows.jsonl"
        var text = ""
        for i in 0..<n { text += #"{"custom_id": "\#(prefix)\#(i)", "body": {"messages": [{"role": "user", "content": "hello \#(i)"}]}}"# + "\n" }
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    /// An inference server that refuses the first `failing` requests (400, not retried) and never answers the
    /// rest: a job on it stays RUNNING with exactly `failing` rows done until it is stopped.
    static func stuckBackend(failing: Int = 0) throws -> ScriptedHTTPServer {
        let backend = try ScriptedHTTPServer()
        let refusals = (0..<failing).map { _ in ScriptedHTTPServer.Answer.status(400, body: #"{"error": {"message": "scripted refusal"}}"#) }
        backend.on("POST", "/v1/chat/completions", answers: refusals + [.hang(300)], repeatLast: true)
        return backend
    }

    static func serverOn(_ backend: ScriptedHTTPServer, _ extra: [String] = []) throws -> LocalServer {
        try LocalServer(["--quiet", "--backend", "openai", "--inference-url", backend.url + "/v1", "--request-timeout", "10m"] + extra)
    }

    static func state(_ json: JSONValue) -> String { json["state"]?.stringValue ?? "" }

    /// The custom_ids of each file of a dataset, read through its signed download URLs.
    static func outputIDs(_ server: LocalServer, _ dataset: String) throws -> [String: [String]] {
        let endpoint = try server.get(datasets + dataset + ":getDownloadEndpoint")
        var result: [String: [String]] = [:]
        for (key, value) in endpoint.json?["filenameToSignedUrls"]?.objectValue ?? [] {
            guard let url = value.stringValue, let path = URL(string: url).map({ $0.path + ($0.query.map { "?" + $0 } ?? "") }) else { continue }
            let file = try RawGateway.send(port: server.port, "GET", path)
            let ids = file.text.split(separator: "\n").compactMap { line in (try? JSONValue(parsing: Array(line.utf8)))?["custom_id"]?.stringValue }
            result[String(key.split(separator: "/").last ?? "")] = ids
        }
        return result
    }

    /// The path and query of a URL the gateway minted (signed URLs carry their signature in the query).
    static func pathAndQuery(_ url: String) -> String {
        guard let parsed = URL(string: url) else { return url }
        return parsed.path + (parsed.query.map { "?" + $0 } ?? "")
    }

    static func multipart(_ content: String, filename: String = "rows.jsonl") -> (type: String, body: [UInt8]) {
        let boundary = "b0undary"
        let text = "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\n"
            + "Content-Type: application/octet-stream\r\n\r\n\(content)\r\n--\(boundary)--\r\n"
        return ("multipart/form-data; boundary=\(boundary)", Array(text.utf8))
    }

    // MARK: 1. one writer per resource: datasets of an unfinished job refuse every change

    func testDatasetsOfAnUnfinishedJobRefuseEveryChange() throws {
        let backend = try Self.stuckBackend()
        let server = try Self.serverOn(backend)
        XCTAssertEqual(server.cli(["dataset", "create", "in", Self.rows(5), "-q"]).status, 0)
        // An empty dataset with a signed upload URL, then made a job's output: the URL must not write into it.
        XCTAssertEqual(server.cli(["dataset", "create", "out", "-q"]).status, 0)
        let endpoint = try RawGateway.json(port: server.port, "POST", Self.datasets + "out:getUploadEndpoint", #"{"filenameToSize": {"BIJOutputSet.jsonl": "8"}}"#)
        let signed = try XCTUnwrap(endpoint.json?["filenameToSignedUrls"]?["BIJOutputSet.jsonl"]?.stringValue, endpoint.description)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "j1", "-m", "m", "-d", "in", "-x", "out"]).status, 0)
        try server.waitFor(Self.jobs + "j1") { Self.state($0) == "JOB_STATE_RUNNING" }

        let form = Self.multipart(#"{"custom_id": "x", "body": {"messages": [{"role": "user", "content": "replaced"}]}}"# + "\n")
        for dataset in ["in", "out"] {
            let attempts: [(String, RawGateway.Answer)] = [
                (":upload", try RawGateway.send(port: server.port, "POST", Self.datasets + dataset + ":upload",
                                                headers: [("Content-Type", form.type)], body: form.body)),
                (":getUploadEndpoint", try RawGateway.json(port: server.port, "POST", Self.datasets + dataset + ":getUploadEndpoint",
                                                           #"{"filenameToSize": {"a.jsonl": "3"}}"#)),
                (":validateUpload", try RawGateway.json(port: server.port, "POST", Self.datasets + dataset + ":validateUpload", "{}")),
                ("PATCH", try RawGateway.json(port: server.port, "PATCH", Self.datasets + dataset, #"{"exampleCount": "1"}"#)),
                ("DELETE", try RawGateway.send(port: server.port, "DELETE", Self.datasets + dataset)),
            ]
            for (what, answer) in attempts {
                XCTAssertEqual(answer.status, 400, "\(what) on \(dataset): \(answer)")
                XCTAssertEqual(answer.json?["code"]?.int64Value, 9, "\(what) on \(dataset): FAILED_PRECONDITION: \(answer)")
                XCTAssertTrue(answer.text.contains("accounts/local/batchInferenceJobs/j1"), "names the job: \(answer)")
            }
        }
        let put = try RawGateway.send(port: server.port, "PUT", Self.pathAndQuery(signed), headers: [("Content-Type", "application/octet-stream"),
                                      ("X-Goog-Content-Length-Range", "8,8")], body: Array("replaced".utf8))
        XCTAssertEqual(put.status, 412, "signed PUT into a running job's output (storage's precondition answer): \(put)")
        XCTAssertTrue(put.text.contains("accounts/local/batchInferenceJobs/j1"), "names the job: \(put)")
        let input = try server.get(Self.datasets + "in")
        XCTAssertEqual(input.json?["exampleCount"]?.stringValue, "5", "the input is untouched")
        XCTAssertEqual(Self.state(try server.get(Self.jobs + "j1").json ?? .null), "JOB_STATE_RUNNING")
        // Once the job has ended, the dataset takes changes again.
        XCTAssertEqual(try RawGateway.json(port: server.port, "POST", Self.jobs + "j1:cancel", "{}").status, 200)
        try server.waitFor(Self.jobs + "j1", timeout: 30) { Self.state($0) == "JOB_STATE_CANCELLED" }
        XCTAssertEqual(try RawGateway.json(port: server.port, "PATCH", Self.datasets + "in", #"{"displayName": "free"}"#).status, 200)
    }

    // MARK: 2. one server per data dir

    func testASecondServerOnTheSameDataDirIsRefusedNamingThePid() throws {
        let first = try LocalServer(["--quiet"])
        let r = Harness.run(["server", "--listen", "127.0.0.1:0", "--data-dir", first.dataDir], timeout: 30)
        XCTAssertNotEqual(r.status, 0, "a second server must not start: \(r.err)")
        XCTAssertTrue(r.err.contains("in use by another batchctl server") && r.err.contains("pid \(first.pid)"), r.err)
        XCTAssertEqual(try first.get("/v1/accounts/local/datasets").status, 200, "the first one keeps serving")
    }

    // MARK: 3. cancel and delete never overwrite an end

    func testCancelRacingTheEndOfAJobNeverOverwritesIt() throws {
        let server = try LocalServer(["--quiet"])
        XCTAssertEqual(server.cli(["dataset", "create", "small", Self.rows(3), "-q"]).status, 0)
        for i in 0..<10 {
            let id = "race-\(i)"
            let created = try RawGateway.json(port: server.port, "POST", "/v1/accounts/local/batchInferenceJobs?batchInferenceJobId=\(id)",
                                              #"{"model": "m", "inputDatasetId": "accounts/local/datasets/small", "outputDatasetId": "accounts/local/datasets/out-\#(i)"}"#)
            XCTAssertEqual(created.status, 200, created.description)
            // Cancels from two threads while the job runs its three rows and ends.
            let group = DispatchGroup()
            let port = server.port
            for _ in 0..<2 {
                group.enter()
                DispatchQueue.global().async {
                    for _ in 0..<15 { _ = try? RawGateway.json(port: port, "POST", Self.jobs + id + ":cancel", "{}") }
                    group.leave()
                }
            }
            group.wait()
            let ended = try server.waitFor(Self.jobs + id, timeout: 30) { ["JOB_STATE_COMPLETED", "JOB_STATE_CANCELLED"].contains(Self.state($0)) }
            usleep(200_000)
            let final = try XCTUnwrap(try server.get(Self.jobs + id).json)
            XCTAssertEqual(Self.state(final), Self.state(ended), "an ended job stays ended: \(final.compactText)")
            let files = try Self.outputIDs(server, "out-\(i)")
            let done = (files["BIJOutputSet.jsonl"] ?? []).count + (files["error-data"] ?? []).count
            XCTAssertEqual(Int(final["jobProgress"]?["totalProcessedRequests"]?.int64Value ?? 0), done, "counters equal the files: \(final.compactText)")
            if Self.state(final) == "JOB_STATE_COMPLETED" { XCTAssertEqual(done, 3) }
            if final["status"]?["message"]?.stringValue == "cancelled before it ran" { XCTAssertEqual(done, 0, final.compactText) }
            let again = try RawGateway.json(port: server.port, "POST", Self.jobs + id + ":cancel", "{}")
            XCTAssertEqual(again.status, 400, "cancel of an ended job: \(again)")
            XCTAssertEqual(Self.state(try server.get(Self.jobs + id).json ?? .null), Self.state(final))
            let output = try XCTUnwrap(try server.get(Self.datasets + "out-\(i)").json)
            XCTAssertEqual(Self.state(output), "READY", output.compactText)
            XCTAssertEqual(output["exampleCount"]?.stringValue, String((files["BIJOutputSet.jsonl"] ?? []).count))
        }
    }

    // MARK: 4. kill -9 after an acknowledged cancel

    func testKillAfterAnAcknowledgedCancelKeepsTheRowsCounted() throws {
        let backend = try Self.stuckBackend(failing: 20)
        let server = try Self.serverOn(backend)
        XCTAssertEqual(server.cli(["dataset", "create", "in", Self.rows(30), "-q"]).status, 0)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "c1", "-m", "m", "-d", "in", "-x", "c1-out"]).status, 0)
        try server.waitFor(Self.jobs + "c1", timeout: 60) { $0["jobProgress"]?["failedRequests"]?.int64Value == 20 }
        let cancel = try RawGateway.json(port: server.port, "POST", Self.jobs + "c1:cancel", "{}")
        XCTAssertEqual(Self.state(cancel.json ?? .null), "JOB_STATE_CANCELLING", cancel.description)
        server.crash()
        try server.start()
        let job = try server.waitFor(Self.jobs + "c1", timeout: 30) { Self.state($0) == "JOB_STATE_CANCELLED" }
        XCTAssertEqual(job["jobProgress"]?["failedRequests"]?.int64Value, 20, job.compactText)
        XCTAssertEqual(job["jobProgress"]?["totalProcessedRequests"]?.int64Value, 20, job.compactText)
        XCTAssertEqual(try Self.outputIDs(server, "c1-out")["error-data"]?.count, 20)
        XCTAssertEqual(Self.state(try server.get(Self.datasets + "c1-out").json ?? .null), "READY")
    }

    // MARK: 5. a kill between the two writes that end a job

    func testAFinishCutBetweenItsTwoWritesIsRepairedOnStart() throws {
        let server = try LocalServer(["--quiet"])
        XCTAssertEqual(server.cli(["bij", "create", "--input-file", Self.rows(7), "--job-id", "f1", "-m", "m", "-x", "f1-out", "--wait", "-q"]).status, 0)
        server.stop()
        // What a kill -9 between the job's write and its output dataset's leaves: COMPLETED, output UPLOADING, 0.
        let record = server.dataDir + "/accounts/local/datasets/f1-out/dataset.json"
        var text = try String(contentsOfFile: record, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"READY\"", with: "\"UPLOADING\"").replacingOccurrences(of: "\"7\"", with: "\"0\"")
        try text.write(toFile: record, atomically: true, encoding: .utf8)
        try server.start()
        let output = try XCTUnwrap(try server.get(Self.datasets + "f1-out").json)
        XCTAssertEqual(Self.state(output), "READY", output.compactText)
        XCTAssertEqual(output["exampleCount"]?.stringValue, "7", output.compactText)
    }

    // MARK: 8. deleting a running job

    func testDeletingARunningJobLeavesItsOutputReady() throws {
        let backend = try Self.stuckBackend(failing: 4)
        let server = try Self.serverOn(backend)
        XCTAssertEqual(server.cli(["dataset", "create", "in", Self.rows(10), "-q"]).status, 0)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "d1", "-m", "m", "-d", "in", "-x", "d1-out"]).status, 0)
        try server.waitFor(Self.jobs + "d1", timeout: 60) { $0["jobProgress"]?["failedRequests"]?.int64Value == 4 }
        XCTAssertEqual(try RawGateway.send(port: server.port, "DELETE", Self.jobs + "d1").status, 200)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, try server.get(Self.jobs + "d1").status != 404 { usleep(50_000) }
        XCTAssertEqual(try server.get(Self.jobs + "d1").status, 404, "the job goes")
        let output = try XCTUnwrap(try server.get(Self.datasets + "d1-out").json)
        XCTAssertEqual(Self.state(output), "READY", "its rows stay, READY: \(output.compactText)")
        XCTAssertEqual(try Self.outputIDs(server, "d1-out")["error-data"]?.count, 4)
    }

    // MARK: 9. browsers and DNS rebinding

    func testBrowserRequestsAndForeignHostsAreRefused() throws {
        let server = try LocalServer(["--quiet", "--allow-origin", "https://app.example.com"])
        let create = #"{"datasetId": "from-page", "dataset": {"userUploaded": {}, "exampleCount": "1"}}"#
        // A page's "simple request": text/plain, no preflight.
        let simple = try RawGateway.send(port: server.port, "POST", "/v1/accounts/local/datasets", headers: [("Content-Type", "text/plain")], body: Array(create.utf8))
        XCTAssertEqual(simple.status, 415, simple.description)
        // The same from a foreign origin, even with the right type.
        let foreign = try RawGateway.json(port: server.port, "POST", "/v1/accounts/local/datasets", create, headers: [("Origin", "https://evil.example")])
        XCTAssertEqual(foreign.status, 403, foreign.description)
        XCTAssertTrue(foreign.text.contains("--allow-origin"), foreign.description)
        // A multipart form POST (what a page's <form> sends) into an existing dataset.
        XCTAssertEqual(server.cli(["dataset", "create", "target", Self.rows(2), "-q"]).status, 0)
        let form = Self.multipart("{}\n")
        let formPost = try RawGateway.send(port: server.port, "POST", Self.datasets + "target:upload",
                                           headers: [("Content-Type", form.type), ("Origin", "null")], body: form.body)
        XCTAssertEqual(formPost.status, 403, formPost.description)
        // DNS rebinding: the page's own name in Host.
        let rebound = try RawGateway.send(port: server.port, "GET", "/v1/accounts/local/datasets", host: "attacker.example:\(server.port)")
        XCTAssertEqual(rebound.status, 421, rebound.description)
        XCTAssertEqual(try server.get(Self.datasets + "from-page").status, 404, "nothing was created")
        XCTAssertEqual(try server.get(Self.datasets + "target").json?["exampleCount"]?.stringValue, "2", "nothing was overwritten")
        // Loopback names and the allowed origin pass, with CORS headers and a preflight.
        XCTAssertEqual(try RawGateway.send(port: server.port, "GET", "/v1/accounts/local/datasets", host: "localhost:\(server.port)").status, 200)
        let allowed = try RawGateway.json(port: server.port, "POST", "/v1/accounts/local/datasets", create, headers: [("Origin", "https://app.example.com")])
        XCTAssertEqual(allowed.status, 200, allowed.description)
        XCTAssertEqual(allowed.headers["access-control-allow-origin"], "https://app.example.com")
        let preflight = try RawGateway.send(port: server.port, "OPTIONS", "/v1/accounts/local/datasets", headers: [("Origin", "https://app.example.com"),
                                            ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "authorization, content-type")])
        XCTAssertEqual(preflight.status, 204, preflight.description)
        XCTAssertEqual(preflight.headers["access-control-allow-headers"], "authorization, content-type")
    }

    // MARK: 11. size caps while streaming

    func testAChunkedUploadIsCutOffAtTheCapWhileItStreams() throws {
        let server = try LocalServer(["--quiet"])
        XCTAssertEqual(server.cli(["dataset", "create", "huge", "-q"]).status, 0)
        let fd = try RawGateway.connect(port: server.port, timeout: 30)
        defer { close(fd) }
        let boundary = "cap"
        RawGateway.sendAll(fd, RawGateway.head("POST", Self.datasets + "huge:upload", host: "127.0.0.1:\(server.port)",
                                               headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)"), ("Transfer-Encoding", "chunked")],
                                               contentLength: nil))
        @Sendable func chunk(_ bytes: [UInt8]) -> [UInt8] { Array((String(bytes.count, radix: 16) + "\r\n").utf8) + bytes + [13, 10] }
        let sentBytes = LockedCounter()
        let sender = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = RawGateway.sendAll(fd, chunk(Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jsonl\"\r\n\r\n".utf8)))
            let piece = chunk([UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20))
            // 300 MiB offered; the cap is 150 MB.
            for _ in 0..<300 {
                guard RawGateway.sendAll(fd, piece) else { break }
                sentBytes.add(1 << 20)
            }
            sender.signal()
        }
        let answer = try RawGateway.readAnswer(fd)
        XCTAssertEqual(answer.status, 413, answer.description)
        _ = sender.wait(timeout: .now() + 60)
        XCTAssertLessThan(sentBytes.value, 200 << 20, "refused while streaming, not after the whole body")
        var usage = 0
        for file in (FileManager.default.enumerator(atPath: server.dataDir)?.allObjects as? [String]) ?? [] {
            usage += ((try? FileManager.default.attributesOfItem(atPath: server.dataDir + "/" + file)[.size]) as? Int) ?? 0
        }
        XCTAssertLessThan(usage, 1 << 20, "nothing of the refused upload stays on disk")
    }

    // MARK: 12. temporary files and orphans after kill -9

    func testTemporaryFilesAndOrphansAreSweptOnStart() throws {
        let server = try LocalServer(["--quiet"])
        XCTAssertEqual(server.cli(["dataset", "create", "keep", Self.rows(2), "-q"]).status, 0)
        server.crash()
        let data = server.dataDir
        let account = data + "/accounts/local"
        let planted = [account + "/datasets/keep/files/.upload-12345", account + "/datasets/keep/files/.put-678",
                       account + "/datasets/keep/.tmp-dataset.json-99-1", data + "/.trash-local-gone-5/dataset.json",
                       account + "/datasets/keep/files/.batchctl-checkpoint.json.tmp",
                       // A kill inside a create: a folder with no record.
                       account + "/datasets/half-made/files/x.jsonl", account + "/batchInferenceJobs/half-job/notes"]
        for path in planted {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: path, contents: Data("left by a kill".utf8))
        }
        // A kill between the output dataset's write and the job's: an empty output dataset of no job.
        let orphan = account + "/datasets/bij-orphan"
        try FileManager.default.createDirectory(atPath: orphan + "/files", withIntermediateDirectories: true)
        try #"{"name": "accounts/local/datasets/bij-orphan", "state": "UPLOADING", "exampleCount": "0", "sourceJobName": "accounts/local/batchInferenceJobs/never-saved", "userUploaded": {}}"#
            .write(toFile: orphan + "/dataset.json", atomically: true, encoding: .utf8)
        try server.start()
        for path in planted { XCTAssertFalse(FileManager.default.fileExists(atPath: path), "\(path) was swept") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: account + "/datasets/half-made"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: account + "/batchInferenceJobs/half-job"))
        XCTAssertEqual(try server.get(Self.datasets + "bij-orphan").status, 404, "the orphan output dataset is removed")
        XCTAssertEqual(try server.get(Self.datasets + "keep").json?["exampleCount"]?.stringValue, "2", "real data stays")
        XCTAssertEqual(try Self.outputIDs(server, "keep")["rows.jsonl"]?.count, 2)
    }

    // MARK: 14. permissions

    func testTheDataDirIsTheOwnersAlone() throws {
        let data = Harness.temporaryDirectory("perm") + "/data"
        let env = Harness.cleanEnvironment()
        let port = 21_000 + Int(getpid() % 20_000)
        var r = Harness.run(["server", "start", "--listen", "127.0.0.1:\(port)", "--data-dir", data], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        defer { Harness.run(["server", "stop", "--data-dir", data], env: env) }
        r = Harness.run(["--server", "http://127.0.0.1:\(port)", "-a", "local", "bij", "create", "--input-file", Self.rows(3),
                         "--job-id", "p1", "-m", "m", "--wait", "-q"], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: data + "/server.pid"))
        var checked = 0
        for path in [""] + ((FileManager.default.enumerator(atPath: data)?.allObjects as? [String]) ?? []) {
            var info = stat()
            guard lstat(data + "/" + path, &info) == 0 else { continue }
            let kind = info.st_mode & S_IFMT
            let mode = info.st_mode & 0o777
            if kind == S_IFDIR { XCTAssertEqual(mode, 0o700, "folder \(path.isEmpty ? data : path) is \(String(mode, radix: 8))") }
            if kind == S_IFREG { XCTAssertEqual(mode, 0o600, "file \(path) is \(String(mode, radix: 8))") }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 10)
        for name in ["server.pid", "server.log", "server.lock"] {
            var info = stat()
            XCTAssertEqual(stat(data + "/" + name, &info), 0, name)
            XCTAssertEqual(info.st_mode & 0o777, 0o600, name)
        }
    }

    // MARK: 16. consistent reads

    func testARunningJobsDownloadServesOnlyCheckpointedBytes() throws {
        let backend = try Self.stuckBackend(failing: 5)
        let server = try Self.serverOn(backend)
        XCTAssertEqual(server.cli(["dataset", "create", "in", Self.rows(8), "-q"]).status, 0)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "r1", "-m", "m", "-d", "in", "-x", "r1-out"]).status, 0)
        try server.waitFor(Self.jobs + "r1", timeout: 60) { $0["jobProgress"]?["failedRequests"]?.int64Value == 5 }
        // Bytes written past the checkpoint (rows a crash would cut and run again) must not be served.
        let errors = server.dataDir + "/accounts/local/datasets/r1-out/files/error-data"
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: errors))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"custom_id": "not-checkpointed", "error": {"code": 500, "message": "torn"#.utf8))
        try handle.close()
        let ids = try Self.outputIDs(server, "r1-out")
        XCTAssertEqual(ids["error-data"]?.count, 5, "only the checkpointed rows: \(ids)")
        XCTAssertFalse(ids["error-data"]?.contains("not-checkpointed") ?? true)
    }
}

final class LockedCounter: @unchecked Sendable {
    // `count` is guarded by `lock`.
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) { lock.lock(); count += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
