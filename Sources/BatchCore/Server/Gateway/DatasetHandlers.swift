// The dataset routes (gateway-api.md §2): CRUD, `:upload`, the signed-URL upload and `:getDownloadEndpoint`.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

extension Gateway {
    func serve(_ route: DatasetRoute, _ request: HTTPRequest, account: String) throws -> HTTPResponse {
        switch route {
        case .list: return try listDatasets(request, account)
        case .create: return try createDataset(request, account)
        case .get(let id): return Gateway.ok(try dataset(account, id).json)
        case .update(let id): return try updateDataset(request, account, id)
        case .delete(let id): return try deleteDataset(account, id)
        case .upload(let id): return try upload(request, account, id)
        case .getUploadEndpoint(let id): return try getUploadEndpoint(request, account, id)
        case .validateUpload(let id): return try validateUpload(request, account, id)
        case .getDownloadEndpoint(let id): return try getDownloadEndpoint(request, account, id)
        }
    }

    func dataset(_ account: String, _ id: String) throws -> Dataset {
        guard let d = store.dataset(account, id) else { throw notFound(.dataset, account, id) }
        return d
    }

    static let datasetListFields: Set<String> = ["name", "displayName", "createTime", "updateTime", "state", "format",
                                                  "exampleCount", "sourceJobName"]

    func listDatasets(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        let query = try ListQuery(request.query, defaultOrder: "name", fields: Gateway.datasetListFields)
        return Gateway.ok(query.page(store.datasets(account), itemsKey: "datasets", fields: Gateway.listFields, json: \.json))
    }

    /// The fields a dataset list filters and sorts on, without serialising the whole dataset.
    static func listFields(_ d: Dataset) -> JSONValue {
        .object([("name", .string(d.name)), ("displayName", .string(d.displayName)), ("createTime", .string(d.createTime ?? "")),
                 ("updateTime", .string(d.updateTime ?? "")), ("state", .string(d.state.rawValue)), ("format", .string(d.format.rawValue)),
                 ("exampleCount", .string(String(d.exampleCount))), ("sourceJobName", .string(d.sourceJobName))])
    }

    func createDataset(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        let body = try ProtoObject(readJSON(request))
        try body.rejectUnknown(["datasetId", "dataset"])
        guard let id = try body.string("datasetId"), !id.isEmpty else { throw GatewayError(.invalidArgument, "datasetId is required") }
        if let problem = ResourceID.problem(id) { throw GatewayError(.invalidArgument, "invalid datasetId \"\(id)\": \(problem)") }
        let raw = body.value("dataset") ?? .object([])
        var d = try Dataset(json: raw, strict: true)
        if !d.externalUrl.isEmpty {
            throw GatewayError(.invalidArgument, "the local gateway reads only uploaded files: externalUrl \"\(d.externalUrl)\" is not supported; upload the file instead (batchctl dataset create \(id) FILE)")
        }
        let fields = try ProtoObject(raw, context: "dataset")
        if d.source == nil { d.source = ("userUploaded", .object([])) }
        if d.source?.0 == "userUploaded", fields.value("exampleCount") == nil {
            throw GatewayError(.invalidArgument, "error validating dataset: example_count is required for uploaded datasets")
        }
        if d.exampleCount < 0 { throw GatewayError(.invalidArgument, "error validating dataset: example_count must not be negative") }
        let name = ResourceName(account: account, kind: .dataset, id: id)
        let now = Timestamp.now()
        d.name = name.description
        d.createTime = now
        d.updateTime = now
        d.createdBy = config.defaultAccount
        d.state = DatasetState.uploading
        d.status = ResourceStatus()
        try store.locked(.dataset(account, id)) {
            if store.dataset(account, id) != nil { throw GatewayError(.alreadyExists, "dataset \"\(name)\" already exists") }
            try store.saveDataset(d, account, id)
        }
        return Gateway.ok(d.json)
    }

    func updateDataset(_ request: HTTPRequest, _ account: String, _ id: String) throws -> HTTPResponse {
        let body = try ProtoObject(readJSON(request))
        try body.rejectUnknown(["displayName", "name", "exampleCount", "format"])
        let updated: Dataset = try store.locked(.dataset(account, id)) {
            var d = try dataset(account, id)
            try requireNoUnfinishedJob(account, id)
            if let name = try body.string("displayName") { d.displayName = name }
            if let count = try body.int64("exampleCount") {
                guard count >= 0 else { throw GatewayError(.invalidArgument, "exampleCount must not be negative") }
                d.exampleCount = count
            }
            if let format: DatasetFormat = try body.wireEnum("format") {
                try ProtoObject.requireRecognized(format, field: "format")
                d.format = format
            }
            d.updateTime = Timestamp.now()
            try store.saveDataset(d, account, id)
            return d
        }
        return Gateway.ok(updated.json)
    }

    func deleteDataset(_ account: String, _ id: String) throws -> HTTPResponse {
        try store.locked(.dataset(account, id)) {
            _ = try dataset(account, id)
            try requireNoUnfinishedJob(account, id)
            try store.deleteDataset(account, id)
        }
        return Gateway.ok(.object([]))
    }

    /// `:upload`: the multipart `file` part streamed to disk, then the dataset is READY with that one file.
    func upload(_ request: HTTPRequest, _ account: String, _ id: String) throws -> HTTPResponse {
        let before = try dataset(account, id)
        try requireNoUnfinishedJob(account, id)
        if let length = request.body.contentLength, length > config.directUploadLimit + 64 * 1024 {
            throw GatewayError(.invalidArgument, "file too large for :upload (limit \(config.directUploadLimit) bytes); use :getUploadEndpoint", httpStatus: 413)
        }
        guard let boundary = Multipart.boundary(contentType: request.headers["Content-Type"]) else {
            throw GatewayError(.invalidArgument, "expected multipart/form-data with a boundary")
        }
        let dir = store.datasetFilesDir(account, id)
        try Store.makeDirectory(dir)
        let temporary = dir + "/.upload-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileError("create", temporary, errno: errno) }
        var kept = false
        defer { close(fd); if !kept { unlink(temporary) } }
        let limit = config.directUploadLimit
        var received = 0
        let (filename, size) = try Multipart.extractFile(field: "file", boundary: boundary, read: { try request.body.readChunk(max: 1 << 20) },
                                                          sink: { bytes in
            // The cap holds while the body streams (chunked bodies declare no length): nothing past it touches the disk.
            received += bytes.count
            if received > limit { throw GatewayError(.invalidArgument, "file too large for :upload (limit \(limit) bytes); use :getUploadEndpoint", httpStatus: 413) }
            try AtomicFile.writeAll(fd, bytes, path: temporary)
        })
        if size > limit { throw GatewayError(.invalidArgument, "file too large for :upload (limit \(limit) bytes)", httpStatus: 413) }
        let base = (filename as NSString).lastPathComponent
        let name = base.isEmpty ? "input.jsonl" : base
        guard StoreLayout.isSafeFileName(name) else { throw GatewayError(.invalidArgument, "invalid file name \"\(filename)\"") }
        guard size > 0 else { throw GatewayError(.invalidArgument, "the uploaded file is empty") }
        guard fsync(fd) == 0 else { throw FileError("fsync", temporary, errno: errno) }
        try store.locked(.dataset(account, id)) {
            // Compare and set: the same dataset (not deleted and made again meanwhile), still used by no job.
            var d = try dataset(account, id)
            guard d.createTime == before.createTime else { throw notFound(.dataset, account, id) }
            try requireNoUnfinishedJob(account, id)
            for old in store.datasetFiles(account, id) where old.name != name { unlink(dir + "/" + old.name) }
            guard rename(temporary, dir + "/" + name) == 0 else { throw FileError("rename to", dir + "/" + name, errno: errno) }
            kept = true
            AtomicFile.syncDirectory(dir)
            d.state = DatasetState.ready
            d.updateTime = Timestamp.now()
            try store.saveDataset(d, account, id)
        }
        let created = Int64(Date().timeIntervalSince1970)
        return Gateway.ok(.object([("id", .string(ResourceName(account: account, kind: .dataset, id: id).description)),
                                   ("object", .string("file")), ("bytes", .int(size)), ("created_at", .int(created)),
                                   ("filename", .string(name)), ("purpose", .string("dataset"))]))
    }

    func pendingUploadsPath(_ account: String, _ id: String) -> String { store.datasetDir(account, id) + "/uploads.json" }

    func getUploadEndpoint(_ request: HTTPRequest, _ account: String, _ id: String) throws -> HTTPResponse {
        _ = try dataset(account, id)
        try requireNoUnfinishedJob(account, id)
        let body = try ProtoObject(readJSON(request))
        try body.rejectUnknown(["filenameToSize"])
        guard let files = body.value("filenameToSize")?.objectValue, !files.isEmpty else {
            throw GatewayError(.invalidArgument, "filenameToSize must name at least one file")
        }
        let expires = Int64(Date().timeIntervalSince1970 + config.uploadURLLifetime)
        var announced: [(String, JSONValue)] = []
        var urls: [(String, JSONValue)] = []
        for (name, sizeValue) in files {
            guard StoreLayout.isSafeFileName(name) else { throw GatewayError(.invalidArgument, "invalid file name \"\(name)\"") }
            guard let size = sizeValue.int64Value, size >= 0 else { throw GatewayError(.invalidArgument, "invalid size for \"\(name)\"") }
            announced.append((name, .string(String(size))))
            let token = signer.token(for: SignedFileToken(operation: .upload, account: account, dataset: id, file: name, size: size, expires: expires))
            urls.append((name, .string("\(baseURL(request))/signed/upload/\(token)")))
        }
        try store.locked(.dataset(account, id)) {
            _ = try dataset(account, id)
            try requireNoUnfinishedJob(account, id)
            try AtomicFile.write(JSONValue.object(announced).serialized(), to: pendingUploadsPath(account, id), mode: 0o600)
        }
        return Gateway.ok(.object([("filenameToSignedUrls", .object(urls))]))
    }

    func validateUpload(_ request: HTTPRequest, _ account: String, _ id: String) throws -> HTTPResponse {
        _ = try readJSON(request)
        try store.locked(.dataset(account, id)) {
            var d = try dataset(account, id)
            try requireNoUnfinishedJob(account, id)
            guard let data = FileManager.default.contents(atPath: pendingUploadsPath(account, id)),
                  let announced = try? JSONValue(parsing: [UInt8](data)).objectValue else {
                throw GatewayError(.failedPrecondition, "no upload to validate: call :getUploadEndpoint first")
            }
            let present = Dictionary(store.datasetFiles(account, id).map { ($0.name, $0.size) }, uniquingKeysWith: { a, _ in a })
            for (name, sizeValue) in announced {
                let size = sizeValue.int64Value ?? -1
                guard let got = present[name] else { throw GatewayError(.failedPrecondition, "file \"\(name)\" was not uploaded") }
                guard got == size else { throw GatewayError(.failedPrecondition, "file \"\(name)\" has \(got) bytes, \(size) announced") }
                guard got > 0 else { throw GatewayError(.failedPrecondition, "file \"\(name)\" is empty") }
            }
            // Each getUploadEndpoint call replaces the file set: files not announced go.
            let names = Set(announced.map(\.0))
            for f in store.datasetFiles(account, id) where !names.contains(f.name) { unlink(store.datasetFilesDir(account, id) + "/" + f.name) }
            d.state = DatasetState.ready
            d.updateTime = Timestamp.now()
            try store.saveDataset(d, account, id)
            unlink(pendingUploadsPath(account, id))
        }
        return Gateway.ok(.object([]))
    }

    func getDownloadEndpoint(_ request: HTTPRequest, _ account: String, _ id: String) throws -> HTTPResponse {
        if (request.body.contentLength ?? 0) > 0 || request.body.isChunked {
            throw GatewayError(.invalidArgument, "getDownloadEndpoint takes no request body")
        }
        _ = try dataset(account, id)
        let lineage = request.queryValue("downloadLineage").map { $0 == "true" || $0 == "1" } ?? false
        var datasetIDs = [id]
        var broken: [String] = []
        if lineage { (datasetIDs, broken) = lineageDatasets(account, id) }
        let expires = Int64(Date().timeIntervalSince1970 + config.downloadURLLifetime)
        var urls: [(String, JSONValue)] = []
        for dsID in datasetIDs {
            for file in store.datasetFiles(account, dsID) {
                let token = signer.token(for: SignedFileToken(operation: .download, account: account, dataset: dsID, file: file.name, size: 0, expires: expires))
                urls.append(("dataset/\(dsID)/\(file.name)", .string("\(baseURL(request))/signed/download/\(token)")))
            }
        }
        var response = Gateway.ok(.object([("filenameToSignedUrls", .object(urls))]))
        // The body stays Fireworks' shape; what could not be followed rides in a header batchctl reads.
        if !broken.isEmpty { response.headers[BatchctlHeaders.lineageWarning] = broken.joined(separator: " | ") }
        return response
    }
}
