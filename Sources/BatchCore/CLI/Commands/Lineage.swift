// Checking a `--download-lineage` answer from a gateway that does not say which links it could not follow
// (Fireworks): the chain is walked through the jobs the client can see, and every gap is named.
import BatchAPI
import BatchClient
import BatchJSONL

enum Lineage {
    /// The links of `name`'s continuation chain that the answer (`keys`: `dataset/<id>/<file>`) does not
    /// cover, or that cannot be followed because a job of the chain is gone.
    static func check(_ c: Context, name: ResourceName, keys: [String]) -> [String] {
        guard let client = try? c.client() else { return [] }
        let present = Set(keys.compactMap { key -> String? in
            let parts = key.split(separator: "/")
            return parts.count >= 3 && parts[0] == "dataset" ? String(parts[1]) : nil
        })
        func job(_ jobName: String) -> BatchInferenceJob? {
            guard let n = ResourceName(jobName, kind: .batchInferenceJob),
                  let raw = try? client.send(Endpoints.getJob(n)) else { return nil }
            return try? BatchInferenceJob(json: raw)
        }
        guard let raw = try? client.send(Endpoints.getDataset(name)),
              let writer = raw["sourceJobName"]?.stringValue, !writer.isEmpty else { return [] }
        var warnings: [String] = []
        var current = (dataset: name.id, job: writer)
        var seen: Set<String> = [writer]
        while true {
            guard let j = job(current.job) else {
                warnings.append("job \(current.job), which wrote dataset \(current.dataset), no longer exists: the datasets before \(current.dataset) cannot be found")
                break
            }
            let previous = j.continuedFromJobName
            guard !previous.isEmpty, seen.insert(previous).inserted else { break }
            guard let p = job(previous) else {
                warnings.append("job \(previous), which job \(current.job) continued, no longer exists: its output dataset cannot be found")
                break
            }
            let output = ResourceName(p.outputDatasetId, kind: .dataset)?.id ?? p.outputDatasetId
            if !present.contains(output) {
                warnings.append("dataset \(output), the output of job \(previous), is not in the lineage answer (was it deleted?)")
            }
            current = (output, previous)
        }
        return warnings
    }
}
