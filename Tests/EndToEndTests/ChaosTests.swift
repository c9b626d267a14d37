// The chaos run: random uploads (multipart and signed URL), jobs, cancels, deletes and continuations
// against a server that is kill -9ed at random moments and restarted, with the invariants checked after each
// restart and at the end. 60 s by default (BATCHCTL_CHAOS_SECONDS for longer); the seed is printed, and
// BATCHCTL_CHAOS_SEED replays a run.
import BatchJSONL
import Foundation
import XCTest

final class ChaosTests: XCTestCase {
    /// SplitMix64: small, fast, and the same sequence for the same seed everywhere.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }
        mutating func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[int(0...(items.count - 1))] }
    }

    /// What the test was told: acknowledged answers only. A request cut by a kill may or may not have happened.
    struct Model {
        var datasets: [String: [String]] = [:]   // READY datasets whose upload was acknowledged -> their custom_ids
        var deletedDatasets: Set<String> = []
        var jobs: [String: String] = [:]         // job -> input dataset
        var deletedJobs: Set<String> = []
    }

    var server: LocalServer!
    var model = Model()
    var random = Random(state: 0)
    var kills = 0
    var operations = 0
    var restarts = 0

    func testChaos() throws {
        let env = ProcessInfo.processInfo.environment
        let seed = env["BATCHCTL_CHAOS_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64(Int64.max))
        let seconds = env["BATCHCTL_CHAOS_SECONDS"].flatMap(Double.init) ?? 60
        print("chaos: seed \(seed) (replay with BATCHCTL_CHAOS_SEED=\(seed)), \(Int(seconds)) s")
        random = Random(state: seed)
        server = try LocalServer(["--quiet"])
        let end = Date().addingTimeInterval(seconds)
        var nextKill = Date().addingTimeInterval(Double(random.int(500...4000)) / 1000)
        var serial = 0
        while Date() < end {
            serial += 1
            operations += 1
            step(serial)
            if Date() >= nextKill {
                server.crash()
                kills += 1
                try restartAndCheck("after kill \(kills) (seed \(seed))")
                nextKill = Date().addingTimeInterval(Double(random.int(500...4000)) / 1000)
            }
        }
        // The end: a last kill, then every job must end on its own, and everything must hold.
        server.crash()
        kills += 1
        try restartAndCheck("after the last kill (seed \(seed))")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, !unfinishedJobs().isEmpty { usleep(200_000) }
        XCTAssertEqual(unfinishedJobs(), [], "no job is stuck in a non-terminal state with nothing running (seed \(seed))")
        try check("at the end (seed \(seed))", settled: true)
        server.stop()
        XCTAssertEqual(temporaryFiles(), [], "no temporary file remains after a stop (seed \(seed))")
        print("chaos: \(operations) operations, \(kills) kill -9s and restarts survived, \(model.jobs.count) jobs, "
              + "\(model.datasets.count) datasets; seed \(seed)")
    }

    // MARK: operations

    func step(_ n: Int) {
        let roll = random.int(0...99)
        switch roll {
        case 0..<22: upload("ds-\(n)", rows: random.int(1...400), signed: false)
        case 22..<34: upload("ds-\(n)", rows: random.int(1...400), signed: true)
        case 34..<40: upload("big-\(n)", rows: random.int(1000...5000), signed: random.chance(0.5))
        case 40..<62: createJob("job-\(n)", continuing: nil)
        case 62..<70: createJob("job-\(n)", continuing: random.pick(Array(model.jobs.keys).sorted()))
        case 70..<80: if let job = random.pick(Array(model.jobs.keys).sorted()) { cancel(job) }
        case 80..<90: if let job = random.pick(Array(model.jobs.keys).sorted()) { deleteJob(job) }
        default: if let dataset = random.pick(Array(model.datasets.keys).sorted()) { deleteDataset(dataset) }
        }
    }

    func rows(_ id: String, _ count: Int) -> (text: String, ids: [String]) {
        let ids = (0..<count).map { "\(id)-r\($0)" }
        let text = ids.map { #"{"custom_id": "\#($0)", "body": {"messages": [{"role": "user", "content": "chaos"}]}}"# }.joined(separator: "\n") + "\n"
        return (text, ids)
    }

    func upload(_ id: String, rows count: Int, signed: Bool) {
        let data = rows(id, count)
        guard let created = try? RawGateway.json(port: server.port, "POST", "/v1/accounts/local/datasets",
                                                 #"{"datasetId": "\#(id)", "dataset": {"userUploaded": {}, "exampleCount": "\#(count)", "format": "CHAT"}}"#),
              created.status == 200 else { return }
        let path = ReliabilityTests.datasets + id
        if signed {
            let size = data.text.utf8.count
            guard let endpoint = try? RawGateway.json(port: server.port, "POST", path + ":getUploadEndpoint", #"{"filenameToSize": {"rows.jsonl": "\#(size)"}}"#),
                  let url = endpoint.json?["filenameToSignedUrls"]?["rows.jsonl"]?.stringValue else { return }
            guard let put = try? RawGateway.send(port: server.port, "PUT", ReliabilityTests.pathAndQuery(url), headers: [("Content-Type", "application/octet-stream"),
                                                 ("X-Goog-Content-Length-Range", "\(size),\(size)")], body: Array(data.text.utf8)), put.status == 200,
                  let validated = try? RawGateway.json(port: server.port, "POST", path + ":validateUpload", "{}"), validated.status == 200 else { return }
        } else {
            let form = ReliabilityTests.multipart(data.text)
            guard let answer = try? RawGateway.send(port: server.port, "POST", path + ":upload", headers: [("Content-Type", form.type)], body: form.body),
                  answer.status == 200 else { return }
        }
        model.datasets[id] = data.ids
    }

    func createJob(_ id: String, continuing: String?) {
        var body: String
        if let continuing {
            body = #"{"continuedFromJobName": "accounts/local/batchInferenceJobs/\#(continuing)"}"#
        } else {
            guard let input = random.pick(Array(model.datasets.keys).sorted()) else { return }
            body = #"{"model": "m", "inputDatasetId": "accounts/local/datasets/\#(input)"}"#
        }
        guard let answer = try? RawGateway.json(port: server.port, "POST", "/v1/accounts/local/batchInferenceJobs?batchInferenceJobId=\(id)", body),
              answer.status == 200, let input = answer.json?["inputDatasetId"]?.stringValue else { return }
        model.jobs[id] = String(input.split(separator: "/").last ?? "")
    }

    func cancel(_ job: String) {
        _ = try? RawGateway.json(port: server.port, "POST", ReliabilityTests.jobs + job + ":cancel", "{}")
    }

    func deleteJob(_ job: String) {
        if let answer = try? RawGateway.send(port: server.port, "DELETE", ReliabilityTests.jobs + job), answer.status == 200 {
            model.deletedJobs.insert(job)
            model.jobs[job] = nil
        }
    }

    func deleteDataset(_ dataset: String) {
        if let answer = try? RawGateway.send(port: server.port, "DELETE", ReliabilityTests.datasets + dataset), answer.status == 200 {
            model.deletedDatasets.insert(dataset)
            model.datasets[dataset] = nil
        }
    }

    // MARK: invariants

    func restartAndCheck(_ moment: String) throws {
        try server.start()
        restarts += 1
        // Jobs resume at once and replace their records and checkpoints (temporaries for a moment); uploads
        // only come from requests, and none has been sent since the restart.
        XCTAssertEqual(temporaryFiles().filter { $0.contains("/.upload-") || $0.contains("/.put-") }, [], "no upload leftovers \(moment)")
        try check(moment, settled: false)
    }

    func list(_ collection: String, _ key: String) -> [JSONValue] {
        var items: [JSONValue] = []
        var token = ""
        repeat {
            guard let page = try? server.get("/v1/accounts/local/\(collection)?pageSize=200&pageToken=\(token)").json else { return items }
            items += page[key]?.arrayValue ?? []
            token = page["nextPageToken"]?.stringValue ?? ""
        } while !token.isEmpty
        return items
    }

    func unfinishedJobs() -> [String] {
        list("batchInferenceJobs", "batchInferenceJobs").filter {
            !["JOB_STATE_COMPLETED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"].contains($0["state"]?.stringValue ?? "")
        }.compactMap { $0["name"]?.stringValue }
    }

    func lines(_ path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { (try? JSONValue(parsing: Array($0.utf8)))?["custom_id"]?.stringValue }
    }

    func check(_ moment: String, settled: Bool) throws {
        // Jobs first: a job seen ended must have its output complete by then (it is made READY before the end shows).
        let jobs = list("batchInferenceJobs", "batchInferenceJobs")
        let datasets = Dictionary(list("datasets", "datasets").compactMap { d in d["name"]?.stringValue.map { (String($0.split(separator: "/").last!), d) } },
                                  uniquingKeysWith: { a, _ in a })
        // Every acknowledged write is there.
        for (id, ids) in model.datasets {
            guard let d = datasets[id] else { XCTFail("acknowledged dataset \(id) is missing \(moment)"); continue }
            XCTAssertEqual(d["state"]?.stringValue, "READY", "\(id) \(moment)")
            XCTAssertEqual(d["exampleCount"]?.stringValue, String(ids.count), "\(id) \(moment)")
            XCTAssertEqual(lines(server.dataDir + "/accounts/local/datasets/\(id)/files/rows.jsonl"), ids, "\(id)'s file \(moment)")
        }
        let jobNames = Set(jobs.compactMap { $0["name"]?.stringValue.map { String($0.split(separator: "/").last!) } })
        for id in model.jobs.keys { XCTAssertTrue(jobNames.contains(id), "acknowledged job \(id) is missing \(moment)") }
        for id in model.deletedJobs { XCTAssertFalse(jobNames.contains(id), "deleted job \(id) is back \(moment)") }
        for id in model.deletedDatasets { XCTAssertNil(datasets[id], "deleted dataset \(id) is back \(moment)") }
        // Finished jobs: each custom_id once across results and errors, counters equal to the files, output READY.
        for job in jobs {
            let state = job["state"]?.stringValue ?? ""
            guard ["JOB_STATE_COMPLETED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"].contains(state),
                  let out = job["outputDatasetId"]?.stringValue.map({ String($0.split(separator: "/").last!) }) else { continue }
            let name = job["name"]?.stringValue ?? ""
            let dir = server.dataDir + "/accounts/local/datasets/\(out)/files/"
            let results = lines(dir + "BIJOutputSet.jsonl"), errors = lines(dir + "error-data")
            XCTAssertEqual(Set(results + errors).count, results.count + errors.count, "\(name): a custom_id twice \(moment)")
            let progress = job["jobProgress"]
            XCTAssertEqual(Int(progress?["successfullyProcessedRequests"]?.int64Value ?? 0), results.count, "\(name) \(state) results \(moment)")
            XCTAssertEqual(Int(progress?["failedRequests"]?.int64Value ?? 0), errors.count, "\(name) errors \(moment)")
            if let d = datasets[out] {
                XCTAssertEqual(d["state"]?.stringValue, "READY", "\(name)'s output \(moment)")
                XCTAssertEqual(d["exampleCount"]?.stringValue, String(results.count), "\(name)'s output count \(moment)")
            }
            if state == "JOB_STATE_COMPLETED", let input = model.jobs[String(name.split(separator: "/").last!)], let inputIDs = model.datasets[input],
               job["continuedFromJobName"]?.stringValue?.isEmpty ?? true {
                XCTAssertEqual(Set(results + errors), Set(inputIDs), "\(name): every input row exactly once \(moment)")
            }
        }
        if settled {
            for (id, d) in datasets where d["state"]?.stringValue != "READY" {
                XCTAssertNil(model.datasets[id], "dataset \(id) stuck in \(d["state"]?.stringValue ?? "?") \(moment)")
            }
        }
    }

    /// Temporary files anywhere under the data dir.
    func temporaryFiles() -> [String] {
        ((FileManager.default.enumerator(atPath: server.dataDir)?.allObjects as? [String]) ?? []).filter { path in
            let name = (path as NSString).lastPathComponent
            return name.hasPrefix(".tmp-") || name.hasPrefix(".upload-") || name.hasPrefix(".put-") || name.hasPrefix(".trash-") || name.hasSuffix(".tmp")
        }
    }
}
