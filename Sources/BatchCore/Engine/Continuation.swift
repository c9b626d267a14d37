// The continuation helper: which custom_ids already succeeded in the earlier jobs of a chain.
import Foundation

/// The custom_ids with a result in `BIJOutputSet.jsonl` of any of these output directories (the earlier jobs
/// of a continuation chain), read streaming. A directory with a checkpoint is read only up to it, so the
/// unconfirmed tail of a job that crashed is not trusted. A directory without results contributes nothing.
/// Pass the result as `JobSpec.skipCustomIDs`.
public func succeededCustomIDs(inOutputDirectories directories: [String]) throws -> CustomIDSet {
    var ids = CustomIDSet()
    for directory in directories {
        let path = directory + "/" + OutputStore.resultsFileName
        guard FileManager.default.fileExists(atPath: path) else { continue }
        let limit = try OutputStore.Checkpoint.read(path: directory + "/" + OutputStore.checkpointFileName)?.resultsBytes
        try OutputStore.forEachFinishedRow(path: path, maxBytes: limit) { id in
            if !id.hasPrefix("\u{0}") { ids.insert(id) }
        }
    }
    return ids
}
