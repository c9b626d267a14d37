// Recovery that makes every invariant true again: the pass over the store on start, and the steps that end a
// job (counters from its checkpoint, its output dataset READY), which the scheduler and the pass share.
import BatchAPI
import BatchEngine
import BatchHTTP
import BatchJSONL
import Foundation

extension Store {
    /// The output dataset's files folder of `job`, when it names one.
    func outputDirectory(of job: BatchInferenceJob, _ account: String) -> String? {
        ResourceName(job.outputDatasetId, kind: .dataset).map { datasetFilesDir(account, $0.id) }
    }

    /// The job's progress as its checkpoint has it (the truth after a crash), keeping its input total; nil
    /// when the job never committed a row.
    func checkpointedProgress(of job: BatchInferenceJob, _ account: String) -> JobProgress? {
        guard let dir = outputDirectory(of: job, account), var counters = (try? checkpointedCounters(inOutputDirectory: dir)) ?? nil else {
            return nil
        }
        counters.totalInputRequests = Int(job.jobProgress?.totalInputRequests ?? 0)
        if counters.totalInputRequests < counters.totalProcessedRequests { counters.totalInputRequests = counters.totalProcessedRequests }
        return JobScheduler.progress(counters)
    }

    /// Makes the output dataset of an ended (or deleted) job READY with the rows its files hold. Saved as soon
    /// as the disk allows.
    func finalizeOutput(of job: BatchInferenceJob, _ account: String) {
        guard let out = ResourceName(job.outputDatasetId, kind: .dataset) else { return }
        locked(.dataset(account, out.id)) {
            // Bytes past the checkpoint (a write cut by a full disk or a stop) are not rows: the READY
            // dataset holds exactly what the counters count.
            let dir = datasetFilesDir(account, out.id)
            if let lengths = (try? checkpointedLengths(inOutputDirectory: dir)) ?? nil {
                for (name, length) in [(OutputFiles.results, lengths.results), (OutputFiles.errors, lengths.errors)] {
                    var info = stat()
                    if stat(dir + "/" + name, &info) == 0, UInt64(info.st_size) > length { _ = truncate(dir + "/" + name, off_t(length)) }
                }
            }
            guard var d = dataset(account, out.id) else { return }
            let rows = Int64(checkpointedProgress(of: job, account)?.outputRows ?? job.jobProgress?.outputRows ?? 0)
            guard d.state != DatasetState.ready || d.exampleCount != rows else { return }
            d.state = DatasetState.ready
            d.exampleCount = rows
            d.updateTime = Timestamp.now()
            saveDatasetEventually(d, account, out.id)
        }
    }
}

/// The pass run on start, before any job or request: whatever moment a kill -9 hit, the store is consistent after it.
enum Reconciliation {
    struct Report: Equatable {
        var sweptFiles = 0
        var orphansRemoved = 0
        var jobsEnded = 0
        var jobsDeleted = 0
        var countersFixed = 0
        var datasetsFinalized = 0

        var summary: String {
            "swept \(sweptFiles) temporary files, removed \(orphansRemoved) orphans, ended \(jobsEnded) and deleted \(jobsDeleted) stopped jobs, "
                + "fixed the counters of \(countersFixed) jobs, finalized \(datasetsFinalized) output datasets"
        }
        var isEmpty: Bool { self == Report() }
    }

    /// Names that only ever belong to a write in progress: an atomic file's temporary, an upload being
    /// received, a delete being carried out, a checkpoint being replaced, a pid file being written, a job's
    /// combined input being made.
    static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".tmp-") || name.hasPrefix(".upload-") || name.hasPrefix(".put-") || name.hasPrefix(".trash-")
            || name.hasSuffix(".tmp") || name.hasPrefix("input.jsonl.tmp-")
    }

    @discardableResult
    static func run(_ store: Store, log: (String) -> Void) -> Report {
        store.locked {
            var report = Report()
            sweep(store.root, &report)
            removeOrphanFolders(store, &report)
            reconcileJobs(store, &report)
            reconcileDatasets(store, &report)
            if !report.isEmpty { log("recovery: \(report.summary)") }
            return report
        }
    }

    /// Removes temporary files and makes every folder 0700 and every file 0600 (stores made before that rule).
    static func sweep(_ dir: String, _ report: inout Report) {
        chmod(dir, 0o700)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names {
            let path = dir + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            let kind = info.st_mode & S_IFMT
            if isTemporary(name) {
                if (try? FileManager.default.removeItem(atPath: path)) != nil { report.sweptFiles += 1 }
                continue
            }
            if kind == S_IFDIR {
                sweep(path, &report)
            } else if kind == S_IFREG, info.st_mode & 0o077 != 0 {
                chmod(path, 0o600)
            }
        }
    }

    /// A folder without its record was left by a kill inside a create (or a delete): nothing refers to it.
    static func removeOrphanFolders(_ store: Store, _ report: inout Report) {
        let fm = FileManager.default
        for account in (try? fm.contentsOfDirectory(atPath: store.root + "/accounts")) ?? [] where ResourceID.accountProblem(account) == nil {
            for (folder, record) in [("datasets", "dataset.json"), ("batchInferenceJobs", "job.json")] {
                let parent = store.accountDir(account) + "/" + folder
                for id in (try? fm.contentsOfDirectory(atPath: parent)) ?? [] where ResourceID.isValid(id) {
                    let path = parent + "/" + id
                    let known = folder == "datasets" ? store.dataset(account, id) != nil : store.job(account, id) != nil
                    if !known, !fm.fileExists(atPath: path + "/" + record), (try? fm.removeItem(atPath: path)) != nil {
                        report.orphansRemoved += 1
                    }
                }
            }
        }
    }

    static func reconcileJobs(_ store: Store, _ report: inout Report) {
        for (account, job) in store.allJobs() {
            let checkpointed = store.checkpointedProgress(of: job, account)
            if job.isTerminal {
                // A finished record is checked against its checkpoint, and its output dataset made READY.
                if let checkpointed, !sameCounters(checkpointed, job.jobProgress) {
                    store.updateJobEventually(account, job.id, evenIfEnded: true) { j in
                        var p = checkpointed
                        p.percent = j.jobProgress?.percent ?? p.percent
                        j.jobProgress = p
                    }
                    report.countersFixed += 1
                }
                let finalizing = needsFinalizing(store, job, account)
                store.finalizeOutput(of: store.job(account, job.id) ?? job, account)
                if finalizing { report.datasetsFinalized += 1 }
                continue
            }
            switch job.state {
            case JobState.deletingCleaningUp:
                // The delete was acknowledged: keep the rows as a READY dataset, then the job goes.
                store.finalizeOutput(of: job, account)
                try? store.deleteJob(account, job.id)
                report.jobsDeleted += 1
            case JobState.cancelling:
                let now = Timestamp.now()
                store.finalizeOutput(of: job, account)
                store.updateJobEventually(account, job.id) { j in
                    if let checkpointed { j.jobProgress = checkpointed }
                    j.state = JobState.cancelled
                    j.status = ResourceStatus(code: "CANCELLED", message: "cancelled; finished rows are kept")
                    if j.lifecycle == nil { j.lifecycle = JobLifecycle() }
                    j.lifecycle?.endTime = now
                }
                report.jobsEnded += 1
            default:
                // It resumes from its checkpoint; until its first progress report it shows what that holds.
                if let checkpointed, !sameCounters(checkpointed, job.jobProgress) {
                    store.updateJobEventually(account, job.id) { $0.jobProgress = checkpointed }
                    report.countersFixed += 1
                }
                if let out = ResourceName(job.outputDatasetId, kind: .dataset), store.dataset(account, out.id) == nil {
                    // A kill between the two writes of a create: the output dataset comes back.
                    var d = Dataset()
                    d.name = out.description
                    d.createTime = job.createTime
                    d.updateTime = Timestamp.now()
                    d.createdBy = job.createdBy
                    d.state = DatasetState.uploading
                    d.format = .chat
                    d.sourceJobName = job.name
                    store.saveDatasetEventually(d, account, out.id)
                }
            }
        }
    }

    /// Output datasets whose job is gone: made READY when they hold rows, removed when a kill inside the job's
    /// create left them behind empty.
    static func reconcileDatasets(_ store: Store, _ report: inout Report) {
        for (account, dataset) in store.allDatasets() where dataset.state != DatasetState.ready && !dataset.sourceJobName.isEmpty {
            guard let source = ResourceName(dataset.sourceJobName, kind: .batchInferenceJob), store.job(account, source.id) == nil,
                  let id = ResourceName(dataset.name, kind: .dataset)?.id else { continue }
            if store.datasetFiles(account, id).allSatisfy({ $0.size == 0 }) {
                try? store.deleteDataset(account, id)
                report.orphansRemoved += 1
            } else {
                var job = BatchInferenceJob()
                job.outputDatasetId = dataset.name
                store.finalizeOutput(of: job, account)
                report.datasetsFinalized += 1
            }
        }
    }

    static func needsFinalizing(_ store: Store, _ job: BatchInferenceJob, _ account: String) -> Bool {
        guard let out = ResourceName(job.outputDatasetId, kind: .dataset), let d = store.dataset(account, out.id) else { return false }
        let rows = Int64(store.checkpointedProgress(of: job, account)?.outputRows ?? job.jobProgress?.outputRows ?? 0)
        return d.state != DatasetState.ready || d.exampleCount != rows
    }

    static func sameCounters(_ a: JobProgress, _ b: JobProgress?) -> Bool {
        guard let b else { return false }
        return a.successfullyProcessedRequests == b.successfullyProcessedRequests && a.failedRequests == b.failedRequests
            && a.outputRows == b.outputRows && a.totalProcessedRequests == b.totalProcessedRequests
    }
}
