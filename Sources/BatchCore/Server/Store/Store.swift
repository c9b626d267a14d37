// The local gateway's on-disk store: dataset and job records written atomically under the data dir, an
// in-memory index for fast reads, and the folders that hold dataset files.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

/// Where things live under the data dir. Every id is checked against the resource-id rules before it is
/// joined into a path, and file names against `isSafeFileName`, so nothing from a request can climb out.
enum StoreLayout {
    /// A dataset file name: 1-200 of letters, digits, `.`, `_`, `-`; not starting with `.`.
    static func isSafeFileName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 200, bytes[0] != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F || b == 0x2D
        }
    }
}

enum StoreError: Error, CustomStringConvertible {
    case io(String, Int32)
    var description: String {
        switch self { case let .io(what, e): return "\(what): \(String(cString: strerror(e)))" }
    }
}

/// `@unchecked Sendable`: `datasets`, `jobs` and `jobBytes` are read and written only under `lock`.
final class Store: @unchecked Sendable {
    let root: String
    private let lock = NSRecursiveLock()
    private var datasets: [String: Dataset] = [:]
    private var jobs: [String: BatchInferenceJob] = [:]
    /// Cached JSON of each job: GET of a job is the hottest route.
    private var jobBytes: [String: [UInt8]] = [:]

    init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root + "/accounts", withIntermediateDirectories: true)
        try load()
    }

    static func key(_ account: String, _ id: String) -> String { account + "/" + id }

    func accountDir(_ account: String) -> String { "\(root)/accounts/\(account)" }
    func datasetDir(_ account: String, _ id: String) -> String { "\(accountDir(account))/datasets/\(id)" }
    func datasetFilesDir(_ account: String, _ id: String) -> String { datasetDir(account, id) + "/files" }
    func jobDir(_ account: String, _ id: String) -> String { "\(accountDir(account))/batchInferenceJobs/\(id)" }

    /// Reads every record back. A record that cannot be parsed is reported and left alone, never deleted.
    private func load() throws {
        let fm = FileManager.default
        for account in (try? fm.contentsOfDirectory(atPath: root + "/accounts")) ?? [] where ResourceID.accountProblem(account) == nil {
            for id in (try? fm.contentsOfDirectory(atPath: accountDir(account) + "/datasets")) ?? [] where ResourceID.isValid(id) {
                let path = datasetDir(account, id) + "/dataset.json"
                guard let data = fm.contents(atPath: path) else { continue }
                do { datasets[Store.key(account, id)] = try Dataset(json: JSONValue(parsing: [UInt8](data))) } catch {
                    FileHandle.standardError.write(Data("batchctl server: skipping unreadable record \(path): \(error)\n".utf8))
                }
            }
            for id in (try? fm.contentsOfDirectory(atPath: accountDir(account) + "/batchInferenceJobs")) ?? [] where ResourceID.isValid(id) {
                let path = jobDir(account, id) + "/job.json"
                guard let data = fm.contents(atPath: path) else { continue }
                do {
                    let job = try BatchInferenceJob(json: JSONValue(parsing: [UInt8](data)))
                    jobs[Store.key(account, id)] = job
                } catch {
                    FileHandle.standardError.write(Data("batchctl server: skipping unreadable record \(path): \(error)\n".utf8))
                }
            }
        }
    }

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock(); defer { lock.unlock() }
        return try body()
    }

    // MARK: datasets

    func dataset(_ account: String, _ id: String) -> Dataset? { locked { datasets[Store.key(account, id)] } }

    func datasets(_ account: String) -> [Dataset] {
        locked { datasets.filter { $0.key.hasPrefix(account + "/") }.map(\.value) }
    }

    func saveDataset(_ d: Dataset, _ account: String, _ id: String) throws {
        try locked {
            let dir = datasetDir(account, id)
            try FileManager.default.createDirectory(atPath: dir + "/files", withIntermediateDirectories: true)
            try AtomicFile.write(d.json.serialized(pretty: true), to: dir + "/dataset.json")
            datasets[Store.key(account, id)] = d
        }
    }

    func deleteDataset(_ account: String, _ id: String) throws {
        try locked {
            let dir = datasetDir(account, id)
            // Rename first so a crash never leaves a half-deleted dataset that still loads.
            let trash = "\(root)/.trash-\(account)-\(id)-\(UInt32.random(in: 0...UInt32.max))"
            if rename(dir, trash) != 0, errno != ENOENT { throw StoreError.io("remove \(dir)", errno) }
            datasets[Store.key(account, id)] = nil
            try? FileManager.default.removeItem(atPath: trash)
        }
    }

    /// The regular files of a dataset with their sizes (hidden bookkeeping files left out).
    func datasetFiles(_ account: String, _ id: String) -> [(name: String, size: Int64)] {
        let dir = datasetFilesDir(account, id)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter(StoreLayout.isSafeFileName).sorted()
        return names.compactMap { name in
            var info = stat()
            guard stat(dir + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            return (name, Int64(info.st_size))
        }
    }

    // MARK: jobs

    func job(_ account: String, _ id: String) -> BatchInferenceJob? { locked { jobs[Store.key(account, id)] } }

    func jobJSON(_ account: String, _ id: String) -> [UInt8]? {
        locked {
            let key = Store.key(account, id)
            if let cached = jobBytes[key] { return cached }
            guard let job = jobs[key] else { return nil }
            let bytes = job.json.serialized()
            jobBytes[key] = bytes
            return bytes
        }
    }

    func jobs(_ account: String) -> [BatchInferenceJob] {
        locked { jobs.filter { $0.key.hasPrefix(account + "/") }.map(\.value) }
    }

    func allJobs() -> [(account: String, job: BatchInferenceJob)] {
        locked { jobs.map { (String($0.key.split(separator: "/")[0]), $0.value) } }
    }

    func saveJob(_ j: BatchInferenceJob, _ account: String, _ id: String, durable: Bool = true) throws {
        try locked {
            let dir = jobDir(account, id)
            if durable {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try AtomicFile.write(j.json.serialized(pretty: true), to: dir + "/job.json")
            }
            jobs[Store.key(account, id)] = j
            jobBytes[Store.key(account, id)] = nil
        }
    }

    /// Changes a job in memory and on disk under the lock; returns the new record (nil when it is gone).
    @discardableResult
    func updateJob(_ account: String, _ id: String, durable: Bool = true,
                   _ change: (inout BatchInferenceJob) -> Void) throws -> BatchInferenceJob? {
        try locked {
            guard var j = jobs[Store.key(account, id)] else { return nil }
            change(&j)
            j.updateTime = Timestamp.now()
            try saveJob(j, account, id, durable: durable)
            return j
        }
    }

    /// The jobs a continuation chain goes back through, nearest first, starting from the job named
    /// `continuedFrom`. A job id seen twice (ids can be reused after a delete) ends the walk.
    func earlierJobs(_ account: String, continuedFrom name: String) -> [BatchInferenceJob] {
        var chain: [BatchInferenceJob] = []
        var seen: Set<String> = []
        var next = name
        while let previous = ResourceName(next, kind: .batchInferenceJob), seen.insert(previous.id).inserted,
              let job = job(account, previous.id) {
            chain.append(job)
            next = job.continuedFromJobName
        }
        return chain
    }

    func deleteJob(_ account: String, _ id: String) throws {
        try locked {
            let dir = jobDir(account, id)
            let trash = "\(root)/.trash-job-\(account)-\(id)-\(UInt32.random(in: 0...UInt32.max))"
            if rename(dir, trash) != 0, errno != ENOENT { throw StoreError.io("remove \(dir)", errno) }
            jobs[Store.key(account, id)] = nil
            jobBytes[Store.key(account, id)] = nil
            try? FileManager.default.removeItem(atPath: trash)
        }
    }
}
