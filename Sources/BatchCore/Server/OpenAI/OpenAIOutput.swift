// Output and error files in OpenAI's line shape, translated from the engine's `BIJOutputSet.jsonl` and
// `error-data` (which the Fireworks API keeps serving as they are) and kept next to the dataset once made.
import BatchAPI
import BatchEngine
import BatchHTTP
import BatchJSONL
import Foundation

/// One OpenAI output line per engine line:
/// results `{"id": "batch_req_...", "custom_id", "response": {"status_code": 200, "request_id", "body"}, "error": null}`;
/// failures with the backend's status and OpenAI's error body in `response`, and `error {code, message}`;
/// rows an expired or cancelled batch never ran with `"response": null` and `error` `batch_expired` or
/// `batch_cancelled`. Ids are derived from the batch and the custom_id, so every read gives the same bytes.
enum OpenAIOutputLines {
    /// `batch_req_<32 hex>` and `req_<32 hex>` for one row: the two halves of SHA-256(batch id, 0, key).
    static func ids(batchID: String, key: [UInt8]) -> (id: String, requestID: String) {
        let digest = SHA256.hash(Array(batchID.utf8) + [0] + key)
        return ("batch_req_" + hex(digest[0..<16]), "req_" + hex(digest[16..<32]))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// OpenAI's error `type` and `code` for the HTTP status a backend answered a row with.
    static func kind(status: Int) -> (type: String, code: String) {
        switch status {
        case 401: return ("authentication_error", "invalid_api_key")
        case 403: return ("permission_error", "permission_denied")
        case 404: return ("invalid_request_error", "model_not_found")
        case 408, 504: return ("server_error", "request_timeout")
        case 413: return ("invalid_request_error", "request_too_large")
        case 429: return ("rate_limit_error", "rate_limit_exceeded")
        case 400..<500: return ("invalid_request_error", "invalid_request")
        default: return ("server_error", "server_error")
        }
    }

    private static let resultPrefix = Array(#"{"custom_id":"#.utf8)
    private static let responseKey = Array(#","response":"#.utf8)

    /// A `BIJOutputSet.jsonl` line in OpenAI's shape, appended to `out`; false for a line that is not a result.
    static func result(_ line: UnsafeRawBufferPointer, batchID: String, into out: inout [UInt8]) -> Bool {
        // The engine writes `{"custom_id":<string>,"response":<body>}`: both are copied without parsing the body.
        let bytes = line.bindMemory(to: UInt8.self)
        if let (customID, body) = splitResult(bytes) {
            append(customIDJSON: Array(customID), batchID: batchID, status: 200, body: body, error: nil, into: &out)
            return true
        }
        guard let json = try? JSONValue(parsing: line), let response = json["response"], case .object = response else { return false }
        let customID = (json["custom_id"] ?? .null).serialized()
        append(customIDJSON: customID, batchID: batchID, status: 200, body: UnsafeBufferPointer<UInt8>(start: nil, count: 0),
               bodyValue: response, error: nil, into: &out)
        return true
    }

    /// The custom_id token (quotes included) and the response body of a line in the engine's exact form.
    static func splitResult(_ line: UnsafeBufferPointer<UInt8>) -> (Slice<UnsafeBufferPointer<UInt8>>, UnsafeBufferPointer<UInt8>)? {
        let n = line.count
        guard n > resultPrefix.count + responseKey.count + 3, line.starts(with: resultPrefix), line[n - 1] == UInt8(ascii: "}") else { return nil }
        var i = resultPrefix.count
        guard line[i] == UInt8(ascii: "\"") else { return nil }
        i += 1
        while i < n, line[i] != UInt8(ascii: "\"") { i += line[i] == UInt8(ascii: "\\") ? 2 : 1 }
        guard i < n else { return nil }
        let token = line[resultPrefix.count...i]
        let rest = i + 1
        guard rest + responseKey.count < n - 1, line[rest..<(rest + responseKey.count)].elementsEqual(responseKey) else { return nil }
        let start = rest + responseKey.count
        return (token, UnsafeBufferPointer(rebasing: line[start..<(n - 1)]))
    }

    /// An `error-data` line in OpenAI's shape, appended to `out`; returns the row's custom_id ("" when it had
    /// none), or nil for a line that is not an error line.
    static func error(_ line: UnsafeRawBufferPointer, batchID: String, into out: inout [UInt8]) -> String? {
        guard let json = try? JSONValue(parsing: line), let error = json["error"] else { return nil }
        let customID = json["custom_id"] ?? .null
        let code = Int(error["code"]?.int64Value ?? 500)
        let status = (100...599).contains(code) ? code : 500
        let message = error["message"]?.stringValue ?? "the request failed"
        let (type, errorCode) = kind(status: status)
        let body = JSONValue.object([("error", .object([("message", .string(message)), ("type", .string(type)),
                                                        ("param", .null), ("code", .string(errorCode))]))])
        var key = customID.serialized()
        if customID.isNull, let row = json["line"]?.int64Value { key = Array("line:\(row)".utf8) }
        let (id, requestID) = ids(batchID: batchID, key: key)
        out.append(contentsOf: #"{"id":"#.utf8)
        JSONValue.writeString(id, to: &out)
        out.append(contentsOf: #","custom_id":"#.utf8)
        customID.write(to: &out, pretty: false, indent: 0)
        out.append(contentsOf: #","response":{"status_code":"#.utf8)
        out.append(contentsOf: String(status).utf8)
        out.append(contentsOf: #","request_id":"#.utf8)
        JSONValue.writeString(requestID, to: &out)
        out.append(contentsOf: #","body":"#.utf8)
        body.write(to: &out, pretty: false, indent: 0)
        out.append(contentsOf: #"},"error":{"code":"#.utf8)
        JSONValue.writeString(errorCode, to: &out)
        out.append(contentsOf: #","message":"#.utf8)
        JSONValue.writeString(message, to: &out)
        out.append(contentsOf: "}}\n".utf8)
        return customID.stringValue ?? ""
    }

    /// A row an expired or cancelled batch never ran.
    static func unfinished(customID: String, expired: Bool, batchID: String, into out: inout [UInt8]) {
        var token: [UInt8] = []
        JSONValue.writeString(customID, to: &token)
        let (id, _) = ids(batchID: batchID, key: token)
        out.append(contentsOf: #"{"id":"#.utf8)
        JSONValue.writeString(id, to: &out)
        out.append(contentsOf: #","custom_id":"#.utf8)
        out.append(contentsOf: token)
        out.append(contentsOf: #","response":null,"error":{"code":"#.utf8)
        if expired {
            out.append(contentsOf: #""batch_expired","message":"This request could not be executed before the completion window expired."}}"#.utf8)
        } else {
            out.append(contentsOf: #""batch_cancelled","message":"This request was not executed because the batch was cancelled."}}"#.utf8)
        }
        out.append(0x0A)
    }

    private static func append(customIDJSON: [UInt8], batchID: String, status: Int, body: UnsafeBufferPointer<UInt8>,
                               bodyValue: JSONValue? = nil, error: JSONValue?, into out: inout [UInt8]) {
        let (id, requestID) = ids(batchID: batchID, key: customIDJSON)
        out.append(contentsOf: #"{"id":"#.utf8)
        JSONValue.writeString(id, to: &out)
        out.append(contentsOf: #","custom_id":"#.utf8)
        out.append(contentsOf: customIDJSON)
        out.append(contentsOf: #","response":{"status_code":"#.utf8)
        out.append(contentsOf: String(status).utf8)
        out.append(contentsOf: #","request_id":"#.utf8)
        JSONValue.writeString(requestID, to: &out)
        out.append(contentsOf: #","body":"#.utf8)
        if let bodyValue { bodyValue.write(to: &out, pretty: false, indent: 0) } else { out.append(contentsOf: body) }
        out.append(contentsOf: #"},"error":"#.utf8)
        if let error { error.write(to: &out, pretty: false, indent: 0) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: "}\n".utf8)
    }
}

/// Lines gathered in memory and written out a megabyte at a time.
struct OpenAILineWriter {
    let fd: Int32
    let path: String
    var pending: [UInt8] = []

    init(fd: Int32, path: String) { self.fd = fd; self.path = path; pending.reserveCapacity(1 << 20 + 1 << 16) }

    mutating func flush(force: Bool = false) throws {
        guard force || pending.count >= 1 << 20, !pending.isEmpty else { return }
        do { try AtomicFile.writeAll(fd, pending, path: path) } catch {
            throw OpenAIError(status: 500, "cannot write the output file: \(error)", type: "server_error")
        }
        pending.removeAll(keepingCapacity: true)
    }
}

extension Gateway {
    /// The OpenAI rendering of an output dataset's results or errors: made on first use, in one streaming pass,
    /// and kept beside the dataset's record (its job has ended, so the engine's files no longer change; it goes
    /// when the dataset is deleted). Expired and cancelled batches list their unrun rows in the error file.
    func openAIRendering(_ entry: OpenAIFileEntry, _ account: String) throws -> String {
        let path = store.datasetDir(account, entry.datasetID) + (entry.kind == .output ? "/.openai-output.jsonl" : "/.openai-errors.jsonl")
        if access(path, F_OK) == 0 { return path }
        let temporary = path + ".\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OpenAIError.notFound("No such File object: \(entry.id)", param: "id") }
        var renamed = false
        defer { close(fd); if !renamed { unlink(temporary) } }
        var writer = OpenAILineWriter(fd: fd, path: temporary)
        let batchID = OpenAIIDs.batchID(jobID: entry.job?.id ?? entry.datasetID)
        let files = store.datasetFilesDir(account, entry.datasetID)
        if entry.kind == .output {
            try Gateway.forEachLine(files + "/" + OutputFiles.results) { line in
                _ = OpenAIOutputLines.result(line, batchID: batchID, into: &writer.pending)
                try writer.flush()
            }
        } else {
            var handled = CustomIDSet()
            try Gateway.forEachLine(files + "/" + OutputFiles.errors) { line in
                if let id = OpenAIOutputLines.error(line, batchID: batchID, into: &writer.pending), !id.isEmpty { handled.insert(id) }
                try writer.flush()
            }
            if let job = entry.job, job.state == JobState.expired || job.state == JobState.cancelled {
                try appendUnfinishedRows(job, account, outputFiles: files, batchID: batchID, handled: &handled, writer: &writer)
            }
        }
        try writer.flush(force: true)
        guard rename(temporary, path) == 0 else { throw OpenAIError.notFound("No such File object: \(entry.id)", param: "id") }
        renamed = true
        return path
    }

    /// The input rows with no line in the results or errors of this job (or the earlier jobs of its chain).
    private func appendUnfinishedRows(_ job: BatchInferenceJob, _ account: String, outputFiles: String, batchID: String,
                                      handled: inout CustomIDSet, writer: inout OpenAILineWriter) throws {
        guard let input = ResourceName(job.inputDatasetId, kind: .dataset), let file = store.datasetFiles(account, input.id).first else { return }
        let earlier = store.earlierJobs(account, continuedFrom: job.continuedFromJobName).compactMap { j in
            ResourceName(j.outputDatasetId, kind: .dataset).map { store.datasetFilesDir(account, $0.id) }
        }
        do { handled.formUnion(try succeededCustomIDs(inOutputDirectories: [outputFiles] + earlier)) } catch {
            throw OpenAIError(status: 500, "cannot read the batch's results: \(error)", type: "server_error")
        }
        let expired = job.state == JobState.expired
        try Gateway.forEachLine(store.datasetFilesDir(account, input.id) + "/" + file.name) { line in
            guard let row = try? JSONValue(parsing: line), let id = row["custom_id"]?.stringValue, !handled.contains(id) else { return }
            handled.insert(id)
            OpenAIOutputLines.unfinished(customID: id, expired: expired, batchID: batchID, into: &writer.pending)
            try writer.flush()
        }
    }

    /// Each line of a JSONL file (none when it does not exist); lines too long to hold are skipped.
    static func forEachLine(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard access(path, F_OK) == 0 else { return }
        do {
            let reader = try JSONLLineReader(path: path)
            while let line = try reader.nextLine() {
                if !line.isTooLong { try body(line.bytes) }
            }
        } catch let e as DatasetReadError {
            throw OpenAIError(status: 500, "cannot read \((path as NSString).lastPathComponent): \(e)", type: "server_error")
        }
    }
}
