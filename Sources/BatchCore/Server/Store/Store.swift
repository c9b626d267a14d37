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
    var isDiskFull: Bool {
        switch self { case let .io(_, e): return e == ENOSPC || e == EDQUOT }
    }
}

/// `@unchecked Sendable`: `datasets`, `jobs`, `jobBytes` and the unsaved sets are read and written only under
/// `lock`, which is held for memory only, never across disk I/O. Writers serialise per resource on `writers`.
final class Store: @unchecked Sendable {
    let root: String
    private let lock = NSLock()
    /// One writer per resource: every change of a record is a compare-and-set under its resource's lock.
    let writers = ResourceLocks()
    private var datasets: [String: Dataset] = [:]
    private var jobs: [String: BatchInferenceJob] = [:]
    /// Cached JSON of each job: GET of a job is the hottest route.
    private var jobBytes: [String: [UInt8]] = [:]
    /// Records changed in memory whose save failed (a full disk): saved again by `saveUnsaved()` until it works.
    private var unsavedJobs: Set<String> = []
    private var unsavedDatasets: Set<String> = []

    init(root: String) throws {
        self.root = root
        try Store.makeDirectory(root + "/accounts")
        try load()
    }

    static func key(_ account: String, _ id: String) -> String { account + "/" + id }

    func accountDir(_ account: String) -> String { "\(root)/accounts/\(account)" }
    func datasetDir(_ account: String, _ id: String) -> String { "\(accountDir(account))/datasets/\(id)" }
    func datasetFilesDir(_ account: String, _ id: String) -> String { datasetDir(account, id) + "/files" }
    func jobDir(_ account: String, _ id: String) -> String { "\(accountDir(account))/batchInferenceJobs/\(id)" }

    /// `mkdir -p` with mode 0700: nothing under the data dir is for other local users.
    static func makeDirectory(_ path: String) throws {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o700) != 0 {
                let code = errno
                var info = stat()
                guard code == EEXIST, stat(partial, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                    throw StoreError.io("create folder \(partial)", code)
                }
            }
        }
    }

    /// Reads every record back. A record that cannot be parsed is reported and left alone, never deleted.
    private func load() throws {
        let fm = FileManager.default
        for account in (try? fm.contentsOfDirectory(atPath: root + "/accounts")) ?? [] where ResourceID.accountProblem(account) == nil {
            for id in (try? fm.contentsOfDirectory(atPath: accountDir(account) + "/datasets")) ?? [] where ResourceID.isValid(id) {
                let path = datasetDir(account, id) + "/dataset.json"
                guard let data = fm.contents(atPath: path) else { continue }
                do { datasets[Store.key(account, id)] = try Dataset(json: JSONValue(parsing: [UInt8](data))) } catch {
                    LocalGatewayServer.writeToStandardError("batchctl server: skipping unreadable record \(path): \(error)\n")
                }
            }
            for id in (try? fm.contentsOfDirectory(atPath: accountDir(account) + "/batchInferenceJobs")) ?? [] where ResourceID.isValid(id) {
                let path = jobDir(account, id) + "/job.json"
                guard let data = fm.contents(atPath: path) else { continue }
                do {
                    let job = try BatchInferenceJob(json: JSONValue(parsing: [UInt8](data)))
                    jobs[Store.key(account, id)] = job
                } catch {
                    LocalGatewayServer.writeToStandardError("batchctl server: skipping unreadable record \(path): \(error)\n")
                }
            }
        }
    }

    private func memory<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock(); defer { lock.unlock() }
        return try body()
    }

    /// Runs `body` as the only writer of the named resources (taken all at once, so writers never deadlock).
    func locked<T>(_ first: ResourceKey, _ more: ResourceKey..., body: () throws -> T) rethrows -> T {
        try writers.with([first] + more, body)
    }

    /// Runs `body` as the only writer of every resource.
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        try writers.withAll(body)
    }

    // MARK: datasets

    func dataset(_ account: String, _ id: String) -> Dataset? { memory { datasets[Store.key(account, id)] } }

    func datasets(_ account: String) -> [Dataset] {
        memory { datasets.filter { $0.key.hasPrefix(account + "/") }.map(\.value) }
    }

    func allDatasets() -> [(account: String, dataset: Dataset)] {
        memory { datasets.map { (String($0.key.split(separator: "/")[0]), $0.value) } }
    }

    func saveDataset(_ d: Dataset, _ account: String, _ id: String) throws {
        try locked(.dataset(account, id)) {
            let dir = datasetDir(account, id)
            try Store.makeDirectory(dir + "/files")
            do { try AtomicFile.write(d.json.serialized(pretty: true), to: dir + "/dataset.json", mode: 0o600) } catch let e as FileError {
                throw StoreError.io("save \(dir)/dataset.json", e.errno)
            }
            memory {
                datasets[Store.key(account, id)] = d
                unsavedDatasets.remove(Store.key(account, id))
            }
        }
    }

    /// Saves `d`, or when the disk refuses, keeps it in memory and saves it again until that works: for the
    /// changes that must not be lost to a full disk (a job's end and its output dataset's).
    func saveDatasetEventually(_ d: Dataset, _ account: String, _ id: String) {
        locked(.dataset(account, id)) {
            do { try saveDataset(d, account, id) } catch {
                memory {
                    datasets[Store.key(account, id)] = d
                    unsavedDatasets.insert(Store.key(account, id))
                }
            }
        }
    }

    func deleteDataset(_ account: String, _ id: String) throws {
        try locked(.dataset(account, id)) {
            let dir = datasetDir(account, id)
            // Rename first so a crash never leaves a half-deleted dataset that still loads.
            let trash = "\(root)/.trash-\(account)-\(id)-\(UInt32.random(in: 0...UInt32.max))"
            if rename(dir, trash) != 0, errno != ENOENT { throw StoreError.io("remove \(dir)", errno) }
            AtomicFile.syncDirectory((dir as NSString).deletingLastPathComponent)
            memory {
                datasets[Store.key(account, id)] = nil
                unsavedDatasets.remove(Store.key(account, id))
            }
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

    /// The unfinished job that reads or writes the dataset `name`, if any: such a dataset refuses every change.
    func unfinishedJob(using name: String, _ account: String) -> BatchInferenceJob? {
        jobs(account).filter { !$0.isTerminal && ($0.inputDatasetId == name || $0.outputDatasetId == name) }
            .min { ($0.createTime ?? "") < ($1.createTime ?? "") }
    }

    // MARK: jobs

    func job(_ account: String, _ id: String) -> BatchInferenceJob? { memory { jobs[Store.key(account, id)] } }

    func jobJSON(_ account: String, _ id: String) -> [UInt8]? {
        memory {
            let key = Store.key(account, id)
            if let cached = jobBytes[key] { return cached }
            guard let job = jobs[key] else { return nil }
            let bytes = job.json.serialized()
            jobBytes[key] = bytes
            return bytes
        }
    }

    func jobs(_ account: String) -> [BatchInferenceJob] {
        memory { jobs.filter { $0.key.hasPrefix(account + "/") }.map(\.value) }
    }

    func allJobs() -> [(account: String, job: BatchInferenceJob)] {
        memory { jobs.map { (String($0.key.split(separator: "/")[0]), $0.value) } }
    }

    func saveJob(_ j: BatchInferenceJob, _ account: String, _ id: String, durable: Bool = true) throws {
        try locked(.job(account, id)) {
            let dir = jobDir(account, id)
            if durable {
                try Store.makeDirectory(dir)
                do { try AtomicFile.write(j.json.serialized(pretty: true), to: dir + "/job.json", mode: 0o600) } catch let e as FileError {
                    throw StoreError.io("save \(dir)/job.json", e.errno)
                }
            }
            memory {
                let key = Store.key(account, id)
                jobs[key] = j
                jobBytes[key] = nil
                if durable { unsavedJobs.remove(key) }
            }
        }
    }

    /// Changes a job in memory and on disk as its only writer; returns the new record (nil when it is gone).
    /// Terminal states are final: a job that has ended is returned unchanged unless `evenIfEnded`.
    @discardableResult
    func updateJob(_ account: String, _ id: String, durable: Bool = true, evenIfEnded: Bool = false,
                   _ change: (inout BatchInferenceJob) -> Void) throws -> BatchInferenceJob? {
        try locked(.job(account, id)) {
            guard var j = job(account, id) else { return nil }
            if j.isTerminal && !evenIfEnded { return j }
            change(&j)
            j.updateTime = Timestamp.now()
            try saveJob(j, account, id, durable: durable)
            return j
        }
    }

    /// `updateJob` for the changes that must outlive a full disk: applied in memory at once, saved as soon as
    /// the disk takes it (see `saveUnsaved`).
    @discardableResult
    func updateJobEventually(_ account: String, _ id: String, evenIfEnded: Bool = false,
                             _ change: (inout BatchInferenceJob) -> Void) -> BatchInferenceJob? {
        locked(.job(account, id)) {
            guard var j = job(account, id) else { return nil }
            if j.isTerminal && !evenIfEnded { return j }
            change(&j)
            j.updateTime = Timestamp.now()
            do { try saveJob(j, account, id) } catch {
                memory {
                    let key = Store.key(account, id)
                    jobs[key] = j
                    jobBytes[key] = nil
                    unsavedJobs.insert(key)
                }
            }
            return j
        }
    }

    /// How many records wait for the disk.
    var unsavedCount: Int { memory { unsavedJobs.count + unsavedDatasets.count } }

    /// Saves again every record a full disk refused; returns how many are still waiting.
    @discardableResult
    func saveUnsaved() -> Int {
        let (jobKeys, datasetKeys) = memory { (Array(unsavedJobs), Array(unsavedDatasets)) }
        for key in jobKeys {
            let parts = key.split(separator: "/").map(String.init)
            locked(.job(parts[0], parts[1])) {
                guard let j = job(parts[0], parts[1]) else { _ = memory { unsavedJobs.remove(key) }; return }
                try? saveJob(j, parts[0], parts[1])
            }
        }
        for key in datasetKeys {
            let parts = key.split(separator: "/").map(String.init)
            locked(.dataset(parts[0], parts[1])) {
                guard let d = dataset(parts[0], parts[1]) else { _ = memory { unsavedDatasets.remove(key) }; return }
                try? saveDataset(d, parts[0], parts[1])
            }
        }
        return unsavedCount
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
        try locked(.job(account, id)) {
            let dir = jobDir(account, id)
            let trash = "\(root)/.trash-job-\(account)-\(id)-\(UInt32.random(in: 0...UInt32.max))"
            if rename(dir, trash) != 0, errno != ENOENT { throw StoreError.io("remove \(dir)", errno) }
            AtomicFile.syncDirectory((dir as NSString).deletingLastPathComponent)
            memory {
                let key = Store.key(account, id)
                jobs[key] = nil
                jobBytes[key] = nil
                unsavedJobs.remove(key)
            }
            try? FileManager.default.removeItem(atPath: trash)
        }
    }
}
