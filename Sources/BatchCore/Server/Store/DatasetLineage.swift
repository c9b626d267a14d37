// The lineage record an output dataset keeps beside its wire record: which job wrote it and which dataset of
// the continuation chain came before, so the chain can be walked after any of its jobs is deleted.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

struct DatasetLineage: Equatable {
    /// The job that writes the dataset (its `sourceJobName`).
    var sourceJob: String
    /// The job that `sourceJob` continued, "" for the first job of a chain.
    var previousJob: String
    /// That job's output dataset, "" for the first job of a chain.
    var previousDataset: String

    var json: JSONValue {
        .object([("sourceJob", .string(sourceJob)), ("previousJob", .string(previousJob)), ("previousDataset", .string(previousDataset))])
    }

    init(sourceJob: String, previousJob: String, previousDataset: String) {
        self.sourceJob = sourceJob; self.previousJob = previousJob; self.previousDataset = previousDataset
    }

    init?(json: JSONValue) {
        guard let source = json["sourceJob"]?.stringValue else { return nil }
        sourceJob = source
        previousJob = json["previousJob"]?.stringValue ?? ""
        previousDataset = json["previousDataset"]?.stringValue ?? ""
    }
}

extension Store {
    func lineagePath(_ account: String, _ id: String) -> String { datasetDir(account, id) + "/lineage.json" }

    /// The record, nil when the dataset has none (uploaded datasets, and outputs made before records existed).
    func lineage(_ account: String, _ id: String) -> DatasetLineage? {
        guard let data = FileManager.default.contents(atPath: lineagePath(account, id)),
              let json = try? JSONValue(parsing: [UInt8](data)) else { return nil }
        return DatasetLineage(json: json)
    }

    /// Written with the output dataset when its job is created (the dataset's folder exists by then).
    func saveLineage(_ record: DatasetLineage, _ account: String, _ id: String) throws {
        try AtomicFile.write(record.json.serialized(pretty: true), to: lineagePath(account, id), mode: 0o600)
    }
}
