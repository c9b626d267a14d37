// `/v1/batches`: create (the input checked at once, one model per batch), get, list with cursors, cancel. Each
// batch is a batch inference job of the store, run by the same scheduler as the Fireworks API's jobs.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

/// OpenAI's batch validation errors from the dataset validator's problems.
enum OpenAIValidation {
    /// The `code` OpenAI gives the kind of fault a problem describes.
    static func code(_ reason: String) -> (code: String, param: String?) {
        if reason.hasPrefix("invalid JSON") || reason.hasPrefix("a row must be a JSON object") || reason.hasPrefix("key ") {
            return ("invalid_json_line", nil)
        }
        if reason.hasPrefix("duplicate custom_id") { return ("duplicate_custom_id", "custom_id") }
        if reason.hasPrefix("missing custom_id") || reason.hasPrefix("custom_id") { return ("missing_required_parameter", "custom_id") }
        if reason.hasPrefix("missing body.model") { return ("missing_required_parameter", "body.model") }
        if reason.hasPrefix("body.model") && reason.contains("differs") { return ("mismatched_model", "body.model") }
        if reason.hasPrefix("body.model") { return ("invalid_model", "body.model") }
        if reason.hasPrefix("missing body") { return ("missing_required_parameter", "body") }
        if reason.hasPrefix("url must") { return ("invalid_url", "url") }
        if reason.hasPrefix("method must") { return ("invalid_method", "method") }
        if reason.hasPrefix("the dataset has no rows") { return ("empty_file", nil) }
        if reason.contains("longer than the limit") { return ("line_too_long", nil) }
        return ("invalid_request", reason.hasPrefix("body") ? "body" : nil)
    }

    static func error(line: Int, reason: String, message: String? = nil) -> JSONValue {
        let (code, param) = code(reason)
        return .object([("code", .string(code)), ("message", .string(message ?? "line \(line): \(reason)")),
                         ("param", param.map(JSONValue.string) ?? .null),
                         ("line", code == "empty_file" ? .null : .int(line))])
    }

    /// The line and reason of a job status like `Dataset has a syntax error: invalid row on input.jsonl:3: reason`.
    static func lineAndReason(in message: String) -> (Int, String)? {
        var rest = Substring(message)
        while let colon = rest.firstIndex(of: ":") {
            let after = rest[rest.index(after: colon)...]
            let digits = after.prefix { $0.isASCII && $0.isNumber }
            if !digits.isEmpty, after.dropFirst(digits.count).hasPrefix(": "), let line = Int(digits) {
                return (line, String(after.dropFirst(digits.count + 2)))
            }
            rest = after
        }
        return nil
    }
}

extension Gateway {
    static let openAIBatchFields: Set<String> = ["input_file_id", "endpoint", "completion_window", "metadata", "output_expires_after"]

    func createOpenAIBatch(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        guard case .object(let members) = try readJSON(request) else { throw OpenAIError.badRequest("The request body must be a JSON object.") }
        if let unknown = members.first(where: { !Gateway.openAIBatchFields.contains($0.0) }) {
            throw OpenAIError.badRequest("Unrecognized request argument supplied: \(unknown.0)", param: unknown.0, code: "unknown_parameter")
        }
        let body = JSONValue.object(members)
        func required(_ name: String) throws -> String {
            guard let value = body[name], !value.isNull else {
                throw OpenAIError.badRequest("Missing required parameter: '\(name)'.", param: name, code: "missing_required_parameter")
            }
            guard let text = value.stringValue else {
                throw OpenAIError.badRequest("Invalid type for '\(name)': expected a string.", param: name, code: "invalid_type")
            }
            return text
        }
        let inputID = try required("input_file_id")
        let endpoint = try required("endpoint")
        let window = try required("completion_window")
        guard endpoint == DatasetValidator.chatURL else {
            throw OpenAIError.badRequest("The endpoint '\(endpoint)' is not supported by this gateway: its batches run chat completions, endpoint '\(DatasetValidator.chatURL)'.",
                                         param: "endpoint", code: "invalid_value")
        }
        guard window == "24h" else {
            throw OpenAIError.badRequest("Invalid value for 'completion_window': '\(window)'. Supported values are: '24h'.",
                                         param: "completion_window", code: "invalid_value")
        }
        let metadata = try Gateway.openAIMetadata(body["metadata"])
        if let expiry = body["output_expires_after"], !expiry.isNull, expiry.objectValue == nil {
            throw OpenAIError.badRequest("Invalid type for 'output_expires_after': expected an object.", param: "output_expires_after", code: "invalid_type")
        }

        let input = try openAIFile(inputID, account)
        guard input.kind == .input else {
            throw OpenAIError.badRequest("File \(inputID) has purpose '\(input.purpose)'; a batch's input file must have purpose 'batch'.",
                                         param: "input_file_id", code: "invalid_value")
        }
        guard let file = store.datasetFiles(account, input.datasetID).first else {
            throw OpenAIError.notFound("No such File object: \(inputID)", param: "input_file_id")
        }
        let path = store.datasetFilesDir(account, input.datasetID) + "/" + file.name
        // The whole input is checked now, as one pass of the validator: OpenAI's rules (one body.model in every
        // row) are not the Fireworks job's, and the job needs the model before it is queued.
        var options = DatasetValidator.Options(keptProblems: 20, stopAfterProblems: 1000)
        options.requireOneModel = true
        let report: ValidationReport
        do { report = try DatasetValidator(options).validate(path: path) } catch {
            throw OpenAIError(status: 500, "cannot read the input file: \(error)", type: "server_error")
        }
        let inputName = ResourceName(account: account, kind: .dataset, id: input.datasetID).description
        let job: BatchInferenceJob
        var record: OpenAIBatchRecord
        if let model = report.model, report.valid {
            var written = BatchInferenceJob()
            written.model = model
            written.inputDatasetId = inputName
            written.outputDatasetId = ResourceName(account: account, kind: .dataset, id: OpenAIIDs.newFileID()).description
            written.maxJobDuration = "86400s"
            job = try createJob(written, id: OpenAIIDs.newJobID(), account)
            record = OpenAIBatchRecord(createTime: job.createTime ?? "")
            record.total = report.rows
        } else {
            job = try createFailedJob(report, file: file.name, input: inputName, account)
            record = OpenAIBatchRecord(createTime: job.createTime ?? "")
            record.errors = report.problems.map { OpenAIValidation.error(line: $0.line, reason: $0.reason) }
        }
        record.metadata = metadata
        try openAIRecords.save(record, account, job.id)
        return Gateway.ok(openAIBatch(store.job(account, job.id) ?? job, account))
    }

    /// A batch whose input failed validation: a job record that is FAILED from the start, never queued, with
    /// the status the scheduler gives a job whose dataset has a bad row.
    func createFailedJob(_ report: ValidationReport, file: String, input: String, _ account: String) throws -> BatchInferenceJob {
        let id = OpenAIIDs.newJobID()
        let now = Date()
        var job = BatchInferenceJob()
        job.name = ResourceName(account: account, kind: .batchInferenceJob, id: id).description
        job.createTime = Timestamp.string(from: now)
        job.updateTime = job.createTime
        job.createdBy = config.createdBy
        job.state = JobState.failed
        let problem = report.firstProblem ?? Problem(line: 1, reason: "invalid input")
        job.status = ResourceStatus(code: StatusCode.invalidArgument.name,
                                    message: "Dataset has a syntax error: invalid row on \(file):\(problem.line): \(problem.reason)")
        job.model = report.model ?? ""
        job.inputDatasetId = input
        job.precision = .bf16
        job.maxJobDuration = "86400s"
        job.expireTime = Timestamp.string(from: now.addingTimeInterval(86400))
        var lifecycle = JobLifecycle()
        lifecycle.endTime = job.createTime
        job.lifecycle = lifecycle
        try store.locked {
            if store.job(account, id) != nil { throw GatewayError(.alreadyExists, "batch inference job \"\(job.name)\" already exists") }
            try store.saveJob(job, account, id)
        }
        return job
    }

    /// `metadata`: up to 16 string pairs, keys up to 64 characters, values up to 512.
    static func openAIMetadata(_ value: JSONValue?) throws -> JSONValue? {
        guard let value, !value.isNull else { return nil }
        guard let pairs = value.objectValue else {
            throw OpenAIError.badRequest("Invalid type for 'metadata': expected an object.", param: "metadata", code: "invalid_type")
        }
        guard pairs.count <= 16 else {
            throw OpenAIError.badRequest("Invalid 'metadata': too many properties (at most 16).", param: "metadata", code: "invalid_value")
        }
        for (key, v) in pairs {
            guard let text = v.stringValue else {
                throw OpenAIError.badRequest("Invalid type for 'metadata.\(key)': expected a string.", param: "metadata.\(key)", code: "invalid_type")
            }
            guard key.count <= 64, text.count <= 512 else {
                throw OpenAIError.badRequest("Invalid 'metadata.\(key)': keys have at most 64 characters and values at most 512.",
                                             param: "metadata.\(key)", code: "invalid_value")
            }
        }
        return value
    }

    /// `GET /v1/batches?limit=&after=`: newest first, `after` a batch id of the previous page.
    func listOpenAIBatches(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        let limit = try Gateway.openAILimit(request, default: 20, max: 100)
        let jobs = store.jobs(account).sorted { a, b in
            let ta = Timestamp.date(from: a.createTime ?? "") ?? .distantPast, tb = Timestamp.date(from: b.createTime ?? "") ?? .distantPast
            return ta != tb ? ta > tb : a.id > b.id
        }
        var start = 0
        if let after = request.queryValue("after"), !after.isEmpty {
            guard let id = OpenAIIDs.jobID(batchID: after), let i = jobs.firstIndex(where: { $0.id == id }) else {
                throw OpenAIError.badRequest("Invalid 'after': no batch '\(after)'.", param: "after", code: "invalid_value")
            }
            start = i + 1
        }
        let page = jobs[start..<min(jobs.count, start + limit)].map { openAIBatch($0, account) }
        return Gateway.ok(Gateway.openAIList(page, hasMore: start + limit < jobs.count))
    }

    func cancelOpenAIBatch(_ batchID: String, _ account: String) throws -> HTTPResponse {
        let job = try openAIJob(batchID, account)
        let status = Gateway.openAIStatus(job.state)
        if status == "cancelling" { return Gateway.ok(openAIBatch(job, account)) }
        guard !job.isTerminal else {
            throw OpenAIError(status: 409, "Cannot cancel a batch with status '\(status)'.")
        }
        var record = openAIRecords.record(account, job) ?? OpenAIBatchRecord(createTime: job.createTime ?? "")
        record.cancellingAt = Int64(Date().timeIntervalSince1970)
        try openAIRecords.save(record, account, job.id)
        _ = try cancelJob(account, job.id)
        return Gateway.ok(openAIBatch(store.job(account, job.id) ?? job, account))
    }

    /// `limit` between 1 and `max`.
    static func openAILimit(_ request: HTTPRequest, default value: Int, max: Int) throws -> Int {
        guard let text = request.queryValue("limit"), !text.isEmpty else { return value }
        guard let n = Int(text), n >= 1, n <= max else {
            throw OpenAIError.badRequest("Invalid 'limit': expected an integer from 1 to \(max), got '\(text)'.", param: "limit", code: "invalid_value")
        }
        return n
    }

    /// OpenAI's list answer.
    static func openAIList(_ items: [JSONValue], hasMore: Bool) -> JSONValue {
        .object([("object", .string("list")), ("data", .array(items)),
                 ("first_id", items.first?["id"] ?? .null), ("last_id", items.last?["id"] ?? .null),
                 ("has_more", .bool(hasMore))])
    }
}
