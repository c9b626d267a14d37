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
        case .get(let id): return Gateway.ok(try datasetMask(request).apply(to: dataset(account, id).json, optional: Set(Dataset.sourceMembers)))
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

    /// `readMask` of a GET: the query parameter, in either spelling.
    func datasetMask(_ request: HTTPRequest) throws -> FieldMask {
        try FieldMask(request.queryValue("readMask") ?? request.queryValue("read_mask") ?? "")
    }

    /// Every scalar field of a dataset may be filtered and sorted on.
    static let datasetListFields = ListQuery.scalarPaths(of: Dataset().json)

    func listDatasets(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        let query = try ListQuery(request.query, defaultOrder: "name", fields: Gateway.datasetListFields)
        // The usual walk (by name or time, a state filter) sorts small objects; anything else reads the whole dataset.
        let cheap = query.reads(only: Gateway.cheapDatasetFields)
        return Gateway.ok(try query.page(store.datasets(account), itemsKey: "datasets",
                                         fields: cheap ? Gateway.listFields : { $0.json }, json: \.json))
    }

    static let cheapDatasetFields: Set<String> = ["name", "displayName", "createTime", "updateTime", "state", "format", "exampleCount",
                                                  "sourceJobName"]

    /// The fields a dataset list most often filters and sorts on, without serialising the whole dataset.
    static func listFields(_ d: Dataset) -> JSONValue {
        .object([("name", .string(d.name)), ("displayName", .string(d.displayName)), ("createTime", .string(d.createTime ?? "")),
                 ("updateTime", .string(d.updateTime ?? "")), ("state", .string(d.state.rawValue)), ("format", .string(d.format.rawValue)),
                 ("exampleCount", .string(String(d.exampleCount))), ("sourceJobName", .string(d.sourceJobName))])
    }

    func createDataset(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        let body = try ProtoObject(readJSON(request))
        try body.rejectUnknown(["datasetId", "dataset", "sourceDatasetId", "filter"])
        guard let id = try body.string("datasetId"), !id.isEmpty else { throw GatewayError(.invalidArgument, "datasetId is required") }
        if let problem = ResourceID.problem(id) { throw GatewayError(.invalidArgument, "invalid datasetId \"\(id)\": \(problem)") }
        let raw = body.value("dataset") ?? .object([])
        var d = try Dataset(json: raw, strict: true)
        if !d.externalUrl.isEmpty {
            throw GatewayError(.invalidArgument, "the local gateway reads only uploaded files: externalUrl \"\(d.externalUrl)\" is not supported; upload the file instead (batchctl dataset create \(id) FILE)")
        }
        let fields = try ProtoObject(raw, context: "dataset")
        var source: Dataset?
        if let sourceText = try body.string("sourceDatasetId"), !sourceText.isEmpty {
            if let filter = try body.string("filter"), !filter.trimmingCharacters(in: .whitespaces).isEmpty {
                throw GatewayError(.invalidArgument, "filter is not supported by the local gateway: create the dataset from the whole source dataset, or upload a filtered file")
            }
            let sourceName = try datasetName(sourceText, account, field: "sourceDatasetId")
            guard let found = store.dataset(account, sourceName.id) else {
                throw GatewayError(.invalidArgument, "source dataset \"\(sourceName)\" not found")
            }
            guard found.state == .ready else {
                throw GatewayError(.failedPrecondition, "source dataset \"\(sourceName)\" is \(found.state.rawValue), not READY")
            }
            source = found
            if d.source == nil {
                d.source = ("transformed", .object([("sourceDatasetId", .string(sourceName.description)),
                                                    ("originalFormat", .string(found.format.rawValue))]))
            }
        } else if let filter = try body.string("filter"), !filter.isEmpty {
            throw GatewayError(.invalidArgument, "filter applies only with sourceDatasetId")
        }
        if d.source == nil { d.source = ("userUploaded", .object([])) }
        if source == nil, d.source?.0 == "userUploaded", fields.value("exampleCount") == nil {
            throw GatewayError(.invalidArgument, "error validating dataset: example_count is required for uploaded datasets")
        }
        if d.exampleCount < 0 { throw GatewayError(.invalidArgument, "error validating dataset: example_count must not be negative") }
        let name = ResourceName(account: account, kind: .dataset, id: id)
        let now = Timestamp.now()
        d.name = name.description
        d.createTime = now
        d.updateTime = now
        d.createdBy = config.createdBy
        d.state = DatasetState.uploading
        d.status = ResourceStatus()
        // Computed by the gateway, never taken from the request.
        d.estimatedTokenCount = 0
        d.averageTurnCount = 0
        d.encryptionState = Dataset.encryptionPlaintext
        if let source {
            // A copy of the source's files, READY at once, with the source's counts.
            if d.format == .unspecified { d.format = source.format }
            d.exampleCount = source.exampleCount
            d.estimatedTokenCount = source.estimatedTokenCount
            d.averageTurnCount = source.averageTurnCount
            d.state = .ready
        }
        try store.locked(.dataset(account, id), .dataset(account, source?.id ?? id)) {
            if store.dataset(account, id) != nil { throw GatewayError(.alreadyExists, "dataset \"\(name)\" already exists") }
            if let source {
                let from = store.datasetFilesDir(account, source.id), to = store.datasetFilesDir(account, id)
                do {
                    try FileManager.default.createDirectory(atPath: to, withIntermediateDirectories: true)
                    for file in store.datasetFiles(account, source.id) {
                        try FileManager.default.copyItem(atPath: from + "/" + file.name, toPath: to + "/" + file.name)
                    }
                } catch {
                    try? FileManager.default.removeItem(atPath: store.datasetDir(account, id))
                    throw GatewayError(.internal, "cannot copy the files of \(source.name): \(error)")
                }
            }
            try store.saveDataset(d, account, id)
        }
        return Gateway.ok(d.json)
    }

    /// What `datasets.update` of the official SDK can send, by what the gateway does with it.
    static let mutableDatasetFields = ["displayName", "exampleCount", "format", "externalUrl", "sourceJobName"]
    static let outputOnlyDatasetFields = ["name", "createTime", "updateTime", "createdBy", "state", "status", "estimatedTokenCount",
                                          "averageTurnCount", "encryptionState"]

    func updateDataset(_ request: HTTPRequest, _ account: String, _ id: String) throws -> HTTPResponse {
        let body = try ProtoObject(readJSON(request))
        try body.rejectUnknown(Gateway.mutableDatasetFields + Gateway.outputOnlyDatasetFields + Dataset.sourceMembers)
        let updated: Dataset = try store.locked(.dataset(account, id)) {
            var d = try dataset(account, id)
            try requireNoUnfinishedJob(account, id)
            for (key, value) in body.members where !value.isNull {
                let field = ProtoObject.camelCase(key)
                if Dataset.sourceMembers.contains(field) {
                    // The source oneof says where the data came from: it is fixed at create. Sending the member the
                    // dataset already has, unchanged, is not a change.
                    guard let current = d.source, current.0 == field, current.1 == value else {
                        throw GatewayError(.invalidArgument, "the source of a dataset (\(field)) cannot be changed after it is created")
                    }
                } else if Gateway.outputOnlyDatasetFields.contains(field) {
                    // Echoing the current value back (a read-modify-write client) is accepted; changing it is not.
                    guard d.json[field] == value || (field == "name" && value.stringValue == d.name) else {
                        throw GatewayError(.invalidArgument, "field \(field) is output only: the gateway sets it")
                    }
                }
            }
            if let name = try body.string("displayName") { d.displayName = name }
            if let count = try body.int64("exampleCount") {
                guard count >= 0 else { throw GatewayError(.invalidArgument, "exampleCount must not be negative") }
                d.exampleCount = count
            }
            if let format: DatasetFormat = try body.wireEnum("format") {
                try ProtoObject.requireRecognized(format, field: "format")
                d.format = format
            }
            if let url = try body.string("externalUrl") { d.externalUrl = url }
            if let job = try body.string("sourceJobName") {
                guard job.isEmpty || ResourceName(job, kind: .batchInferenceJob) != nil else {
                    throw GatewayError(.invalidArgument, "invalid sourceJobName \"\(job)\": expected accounts/ACCOUNT/batchInferenceJobs/ID")
                }
                d.sourceJobName = job
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
        let statistics = Gateway.statistics(of: [temporary])
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
            (d.estimatedTokenCount, d.averageTurnCount) = statistics
            d.encryptionState = Dataset.encryptionPlaintext
            d.updateTime = Timestamp.now()
            try store.saveDataset(d, account, id)
            // A direct upload replaces whatever a signed-URL session announced: its URLs write nothing now.
            unlink(uploadSessionPath(account, id))
        }
        let created = Int64(Date().timeIntervalSince1970)
        return Gateway.ok(.object([("id", .string(ResourceName(account: account, kind: .dataset, id: id).description)),
                                   ("object", .string("file")), ("bytes", .int(size)), ("created_at", .int(created)),
                                   ("filename", .string(name)), ("purpose", .string("dataset"))]))
    }

    /// `estimatedTokenCount` and `averageTurnCount` as the validator counts them over `paths` (unreadable or
    /// invalid rows count as they are; validity is the job's VALIDATING step's business).
    static func statistics(of paths: [String]) -> (tokens: Int64, averageTurns: Double) {
        var tokens = 0, messages = 0, rows = 0, chat = true
        for path in paths {
            guard let report = try? DatasetValidator(DatasetValidator.Options(keptProblems: 0)).validate(path: path) else { continue }
            tokens += report.estimatedTokens
            messages += report.messages
            rows += report.rows
            if report.format != .chat { chat = false }
        }
        return (Int64(tokens), rows > 0 && chat ? Double(messages) / Double(rows) : 0)
    }

    func getUploadEndpoint(_ request: HTTPRequest, _ account: String, _ id: String) throws -> HTTPResponse {
        _ = try dataset(account, id)
        try requireNoUnfinishedJob(account, id)
        let body = try ProtoObject(readJSON(request))
        try body.rejectUnknown(["filenameToSize", "readMask"])
        let mask = try FieldMask(try body.string("readMask") ?? request.queryValue("readMask") ?? "")
        guard let files = body.value("filenameToSize")?.objectValue, !files.isEmpty else {
            throw GatewayError(.invalidArgument, "filenameToSize must name at least one file")
        }
        var announced: [(name: String, size: Int64)] = []
        for (name, sizeValue) in files {
            guard StoreLayout.isSafeFileName(name) else { throw GatewayError(.invalidArgument, "invalid file name \"\(name)\"") }
            guard let size = sizeValue.int64Value, size >= 0 else { throw GatewayError(.invalidArgument, "invalid size for \"\(name)\"") }
            guard !announced.contains(where: { $0.name == name }) else { throw GatewayError(.invalidArgument, "file \"\(name)\" is named twice") }
            announced.append((name, size))
        }
        // Each call is a new session: its generation is in every URL it mints, and the previous session's URLs
        // stop working.
        let session = UploadSession(generation: String(UInt64.random(in: 1...UInt64.max)), files: announced)
        try store.locked(.dataset(account, id)) {
            var d = try dataset(account, id)
            try requireNoUnfinishedJob(account, id)
            // Uploading again into a READY dataset (`batchctl dataset upload`, as `:upload` may) takes it back to
            // UPLOADING first: signed URLs only ever write a dataset that is UPLOADING, and its files change only
            // at validateUpload.
            if d.state != .uploading {
                d.state = .uploading
                d.updateTime = Timestamp.now()
                try store.saveDataset(d, account, id)
            }
            try saveUploadSession(session, account, id)
        }
        let urls: [(String, JSONValue)] = announced.map { file in
            (file.name, .string(signedURL(StorageObject(account: account, dataset: id, file: file.name), upload: file.size,
                                          generation: session.generation, lifetime: config.uploadURLLifetime)))
        }
        return Gateway.ok(try mask.apply(to: .object([("filenameToSignedUrls", .object(urls))])))
    }

    func validateUpload(_ request: HTTPRequest, _ account: String, _ id: String) throws -> HTTPResponse {
        _ = try readJSON(request)
        try requireNoUnfinishedJob(account, id)
        guard let session = uploadSession(account, id) else {
            _ = try dataset(account, id)
            throw GatewayError(.failedPrecondition, "no upload to validate: call :getUploadEndpoint first")
        }
        let dir = store.datasetFilesDir(account, id)
        // Counted outside the lock (it reads every byte), then committed only if the session is still the same.
        let statistics = Gateway.statistics(of: session.files.map { dir + "/" + $0.name })
        try store.locked(.dataset(account, id)) {
            var d = try dataset(account, id)
            try requireNoUnfinishedJob(account, id)
            guard uploadSession(account, id) == session else {
                throw GatewayError(.aborted, "the upload of \(d.name) changed while it was being validated; validate again")
            }
            let present = Dictionary(store.datasetFiles(account, id).map { ($0.name, $0.size) }, uniquingKeysWith: { a, _ in a })
            for (name, size) in session.files {
                guard session.uploaded.contains(name), let got = present[name] else {
                    throw GatewayError(.failedPrecondition, "file \"\(name)\" was not uploaded")
                }
                guard got == size else { throw GatewayError(.failedPrecondition, "file \"\(name)\" has \(got) bytes, \(size) announced") }
                guard got > 0 else { throw GatewayError(.failedPrecondition, "file \"\(name)\" is empty") }
            }
            // Each getUploadEndpoint call replaces the file set: files not announced go.
            let names = Set(session.files.map(\.name))
            for f in store.datasetFiles(account, id) where !names.contains(f.name) { unlink(dir + "/" + f.name) }
            d.state = DatasetState.ready
            (d.estimatedTokenCount, d.averageTurnCount) = statistics
            d.encryptionState = Dataset.encryptionPlaintext
            d.updateTime = Timestamp.now()
            try store.saveDataset(d, account, id)
            unlink(uploadSessionPath(account, id))
        }
        return Gateway.ok(.object([]))
    }

    func getDownloadEndpoint(_ request: HTTPRequest, _ account: String, _ id: String) throws -> HTTPResponse {
        if (request.body.contentLength ?? 0) > 0 || request.body.isChunked {
            throw GatewayError(.invalidArgument, "getDownloadEndpoint takes no request body")
        }
        _ = try dataset(account, id)
        let mask = try datasetMask(request)
        let lineage = request.queryValue("downloadLineage").map { $0 == "true" || $0 == "1" } ?? false
        var datasetIDs = [id]
        var broken: [String] = []
        if lineage { (datasetIDs, broken) = lineageDatasets(account, id) }
        var urls: [(String, JSONValue)] = []
        for dsID in datasetIDs {
            guard let d = store.dataset(account, dsID) else { continue }
            for file in store.datasetFiles(account, dsID) {
                let url = signedURL(StorageObject(account: account, dataset: dsID, file: file.name), upload: nil,
                                    generation: Gateway.generation(of: d), lifetime: config.downloadURLLifetime)
                urls.append(("dataset/\(dsID)/\(file.name)", .string(url)))
            }
        }
        var response = Gateway.ok(try mask.apply(to: .object([("filenameToSignedUrls", .object(urls))])))
        // The body stays Fireworks' shape; what could not be followed rides in a header batchctl reads.
        if !broken.isEmpty { response.headers[BatchctlHeaders.lineageWarning] = broken.joined(separator: " | ") }
        return response
    }
}
