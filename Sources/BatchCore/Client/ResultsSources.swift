// ResultsSources: what `bij results` reads for one job (its input dataset and the output datasets of its
// continuation lineage, each with the job that produced it), found through the documented routes only, and
// downloaded into a scratch folder through signed URLs.
import BatchAPI
import BatchJSONL
import Foundation

/// One dataset of a job's results, with its files' signed URLs keyed `dataset/<id>/<file>`.
public struct ResultsDataset: Sendable {
    public var name: ResourceName
    /// The job that produced it (for output datasets), when the gateway says.
    public var job: String?
    public var createTime: String?
    public var files: [(key: String, url: String)]
}

/// A job's input and its outputs, oldest output first (the job's own output last).
public struct ResultsSources: Sendable {
    public var job: BatchInferenceJob
    public var input: ResultsDataset
    public var outputs: [ResultsDataset]
    /// Links of the lineage a batchctl gateway said it could not follow.
    public var lineageWarnings: [String] = []
    /// Whether a batchctl gateway answered (one that follows the lineage itself and says what it could not).
    public var fromBatchctl = false
}

extension GatewayClient {
    /// Resolves `job`: GET the job, the download endpoint of its input dataset, and of its output dataset
    /// (with `downloadLineage=true` unless `lineage` is false), then GET each output dataset for the job that
    /// produced it (`sourceJobName`) and its creation time. A dataset without `sourceJobName` is matched to a
    /// job by walking `continuedFromJobName` back from `job` (a deleted job there is skipped). Nil under
    /// --dry-run.
    public func resultsSources(job name: ResourceName, lineage: Bool) throws -> ResultsSources? {
        guard let raw = try self.send(Endpoints.getJob(name)) else { return nil }
        let job = try BatchInferenceJob(json: raw)
        guard let inputName = ResourceName(job.inputDatasetId, kind: .dataset) else {
            throw ClientError("\(name) has no input dataset to join its results to")
        }
        let input = ResultsDataset(name: inputName, job: nil, createTime: nil,
                                   files: try signedFiles(of: inputName, lineage: false).filter { $0.key.hasPrefix("dataset/\(inputName.id)/") })
        guard let outputName = ResourceName(job.outputDatasetId, kind: .dataset) else {
            return ResultsSources(job: job, input: input, outputs: [])
        }
        var byDataset: [String: [(key: String, url: String)]] = [:]
        var order: [String] = []
        let files: [(key: String, url: String)]
        var sources = ResultsSources(job: job, input: input, outputs: [])
        do {
            let answer = try downloadEndpoint(of: outputName, lineage: lineage)
            files = answer.files
            sources.lineageWarnings = answer.warnings
            sources.fromBatchctl = answer.fromBatchctl
        } catch let e as GatewayError where e.httpStatus == 404 {
            // No output dataset (yet): every row is missing.
            return sources
        }
        for file in files {
            guard let id = Self.datasetID(ofKey: file.key), id != inputName.id else { continue }
            if byDataset[id] == nil { order.append(id) }
            byDataset[id, default: []].append(file)
        }
        if byDataset[outputName.id] == nil { order.append(outputName.id) }

        // Newest first: the job, then the jobs it continued from, as far as they still exist.
        let chain = continuationChain(from: job)
        var outputs: [(dataset: ResultsDataset, position: Int)] = []
        for id in order {
            let datasetName = ResourceName(account: outputName.account, kind: .dataset, id: id)
            var dataset = ResultsDataset(name: datasetName, job: nil, createTime: nil,
                                         files: (byDataset[id] ?? []).sorted { $0.key < $1.key })
            if id == outputName.id { dataset.job = job.name }
            if let d = try? self.send(Endpoints.getDataset(datasetName)), let parsed = try? Dataset(json: d) {
                dataset.createTime = parsed.createTime
                if dataset.job == nil, !parsed.sourceJobName.isEmpty { dataset.job = parsed.sourceJobName }
            }
            let position = chain.firstIndex { $0.dataset == id }
            if dataset.job == nil, let position { dataset.job = chain[position].job }
            outputs.append((dataset, position ?? Int.max))
        }
        // Oldest first: by place in the chain where both are in it, else by creation time; the job's own
        // output is the newest whatever the clocks say.
        let own = outputs.filter { $0.dataset.name.id == outputName.id }.map(\.dataset)
        let earlier = outputs.filter { $0.dataset.name.id != outputName.id }
            .sorted { a, b in
                if a.position != Int.max, b.position != Int.max { return a.position > b.position }
                switch (a.dataset.createTime, b.dataset.createTime) {
                case let (x?, y?) where x != y: return x < y
                default: return a.position > b.position
                }
            }.map(\.dataset)
        sources.outputs = earlier + own
        return sources
    }

    /// The files of a dataset (and its lineage) and their signed URLs.
    public func signedFiles(of dataset: ResourceName, lineage: Bool) throws -> [(key: String, url: String)] {
        try downloadEndpoint(of: dataset, lineage: lineage).files
    }

    /// The download endpoint's answer: the files, what a batchctl gateway said about links of the lineage it
    /// could not follow (`X-Batchctl-Lineage-Warning`), and whether a batchctl gateway answered at all.
    public func downloadEndpoint(of dataset: ResourceName, lineage: Bool) throws
        -> (files: [(key: String, url: String)], warnings: [String], fromBatchctl: Bool) {
        let request = Endpoints.getDownloadEndpoint(dataset, lineage: lineage)
        guard let response = try sendRaw(request) else { return ([], [], false) }
        guard let answer = try? JSONValue(parsing: response.body) else {
            throw ClientError("the gateway answered GET \(request.path) with something that is not JSON")
        }
        var files: [(key: String, url: String)] = []
        for (key, value) in answer["filenameToSignedUrls"]?.objectValue ?? [] {
            if let url = value.stringValue { files.append((key, url)) }
        }
        let warnings = (response.headers[BatchctlHeaders.lineageWarning] ?? "").split(separator: "|")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let fromBatchctl = response.headers["Server"]?.hasPrefix(BatchctlHeaders.serverPrefix) ?? false
        return (files.sorted { $0.key < $1.key }, warnings, fromBatchctl)
    }

    /// `dataset/<id>/<file>` -> `<id>`.
    static func datasetID(ofKey key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0] == "dataset", !parts[1].isEmpty else { return nil }
        return String(parts[1])
    }

    /// (output dataset id, job name) for `job` and the jobs it continued from, newest first, as far as they
    /// still exist.
    func continuationChain(from job: BatchInferenceJob) -> [(dataset: String, job: String)] {
        var chain: [(dataset: String, job: String)] = []
        var seen: Set<String> = []
        var current: BatchInferenceJob? = job
        while let j = current, seen.insert(j.name).inserted {
            if let out = ResourceName(j.outputDatasetId, kind: .dataset) { chain.append((out.id, j.name)) }
            guard let previous = ResourceName(j.continuedFromJobName, kind: .batchInferenceJob),
                  let raw = try? self.send(Endpoints.getJob(previous)), let parsed = try? BatchInferenceJob(json: raw) else { break }
            current = parsed
        }
        return chain
    }

    /// Downloads each file of `dataset` into `dir` (as `dir/<key>`), asking for fresh URLs once if one is
    /// refused (they live about ten minutes). Returns the local paths in key order. Scratch copies: no fsync.
    public func downloadScratch(_ dataset: ResultsDataset, into dir: String, progress: (String) -> TransferProgress) throws -> [(path: String, key: String)] {
        var urls = Dictionary(dataset.files.map { ($0.key, $0.url) }, uniquingKeysWith: { a, _ in a })
        var refreshed = false
        var written: [(path: String, key: String)] = []
        for (key, _) in dataset.files {
            guard let safe = Self.scratchName(key) else { throw ClientError("the gateway sent an unsafe file name '\(key)'; refusing to write it") }
            let path = dir + "/" + safe
            TemporaryFiles.shared.add(path)
            do {
                _ = try download(urls[key]!, to: path, progress: progress(key), sync: false)
            } catch let e as GatewayError where !refreshed && [400, 401, 403, 404, 410].contains(e.httpStatus) {
                refreshed = true
                let fresh = try signedFiles(of: dataset.name, lineage: false)
                guard let url = fresh.first(where: { $0.key == key })?.url else { throw e }
                for f in fresh { urls[f.key] = f.url }
                _ = try download(url, to: path, progress: progress(key), sync: false)
            }
            written.append((path, key))
        }
        return written
    }

    /// A flat file name for a key (`dataset/x/BIJOutputSet.jsonl` -> `dataset_x_BIJOutputSet.jsonl`), or nil
    /// for a key that names a parent folder or an absolute path.
    static func scratchName(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !key.hasPrefix("/"), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.contains("\0") }) else { return nil }
        return parts.joined(separator: "_")
    }
}
