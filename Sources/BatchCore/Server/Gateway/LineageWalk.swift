// `getDownloadEndpoint?downloadLineage=true`: the datasets of a continuation chain, walked through the
// datasets' own lineage records first and the jobs second, with every link that could not be followed named.
import BatchAPI

extension Gateway {
    /// `id` and every dataset before it in its chain, nearest first; and the links that could not be followed.
    func lineageDatasets(_ account: String, _ id: String) -> (ids: [String], broken: [String]) {
        var ids = [id]
        var broken: [String] = []
        var current = id
        var seenJobs: Set<String> = []
        func jobID(_ name: String) -> String? { ResourceName(name, kind: .batchInferenceJob)?.id }
        func datasetID(_ name: String) -> String? { ResourceName(name, kind: .dataset)?.id }

        while true {
            let record = store.lineage(account, current)
            let writer = record?.sourceJob ?? store.dataset(account, current)?.sourceJobName ?? ""
            guard let writerID = jobID(writer), seenJobs.insert(writerID).inserted else { break }
            // Which dataset came before `current`, and which job wrote it.
            var previousDataset = ""
            var previousJob = ""
            if let record {
                previousDataset = record.previousDataset
                previousJob = record.previousJob
            } else if let job = store.job(account, writerID) {
                previousJob = job.continuedFromJobName
                if let p = jobID(previousJob) {
                    guard let earlier = store.job(account, p) else {
                        broken.append("job \(p), which job \(writerID) continued, no longer exists, and dataset \(current) has no lineage record: the datasets before \(current) cannot be found")
                        break
                    }
                    previousDataset = earlier.outputDatasetId
                }
            } else {
                broken.append("job \(writerID), which wrote dataset \(current), no longer exists, and \(current) has no lineage record: the datasets before it cannot be found")
                break
            }
            guard let previousID = datasetID(previousDataset), !ids.contains(previousID) else { break }
            if store.dataset(account, previousID) != nil {
                ids.append(previousID)
                current = previousID
                continue
            }
            let by = jobID(previousJob).map { " (the output of job \($0))" } ?? ""
            broken.append("dataset \(previousID)\(by), which came before \(current) in the lineage, no longer exists")
            // Step over the gap through the job that wrote it, when that job is still there.
            guard let pj = jobID(previousJob), seenJobs.insert(pj).inserted, let job = store.job(account, pj),
                  let before = jobID(job.continuedFromJobName), let earlier = store.job(account, before),
                  let skipTo = datasetID(earlier.outputDatasetId), !ids.contains(skipTo), store.dataset(account, skipTo) != nil else { break }
            ids.append(skipTo)
            current = skipTo
        }
        return (ids, broken)
    }
}
