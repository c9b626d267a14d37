// OpenAI's file and batch objects made from the store's datasets and jobs, and the ids that map between them.
import BatchAPI
import BatchEngine
import BatchHTTP
import BatchJSONL
import Foundation

/// How OpenAI ids name the store's resources. A file id is a dataset id (`file-...` for uploads and outputs
/// made through this API, any dataset id otherwise); an output dataset's errors are a second file, the dataset
/// id with `_errors` (no dataset id holds `_`). A batch `batch_X` is the job `batch-X` (job ids cannot hold
/// `_`); any other job is its own id.
enum OpenAIIDs {
    static let errorsSuffix = "_errors"

    static func batchID(jobID: String) -> String {
        jobID.hasPrefix("batch-") ? "batch_" + jobID.dropFirst(6) : jobID
    }

    /// The job a batch id names, or nil when it cannot name one.
    static func jobID(batchID: String) -> String? {
        let id = batchID.hasPrefix("batch_") ? "batch-" + batchID.dropFirst(6) : batchID
        return ResourceID.isValid(id) ? id : nil
    }

    static func newFileID() -> String { "file-" + Gateway.randomID(24) }
    static func newJobID() -> String { "batch-" + Gateway.randomID(24) }
}

/// One file of the OpenAI view: an uploaded dataset, or the results or the errors of an output dataset.
struct OpenAIFileEntry {
    enum Kind: Equatable { case input, output, errors }
    var kind: Kind
    var datasetID: String
    var createdAt: Int64
    var filename: String
    /// The job that wrote an output dataset (nil for inputs, and for outputs whose job was deleted).
    var job: BatchInferenceJob?

    var id: String { kind == .errors ? datasetID + OpenAIIDs.errorsSuffix : datasetID }
    var purpose: String { kind == .input ? "batch" : "batch_output" }
}

/// A batch's `request_counts`; `unfinished` are the rows an expired or cancelled batch never ran, which its
/// error file lists (so they count as failed, and `completed + failed == total` once it has ended).
struct OpenAIRequestCounts {
    var total = 0, completed = 0, failed = 0, unfinished = 0
}

enum OpenAITime {
    /// Unix seconds of an RFC 3339 timestamp.
    static func seconds(_ text: String?) -> Int64? {
        text.flatMap(Timestamp.date(from:)).map { Int64($0.timeIntervalSince1970.rounded(.down)) }
    }

    static func json(_ seconds: Int64?) -> JSONValue { seconds.map { .int($0) } ?? .null }
}

extension Gateway {
    // MARK: files

    /// The OpenAI files a dataset stands for: an upload once READY, an output once its job has ended.
    func openAIFileEntries(_ d: Dataset, _ account: String) -> [OpenAIFileEntry] {
        let created = OpenAITime.seconds(d.createTime) ?? 0
        if d.sourceJobName.isEmpty {
            guard d.state == DatasetState.ready, let file = store.datasetFiles(account, d.id).first else { return [] }
            return [OpenAIFileEntry(kind: .input, datasetID: d.id, createdAt: created,
                                    filename: d.displayName.isEmpty ? file.name : d.displayName)]
        }
        // The job's end state is the signal, not the dataset's READY, which the scheduler sets just after it: a
        // batch seen `completed` must already show its output file.
        let job = ResourceName(d.sourceJobName, kind: .batchInferenceJob).flatMap { store.job(account, $0.id) }
        if let job, !job.isTerminal { return [] }
        if job == nil, d.state != DatasetState.ready { return [] }
        let sizes = Dictionary(store.datasetFiles(account, d.id).map { ($0.name, $0.size) }, uniquingKeysWith: { a, _ in a })
        let batch = OpenAIIDs.batchID(jobID: job?.id ?? d.id)
        let finished = OpenAITime.seconds(job?.lifecycle?.endTime) ?? OpenAITime.seconds(d.updateTime) ?? created
        var entries: [OpenAIFileEntry] = []
        if (sizes[OutputFiles.results] ?? 0) > 0 {
            entries.append(OpenAIFileEntry(kind: .output, datasetID: d.id, createdAt: finished, filename: batch + "_output.jsonl", job: job))
        }
        if (sizes[OutputFiles.errors] ?? 0) > 0 || (job.map { openAICounts($0, account).unfinished } ?? 0) > 0 {
            entries.append(OpenAIFileEntry(kind: .errors, datasetID: d.id, createdAt: finished, filename: batch + "_error.jsonl", job: job))
        }
        return entries
    }

    /// The file an id names, or OpenAI's 404.
    func openAIFile(_ id: String, _ account: String) throws -> OpenAIFileEntry {
        let errors = id.hasSuffix(OpenAIIDs.errorsSuffix)
        let datasetID = errors ? String(id.dropLast(OpenAIIDs.errorsSuffix.count)) : id
        guard ResourceID.isValid(datasetID), let d = store.dataset(account, datasetID),
              let entry = openAIFileEntries(d, account).first(where: { $0.id == id }) else {
            throw OpenAIError.notFound("No such File object: \(id)", param: "id")
        }
        return entry
    }

    func openAIFileObject(_ entry: OpenAIFileEntry, _ account: String) throws -> JSONValue {
        let bytes: Int64
        if entry.kind == .input {
            bytes = store.datasetFiles(account, entry.datasetID).first?.size ?? 0
        } else {
            var info = stat()
            let path = try openAIRendering(entry, account)
            bytes = stat(path, &info) == 0 ? Int64(info.st_size) : 0
        }
        return .object([
            ("id", .string(entry.id)),
            ("object", .string("file")),
            ("bytes", .int(bytes)),
            ("created_at", .int(entry.createdAt)),
            ("filename", .string(entry.filename)),
            ("purpose", .string(entry.purpose)),
            ("status", .string("processed")),
            ("expires_at", .null),
            ("status_details", .null),
        ])
    }

    // MARK: batches

    /// The job a batch id names, or OpenAI's 404.
    func openAIJob(_ batchID: String, _ account: String) throws -> BatchInferenceJob {
        guard let id = OpenAIIDs.jobID(batchID: batchID), let job = store.job(account, id) else {
            throw OpenAIError.notFound("No batch found with id '\(batchID)'.", param: "batch_id")
        }
        return job
    }

    static func openAIStatus(_ state: JobState) -> String {
        switch state {
        case .validating, .creating, .creatingInputDataset, .unspecified, .unrecognized: return "validating"
        case .pending, .running, .reQueueing, .idle, .paused: return "in_progress"
        case .writingResults: return "finalizing"
        case .completed: return "completed"
        case .failed: return "failed"
        case .expired: return "expired"
        case .cancelling, .deleting, .deletingCleaningUp: return "cancelling"
        case .cancelled, .earlyStopped, .deleted: return "cancelled"
        }
    }

    func openAICounts(_ job: BatchInferenceJob, _ account: String) -> OpenAIRequestCounts {
        var counts = OpenAIRequestCounts()
        let progress = job.jobProgress
        counts.total = Int(progress?.totalInputRequests ?? 0)
        // Before the engine has counted the rows: the count validation made, else the input dataset's.
        if counts.total == 0 {
            counts.total = openAIRecords.record(account, job)?.total
                ?? ResourceName(job.inputDatasetId, kind: .dataset).flatMap { store.dataset(account, $0.id) }.map { Int($0.exampleCount) } ?? 0
        }
        counts.completed = Int(progress?.successfullyProcessedRequests ?? 0)
        counts.failed = Int(progress?.failedRequests ?? 0)
        if job.state == JobState.expired || job.state == JobState.cancelled {
            counts.unfinished = max(0, counts.total - counts.completed - counts.failed)
            counts.failed += counts.unfinished
        }
        return counts
    }

    /// The batch object of a job, as `GET /v1/batches/{id}` answers it.
    func openAIBatch(_ job: BatchInferenceJob, _ account: String) -> JSONValue {
        let record = openAIRecords.record(account, job)
        let status = Gateway.openAIStatus(job.state)
        let counts = openAICounts(job, account)
        let ended = OpenAITime.seconds(job.lifecycle?.endTime)
        func endedIf(_ state: JobState) -> JSONValue { OpenAITime.json(job.state == state ? ended : nil) }

        var outputFile: JSONValue = .null, errorFile: JSONValue = .null
        if job.isTerminal, let out = ResourceName(job.outputDatasetId, kind: .dataset), let d = store.dataset(account, out.id) {
            for entry in openAIFileEntries(d, account) {
                if entry.kind == .output { outputFile = .string(entry.id) }
                if entry.kind == .errors { errorFile = .string(entry.id) }
            }
        }
        var cancelling = record?.cancellingAt
        if cancelling == nil, job.state == JobState.cancelled { cancelling = ended }
        let inProgress = OpenAITime.seconds(job.lifecycle?.runStartTime)
        let progress = job.jobProgress
        let input = Int64(progress?.inputTokens ?? 0), output = Int64(progress?.outputTokens ?? 0)

        return .object([
            ("id", .string(OpenAIIDs.batchID(jobID: job.id))),
            ("object", .string("batch")),
            ("endpoint", .string(DatasetValidator.chatURL)),
            ("model", job.model.isEmpty ? .null : .string(job.model)),
            ("errors", openAIErrors(job, record)),
            ("input_file_id", .string(ResourceName(job.inputDatasetId, kind: .dataset)?.id ?? job.inputDatasetId)),
            ("completion_window", .string("24h")),
            ("status", .string(status)),
            ("output_file_id", outputFile),
            ("error_file_id", errorFile),
            ("created_at", .int(OpenAITime.seconds(job.createTime) ?? 0)),
            ("in_progress_at", OpenAITime.json(inProgress)),
            ("expires_at", OpenAITime.json(OpenAITime.seconds(job.expireTime))),
            ("finalizing_at", endedIf(.completed)),
            ("completed_at", endedIf(.completed)),
            ("failed_at", endedIf(.failed)),
            ("expired_at", endedIf(.expired)),
            ("cancelling_at", OpenAITime.json(cancelling)),
            ("cancelled_at", endedIf(.cancelled)),
            ("request_counts", .object([("total", .int(counts.total)), ("completed", .int(counts.completed)),
                                        ("failed", .int(counts.failed))])),
            ("usage", .object([
                ("input_tokens", .int(input)),
                ("input_tokens_details", .object([("cached_tokens", .int(progress?.cachedInputTokenCount ?? 0))])),
                ("output_tokens", .int(output)),
                ("output_tokens_details", .object([("reasoning_tokens", .int(0))])),
                ("total_tokens", .int(input + output)),
            ])),
            ("metadata", record?.metadata ?? .null),
        ])
    }

    /// `errors` of a failed batch: what validation found (with line numbers), else the job's status.
    func openAIErrors(_ job: BatchInferenceJob, _ record: OpenAIBatchRecord?) -> JSONValue {
        var data = record?.errors ?? []
        if data.isEmpty, job.state == JobState.failed {
            // A job failed outside this API (or by the scheduler's own check): its status message is the error,
            // `<file>:<line>: <reason>` when a row was at fault.
            let message = job.status.message
            if let (line, reason) = OpenAIValidation.lineAndReason(in: message), job.status.code == StatusCode.invalidArgument.name {
                data = [OpenAIValidation.error(line: line, reason: reason, message: message)]
            } else {
                data = [.object([("code", .string(job.status.code.lowercased())), ("message", .string(message)),
                                 ("param", .null), ("line", .null)])]
            }
        }
        guard !data.isEmpty else { return .null }
        return .object([("object", .string("list")), ("data", .array(data))])
    }
}
