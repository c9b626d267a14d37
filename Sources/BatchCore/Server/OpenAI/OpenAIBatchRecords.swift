// What an OpenAI batch has beyond its job record: metadata, validation errors with line numbers, when a
// cancel was asked for and the row count. One small JSON file per batch under `<data dir>/openai/batches/`.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

struct OpenAIBatchRecord: Equatable, Sendable {
    /// The job's `createTime`: a record whose job was deleted and whose id was reused is not the new job's.
    var createTime: String
    var metadata: JSONValue?
    /// OpenAI's `errors.data` items: `{code, message, param, line}`.
    var errors: [JSONValue] = []
    var cancellingAt: Int64?
    /// Rows of the input, known from validation before the engine counts them.
    var total: Int?

    init(createTime: String) { self.createTime = createTime }

    init?(json: JSONValue) {
        guard let created = json["createTime"]?.stringValue else { return nil }
        createTime = created
        if let m = json["metadata"], !m.isNull { metadata = m }
        errors = json["errors"]?.arrayValue ?? []
        cancellingAt = json["cancellingAt"]?.int64Value
        total = json["total"]?.int64Value.map { Int($0) }
    }

    var json: JSONValue {
        .object([
            ("createTime", .string(createTime)),
            ("metadata", metadata ?? .null),
            ("errors", .array(errors)),
            ("cancellingAt", cancellingAt.map { .int($0) } ?? .null),
            ("total", total.map { .int($0) } ?? .null),
        ])
    }
}

/// `@unchecked Sendable`: `cache` is read and written only under `lock`; the files are replaced atomically.
final class OpenAIBatchRecords: @unchecked Sendable {
    let directory: String
    private let lock = NSLock()
    /// Records read so far by `account/jobID`; a batch is polled often, its record rarely changes.
    private var cache: [String: OpenAIBatchRecord] = [:]

    init(directory: String) { self.directory = directory }

    private func path(_ account: String, _ jobID: String) -> String { "\(directory)/\(account)/\(jobID).json" }

    /// The record of this job, or nil (a batch made through the Fireworks API has none).
    func record(_ account: String, _ job: BatchInferenceJob) -> OpenAIBatchRecord? {
        guard let created = job.createTime else { return nil }
        let key = Store.key(account, job.id)
        let found: OpenAIBatchRecord? = lock.withLock {
            if let r = cache[key] { return r }
            guard let data = FileManager.default.contents(atPath: path(account, job.id)),
                  let json = try? JSONValue(parsing: [UInt8](data)), let r = OpenAIBatchRecord(json: json) else { return nil }
            cache[key] = r
            return r
        }
        return found?.createTime == created ? found : nil
    }

    func save(_ record: OpenAIBatchRecord, _ account: String, _ jobID: String) throws {
        try lock.withLock {
            try FileManager.default.createDirectory(atPath: "\(directory)/\(account)", withIntermediateDirectories: true)
            try AtomicFile.write(record.json.serialized(), to: path(account, jobID), mode: 0o600)
            cache[Store.key(account, jobID)] = record
        }
    }
}
