// `/v1/files`: upload (multipart, purpose `batch`), list with purpose, order and cursors, get, content (streamed
// from disk, Range honoured) and delete. Each file is a dataset of the OpenAI account.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

extension Gateway {
    /// OpenAI takes batch input files up to 200 MB.
    static let openAIUploadLimit = 200 * 1_000_000

    /// `POST /v1/files`: the `file` part streamed to disk, then a READY dataset holding it.
    func createOpenAIFile(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        let limit = Gateway.openAIUploadLimit
        if let length = request.body.contentLength, length > limit + 64 * 1024 {
            throw OpenAIError(status: 413, "The file is too large: batch input files are at most \(limit) bytes.", param: "file")
        }
        guard let boundary = Multipart.boundary(contentType: request.headers["Content-Type"]) else {
            throw OpenAIError.badRequest("Expected a multipart/form-data body with the parts 'file' and 'purpose'.")
        }
        // Staged outside the store until the purpose is known, so a refused upload leaves no dataset behind.
        let staging = config.dataDir + "/openai/uploads"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let temporary = staging + "/.upload-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw OpenAIError(status: 500, "cannot store the upload", type: "server_error") }
        var kept = false
        defer { close(fd); if !kept { unlink(temporary) } }
        var purpose: String?
        var rows = 0, written = 0
        var lineHasText = false
        let (filename, size) = try Multipart.extractFile(field: "file", boundary: boundary, read: { try request.body.readChunk(max: 1 << 20) },
                                                          sink: { bytes in
            written += bytes.count
            if written > limit { throw OpenAIError(status: 413, "The file is too large: batch input files are at most \(limit) bytes.", param: "file") }
            // Rows are the non-blank lines, counted on the way for the dataset's exampleCount.
            for b in bytes {
                if b == 0x0A { if lineHasText { rows += 1 }; lineHasText = false } else if b != 0x20 && b != 0x0D && b != 0x09 { lineHasText = true }
            }
            do { try AtomicFile.writeAll(fd, bytes, path: temporary) } catch let e as FileError {
                throw OpenAIError(status: 500, "cannot store the upload: \(String(cString: strerror(e.errno)))", type: "server_error")
            }
        }, otherField: { name, value in
            if name == "purpose" { purpose = String(decoding: value, as: UTF8.self) }
        })
        if lineHasText { rows += 1 }
        guard let purpose, !purpose.isEmpty else {
            throw OpenAIError.badRequest("Missing required parameter: 'purpose'.", param: "purpose", code: "missing_required_parameter")
        }
        guard purpose == "batch" else {
            throw OpenAIError.badRequest("Invalid value for 'purpose': '\(purpose)' is not supported by this gateway, which keeps files for the Batch API only: use 'batch'.",
                                         param: "purpose", code: "invalid_value")
        }
        if size > limit { throw OpenAIError(status: 413, "The file is too large: batch input files are at most \(limit) bytes.", param: "file") }
        guard size > 0 else { throw OpenAIError.badRequest("The file is empty.", param: "file", code: "empty_file") }
        fsync(fd)

        let shown = (filename as NSString).lastPathComponent
        let diskName = StoreLayout.isSafeFileName(shown) ? shown : "input.jsonl"
        let id = OpenAIIDs.newFileID()
        let now = Timestamp.now()
        var d = Dataset()
        d.name = ResourceName(account: account, kind: .dataset, id: id).description
        d.displayName = shown.isEmpty ? diskName : shown
        d.createTime = now
        d.updateTime = now
        d.createdBy = config.createdBy
        d.encryptionState = Dataset.encryptionPlaintext
        d.state = DatasetState.ready
        d.exampleCount = Int64(rows)
        d.format = .chat
        d.source = ("userUploaded", .object([]))
        try store.locked {
            if store.dataset(account, id) != nil { throw GatewayError(.alreadyExists, "dataset \"\(d.name)\" already exists") }
            // The file is in place before the record that makes the dataset exist (a folder without a record is
            // never loaded), so nobody sees a READY dataset without its file.
            let dir = store.datasetFilesDir(account, id)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            guard rename(temporary, dir + "/" + diskName) == 0 else { throw OpenAIError(status: 500, "cannot store the upload", type: "server_error") }
            kept = true
            AtomicFile.syncDirectory(dir)
            try store.saveDataset(d, account, id)
        }
        return Gateway.ok(try openAIFileObject(openAIFile(id, account), account))
    }

    /// `GET /v1/files?purpose=&limit=&after=&order=`: newest first unless `order=asc`.
    func listOpenAIFiles(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        let limit = try Gateway.openAILimit(request, default: 10_000, max: 10_000)
        let order = request.queryValue("order").flatMap { $0.isEmpty ? nil : $0 } ?? "desc"
        guard order == "asc" || order == "desc" else {
            throw OpenAIError.badRequest("Invalid value for 'order': '\(order)'. Supported values are: 'asc' and 'desc'.", param: "order", code: "invalid_value")
        }
        let purpose = request.queryValue("purpose").flatMap { $0.isEmpty ? nil : $0 }
        var entries = store.datasets(account).flatMap { openAIFileEntries($0, account) }
        if let purpose { entries = entries.filter { $0.purpose == purpose } }
        entries.sort { a, b in
            let ascending = a.createdAt != b.createdAt ? a.createdAt < b.createdAt : a.id < b.id
            return order == "asc" ? ascending : !ascending
        }
        var start = 0
        if let after = request.queryValue("after"), !after.isEmpty {
            guard let i = entries.firstIndex(where: { $0.id == after }) else {
                throw OpenAIError.badRequest("Invalid 'after': no file '\(after)'.", param: "after", code: "invalid_value")
            }
            start = i + 1
        }
        // A file deleted while the page is made is left out rather than failing the whole list.
        let page = entries[start..<min(entries.count, start + limit)].compactMap { try? openAIFileObject($0, account) }
        return Gateway.ok(Gateway.openAIList(page, hasMore: start + limit < entries.count))
    }

    /// `GET /v1/files/{id}/content`: an input as uploaded, an output or error file in OpenAI's line shape.
    func openAIFileContent(_ request: HTTPRequest, _ id: String, _ account: String) throws -> HTTPResponse {
        let entry = try openAIFile(id, account)
        let path: String
        if entry.kind == .input {
            guard let file = store.datasetFiles(account, entry.datasetID).first else { throw OpenAIError.notFound("No such File object: \(id)", param: "id") }
            path = store.datasetFilesDir(account, entry.datasetID) + "/" + file.name
        } else {
            path = try openAIRendering(entry, account)
        }
        do {
            // The name as uploaded, cut to printable ASCII without quotes so it cannot break the header.
            let name = String(entry.filename.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" })
            return try .file(atPath: path, for: request, contentType: "application/octet-stream",
                             headers: ["Content-Disposition": "attachment; filename=\"\(name.isEmpty ? "file.jsonl" : name)\""])
        } catch {
            throw OpenAIError.notFound("No such File object: \(id)", param: "id")
        }
    }

    /// `DELETE /v1/files/{id}`: the dataset goes, with the same guard as the Fireworks API's delete (not while
    /// an unfinished job uses it). An error file is part of its output dataset and goes with it.
    func deleteOpenAIFile(_ id: String, _ account: String) throws -> HTTPResponse {
        let entry = try openAIFile(id, account)
        if entry.kind == .errors {
            throw OpenAIError.badRequest("File \(id) holds the failed requests of output file \(entry.datasetID) and is deleted with it: delete \(entry.datasetID).",
                                         param: "file_id", code: "invalid_value")
        }
        _ = try deleteDataset(account, entry.datasetID)
        return Gateway.ok(.object([("id", .string(id)), ("object", .string("file")), ("deleted", .bool(true))]))
    }
}
