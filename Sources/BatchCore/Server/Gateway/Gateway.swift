// The local gateway's REST surface: authentication, routing of /v1/accounts/{a}/..., and the dataset, job,
// upload and download handlers of gateway-api.md.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

public struct GatewayConfiguration: Sendable {
    public var dataDir: String
    public var apiKey: String?
    public var defaultAccount = "local"
    public var minJobDuration: Double = 12 * 3600
    public var maxJobDuration: Double = 72 * 3600
    public var directUploadLimit = 150 * 1_000_000
    public var uploadURLLifetime: Double = 3600
    public var downloadURLLifetime: Double = 600
    /// Testing: answer this status to the first `count` API requests.
    public var injectedFault: (status: Int, count: Int)?

    public init(dataDir: String) { self.dataDir = dataDir }
}

final class Gateway: @unchecked Sendable {
    let config: GatewayConfiguration
    let store: Store
    let signer: URLSigner
    let scheduler: JobScheduler
    private let faultLock = NSLock()
    private var faultsLeft: Int

    init(config: GatewayConfiguration, store: Store, scheduler: JobScheduler) throws {
        self.config = config
        self.store = store
        self.scheduler = scheduler
        self.signer = URLSigner(key: try Gateway.signingKey(dataDir: config.dataDir))
        self.faultsLeft = config.injectedFault?.count ?? 0
    }

    /// A random key made once per data dir (so URLs survive a restart) and readable only by its owner.
    static func signingKey(dataDir: String) throws -> [UInt8] {
        let path = dataDir + "/signing.key"
        if let data = FileManager.default.contents(atPath: path), data.count >= 32 { return [UInt8](data) }
        var key = [UInt8](repeating: 0, count: 32)
        for i in 0..<32 { key[i] = UInt8.random(in: 0...255) }
        try AtomicFile.write(key, to: path)
        chmod(path, 0o600)
        return key
    }

    // MARK: entry

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        do {
            return try route(request)
        } catch let e as GatewayError {
            return Gateway.errorResponse(e)
        } catch let e as ProtoJSONError {
            return Gateway.errorResponse(GatewayError(.invalidArgument, e.message))
        } catch let e as HTTPBodyError {
            return Gateway.errorResponse(GatewayError(.invalidArgument, e.description, httpStatus: e.description.contains("large") ? 413 : 400))
        } catch let e as MultipartError {
            return Gateway.errorResponse(GatewayError(.invalidArgument, e.message))
        } catch {
            return Gateway.errorResponse(GatewayError(.internal, "\(error)"))
        }
    }

    static func errorResponse(_ e: GatewayError) -> HTTPResponse {
        .json(e.json.serialized(), status: HTTPStatus(e.httpStatus))
    }

    static func ok(_ value: JSONValue) -> HTTPResponse { .json(value.serialized()) }

    func route(_ request: HTTPRequest) throws -> HTTPResponse {
        let seg = request.pathSegments
        if seg.count == 3, seg[0] == "signed" { return try signedFile(request, operation: seg[1], token: seg[2]) }
        try authenticate(request)
        try injectFault()
        if seg == ["verifyApiKey"] {
            guard request.method == "GET" else { throw methodNotAllowed(request) }
            var response = Gateway.ok(.object([]))
            response.headers["x-fireworks-account-id"] = config.defaultAccount
            return response
        }
        guard seg.count >= 4, seg[0] == "v1", seg[1] == "accounts" else {
            throw GatewayError(.notFound, "no route for \(request.method) \(request.rawPath)")
        }
        let account = seg[2]
        if let problem = ResourceID.accountProblem(account) { throw GatewayError(.invalidArgument, "invalid account \"\(account)\": \(problem)") }
        let collection = seg[3]
        guard collection == "datasets" || collection == "batchInferenceJobs" else {
            throw GatewayError(.notFound, "no route for \(request.method) \(request.rawPath)")
        }
        if seg.count == 4 {
            switch (collection, request.method) {
            case ("datasets", "GET"): return try listDatasets(request, account)
            case ("datasets", "POST"): return try createDataset(request, account)
            case ("batchInferenceJobs", "GET"): return try listJobs(request, account)
            case ("batchInferenceJobs", "POST"): return try createJob(request, account)
            default: throw methodNotAllowed(request)
            }
        }
        guard seg.count == 5 else { throw GatewayError(.notFound, "no route for \(request.method) \(request.rawPath)") }
        var id = seg[4]
        var verb: String?
        if let colon = id.firstIndex(of: ":") {
            verb = String(id[id.index(after: colon)...])
            id = String(id[..<colon])
        }
        if let problem = ResourceID.problem(id) { throw GatewayError(.invalidArgument, "invalid resource id \"\(id)\": \(problem)") }
        switch (collection, verb, request.method) {
        case ("datasets", nil, "GET"): return Gateway.ok(try dataset(account, id).json)
        case ("datasets", nil, "PATCH"): return try updateDataset(request, account, id)
        case ("datasets", nil, "DELETE"): return try deleteDataset(account, id)
        case ("datasets", "upload", "POST"): return try upload(request, account, id)
        case ("datasets", "getUploadEndpoint", "POST"): return try getUploadEndpoint(request, account, id)
        case ("datasets", "validateUpload", "POST"): return try validateUpload(request, account, id)
        case ("datasets", "getDownloadEndpoint", "GET"): return try getDownloadEndpoint(request, account, id)
        case ("datasets", "getDownloadEndpoint", _):
            throw GatewayError(.invalidArgument, "getDownloadEndpoint takes GET with no body", httpStatus: 405)
        case ("batchInferenceJobs", nil, "GET"):
            guard let bytes = store.jobJSON(account, id) else { throw notFound(.batchInferenceJob, account, id) }
            return .json(bytes)
        case ("batchInferenceJobs", nil, "DELETE"): return try deleteJob(account, id)
        case ("batchInferenceJobs", "cancel", "POST"): return try cancelJob(account, id)
        default:
            if let verb, !["upload", "getUploadEndpoint", "validateUpload", "getDownloadEndpoint", "cancel"].contains(verb) {
                throw GatewayError(.notFound, "unknown method \":\(verb)\"")
            }
            throw methodNotAllowed(request)
        }
    }

    func methodNotAllowed(_ request: HTTPRequest) -> GatewayError {
        GatewayError(.unimplemented, "\(request.method) is not supported on \(request.rawPath)", httpStatus: 405)
    }

    func notFound(_ kind: ResourceKind, _ account: String, _ id: String) -> GatewayError {
        GatewayError(.notFound, "\(kind.noun) \"\(ResourceName(account: account, kind: kind, id: id))\" not found")
    }

    /// With an API key configured: 401 without a bearer key, 403 with a wrong one.
    func authenticate(_ request: HTTPRequest) throws {
        guard let expected = config.apiKey else { return }
        guard let header = request.headers["Authorization"], header.lowercased().hasPrefix("bearer "),
              !header.dropFirst(7).trimmingCharacters(in: .whitespaces).isEmpty else {
            throw GatewayError(.unauthenticated, "missing API key: send Authorization: Bearer <key>")
        }
        let given = Array(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8)
        guard constantTimeEqual(SHA256.hash(given), SHA256.hash(Array(expected.utf8))) else {
            throw GatewayError(.permissionDenied, "invalid API key")
        }
    }

    func injectFault() throws {
        guard let fault = config.injectedFault else { return }
        faultLock.lock()
        let fire = faultsLeft > 0
        if fire { faultsLeft -= 1 }
        faultLock.unlock()
        if fire { throw GatewayError(StatusCode(httpStatus: fault.status), "injected fault", httpStatus: fault.status) }
    }

    func readJSON(_ request: HTTPRequest, limit: Int = 1 << 20) throws -> JSONValue {
        let bytes = try request.body.readAll(limit: limit)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .object([]) }
        do { return try JSONValue(parsing: bytes) } catch { throw GatewayError(.invalidArgument, "invalid JSON body: \(error)") }
    }

    func baseURL(_ request: HTTPRequest) -> String {
        let host = request.headers["Host"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        return "http://\(host)"
    }

    // MARK: datasets

    func dataset(_ account: String, _ id: String) throws -> Dataset {
        guard let d = store.dataset(account, id) else { throw notFound(.dataset, account, id) }
        return d
    }

    static let datasetListFields: Set<String> = ["name", "displayName", "createTime", "updateTime", "state", "format",
                                                  "exampleCount", "sourceJobName"]

    func listDatasets(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        let query = try ListQuery(request.query, defaultOrder: "name", fields: Gateway.datasetListFields)
        return Gateway.ok(query.page(store.datasets(account).map(\.json), itemsKey: "datasets"))
    }

    func createDataset(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        let body = try ProtoObject(readJSON(request))
        try body.rejectUnknown(["datasetId", "dataset"])
        guard let id = try body.string("datasetId"), !id.isEmpty else { throw GatewayError(.invalidArgument, "datasetId is required") }
        if let problem = ResourceID.problem(id) { throw GatewayError(.invalidArgument, "invalid datasetId \"\(id)\": \(problem)") }
        let raw = body.value("dataset") ?? .object([])
        var d = try Dataset(json: raw, strict: true)
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
        try store.locked {
            if store.dataset(account, id) != nil { throw GatewayError(.alreadyExists, "dataset \"\(name)\" already exists") }
            try store.saveDataset(d, account, id)
        }
        return Gateway.ok(d.json)
    }

    func updateDataset(_ request: HTTPRequest, _ account: String, _ id: String) throws -> HTTPResponse {
        let body = try ProtoObject(readJSON(request))
        try body.rejectUnknown(["displayName", "name", "exampleCount", "format"])
        let updated: Dataset = try store.locked {
            var d = try dataset(account, id)
            if let name = try body.string("displayName") { d.displayName = name }
            if let count = try body.int64("exampleCount") {
                guard count >= 0 else { throw GatewayError(.invalidArgument, "exampleCount must not be negative") }
                d.exampleCount = count
            }
            if let format = try body.string("format") {
                guard BatchAPI.DatasetFormat.all.contains(format) else { throw GatewayError(.invalidArgument, "invalid value for enum field format: \"\(format)\"") }
                d.format = format
            }
            d.updateTime = Timestamp.now()
            try store.saveDataset(d, account, id)
            return d
        }
        return Gateway.ok(updated.json)
    }

    func deleteDataset(_ account: String, _ id: String) throws -> HTTPResponse {
        try store.locked {
            _ = try dataset(account, id)
            let name = ResourceName(account: account, kind: .dataset, id: id).description
            if let user = store.jobs(account).first(where: { !$0.isTerminal && ($0.inputDatasetId == name || $0.outputDatasetId == name) }) {
                throw GatewayError(.failedPrecondition, "dataset \"\(name)\" is used by unfinished job \"\(user.name)\"")
            }
            try store.deleteDataset(account, id)
        }
        return Gateway.ok(.object([]))
    }

    /// `:upload`: the multipart `file` part streamed to disk, then the dataset is READY with that one file.
    func upload(_ request: HTTPRequest, _ account: String, _ id: String) throws -> HTTPResponse {
        _ = try dataset(account, id)
        if let length = request.body.contentLength, length > config.directUploadLimit + 64 * 1024 {
            throw GatewayError(.invalidArgument, "file too large for :upload (limit \(config.directUploadLimit) bytes); use :getUploadEndpoint", httpStatus: 413)
        }
        guard let boundary = Multipart.boundary(contentType: request.headers["Content-Type"]) else {
            throw GatewayError(.invalidArgument, "expected multipart/form-data with a boundary")
        }
        let dir = store.datasetFilesDir(account, id)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let temporary = dir + "/.upload-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw GatewayError(.internal, "cannot store the upload") }
        var kept = false
        defer { close(fd); if !kept { unlink(temporary) } }
        let limit = config.directUploadLimit
        let (filename, size) = try Multipart.extractFile(field: "file", boundary: boundary, read: { try request.body.readChunk(max: 1 << 20) },
                                                          sink: { bytes in
            do { try AtomicFile.writeAll(fd, bytes, path: temporary) } catch let e as FileError {
                throw GatewayError(.internal, "cannot store the upload: \(String(cString: strerror(e.errno)))")
            }
        })
        if size > limit { throw GatewayError(.invalidArgument, "file too large for :upload (limit \(limit) bytes)", httpStatus: 413) }
        let base = (filename as NSString).lastPathComponent
        let name = base.isEmpty ? "input.jsonl" : base
        guard StoreLayout.isSafeFileName(name) else { throw GatewayError(.invalidArgument, "invalid file name \"\(filename)\"") }
        guard size > 0 else { throw GatewayError(.invalidArgument, "the uploaded file is empty") }
        fsync(fd)
        try store.locked {
            var d = try dataset(account, id)
            for old in store.datasetFiles(account, id) where old.name != name { unlink(dir + "/" + old.name) }
            guard rename(temporary, dir + "/" + name) == 0 else { throw GatewayError(.internal, "cannot store the upload") }
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
        try AtomicFile.write(JSONValue.object(announced).serialized(), to: pendingUploadsPath(account, id))
        return Gateway.ok(.object([("filenameToSignedUrls", .object(urls))]))
    }

    func validateUpload(_ request: HTTPRequest, _ account: String, _ id: String) throws -> HTTPResponse {
        _ = try readJSON(request)
        try store.locked {
            var d = try dataset(account, id)
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
        if lineage { datasetIDs = lineageDatasets(account, id) }
        let expires = Int64(Date().timeIntervalSince1970 + config.downloadURLLifetime)
        var urls: [(String, JSONValue)] = []
        for dsID in datasetIDs {
            for file in store.datasetFiles(account, dsID) {
                let token = signer.token(for: SignedFileToken(operation: .download, account: account, dataset: dsID, file: file.name, size: 0, expires: expires))
                urls.append(("dataset/\(dsID)/\(file.name)", .string("\(baseURL(request))/signed/download/\(token)")))
            }
        }
        return Gateway.ok(.object([("filenameToSignedUrls", .object(urls))]))
    }

    /// The dataset and every output dataset of the continuation chain of the job that produced it.
    func lineageDatasets(_ account: String, _ id: String) -> [String] {
        var ids = [id]
        guard let source = ResourceName(store.dataset(account, id)?.sourceJobName ?? "", kind: .batchInferenceJob),
              let job = store.job(account, source.id) else { return ids }
        for earlier in store.earlierJobs(account, continuedFrom: job.continuedFromJobName) {
            guard let out = ResourceName(earlier.outputDatasetId, kind: .dataset)?.id, !ids.contains(out) else { break }
            ids.append(out)
        }
        return ids
    }

    /// `PUT /signed/upload/<token>` and `GET /signed/download/<token>`: no API key, the token is the credential.
    func signedFile(_ request: HTTPRequest, operation: String, token: String) throws -> HTTPResponse {
        let claims: SignedFileToken
        switch signer.verify(token) {
        case let .success(c): claims = c
        case .failure(.expired): throw GatewayError(.permissionDenied, "signed URL expired")
        case .failure: throw GatewayError(.permissionDenied, "invalid signed URL")
        }
        guard claims.operation.rawValue == String(operation.prefix(1)), ["upload", "download"].contains(operation) else {
            throw GatewayError(.permissionDenied, "signed URL not valid for \(operation)")
        }
        guard store.dataset(claims.account, claims.dataset) != nil else { throw notFound(.dataset, claims.account, claims.dataset) }
        let dir = store.datasetFilesDir(claims.account, claims.dataset)
        if claims.operation == .download {
            guard request.method == "GET" || request.method == "HEAD" else { throw methodNotAllowed(request) }
            do { return try .file(atPath: dir + "/" + claims.file, for: request) } catch {
                throw GatewayError(.notFound, "file \"\(claims.file)\" not found")
            }
        }
        guard request.method == "PUT" else { throw methodNotAllowed(request) }
        guard request.headers["Content-Type"]?.lowercased() == "application/octet-stream" else {
            throw GatewayError(.invalidArgument, "Content-Type must be application/octet-stream")
        }
        let range = request.headers["X-Goog-Content-Length-Range"]?.split(separator: ",").map { Int64($0.trimmingCharacters(in: .whitespaces)) }
        guard let range, range.count == 2, let low = range[0], let high = range[1], low <= claims.size, claims.size <= high else {
            throw GatewayError(.invalidArgument, "X-Goog-Content-Length-Range must be \(claims.size),\(claims.size)")
        }
        if let length = request.body.contentLength, Int64(length) != claims.size {
            throw GatewayError(.invalidArgument, "Content-Length \(length) does not match the announced size \(claims.size)")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let temporary = dir + "/.put-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw GatewayError(.internal, "cannot store the upload") }
        var kept = false
        defer { close(fd); if !kept { unlink(temporary) } }
        let written = try request.body.write(toFileDescriptor: fd, limit: Int(claims.size) + 1)
        guard Int64(written) == claims.size else {
            throw GatewayError(.invalidArgument, "received \(written) bytes, \(claims.size) announced")
        }
        fsync(fd)
        guard rename(temporary, dir + "/" + claims.file) == 0 else { throw GatewayError(.internal, "cannot store the upload") }
        kept = true
        AtomicFile.syncDirectory(dir)
        return Gateway.ok(.object([]))
    }

    // MARK: jobs

    static let jobListFields: Set<String> = ["name", "displayName", "createTime", "updateTime", "state", "model",
                                              "inputDatasetId", "outputDatasetId", "continuedFromJobName"]

    func listJobs(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        let query = try ListQuery(request.query, defaultOrder: "createTime", fields: Gateway.jobListFields)
        return Gateway.ok(query.page(store.jobs(account).map(\.json), itemsKey: "batchInferenceJobs"))
    }

    func datasetName(_ text: String, _ account: String, field: String) throws -> ResourceName {
        if let n = ResourceName(text, kind: .dataset) {
            guard n.account == account else { throw GatewayError(.invalidArgument, "\(field) must be in account \(account)") }
            return n
        }
        if ResourceID.isValid(text) { return ResourceName(account: account, kind: .dataset, id: text) }
        throw GatewayError(.invalidArgument, "invalid \(field) \"\(text)\": expected accounts/\(account)/datasets/ID")
    }

    func createJob(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        var job = try BatchInferenceJob(json: readJSON(request), strict: true)
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        func random(_ n: Int) -> String { String((0..<n).map { _ in letters.randomElement()! }) }
        let id = request.queryValue("batchInferenceJobId").flatMap { $0.isEmpty ? nil : $0 } ?? "job-" + random(12)
        if let problem = ResourceID.problem(id) { throw GatewayError(.invalidArgument, "invalid batchInferenceJobId \"\(id)\": \(problem)") }
        let name = ResourceName(account: account, kind: .batchInferenceJob, id: id)

        if !job.continuedFromJobName.isEmpty {
            guard let prevName = ResourceName(job.continuedFromJobName, kind: .batchInferenceJob), prevName.account == account,
                  let prev = store.job(account, prevName.id) else {
                throw GatewayError(.invalidArgument, "continuedFromJobName \"\(job.continuedFromJobName)\" does not name an existing job")
            }
            guard prev.isTerminal else {
                throw GatewayError(.failedPrecondition, "job \"\(prev.name)\" is still \(prev.state); continue it once it has ended")
            }
            if job.model.isEmpty { job.model = prev.model }
            if job.inputDatasetId.isEmpty { job.inputDatasetId = prev.inputDatasetId }
            if job.inferenceParameters == nil { job.inferenceParameters = prev.inferenceParameters }
            if job.systemPrompt.isEmpty { job.systemPrompt = prev.systemPrompt }
        }
        guard !job.model.isEmpty else { throw GatewayError(.invalidArgument, "model is required") }
        guard !job.inputDatasetId.isEmpty else { throw GatewayError(.invalidArgument, "inputDatasetId is required") }
        let input = try datasetName(job.inputDatasetId, account, field: "inputDatasetId")
        guard let inputDataset = store.dataset(account, input.id) else {
            throw GatewayError(.invalidArgument, "input dataset \"\(input)\" not found")
        }
        guard inputDataset.state == DatasetState.ready else {
            throw GatewayError(.failedPrecondition, "input dataset \"\(input)\" is \(inputDataset.state), not READY")
        }
        job.inputDatasetId = input.description

        var duration = 24 * 3600.0
        if let text = job.maxJobDuration {
            guard text.hasSuffix("s"), let seconds = Double(text.dropLast()), seconds > 0 else {
                throw GatewayError(.invalidArgument, "invalid maxJobDuration \"\(text)\": expected a duration like \"86400s\"")
            }
            duration = seconds
        }
        duration = min(max(duration, config.minJobDuration), config.maxJobDuration)
        let now = Date()
        job.name = name.description
        job.createTime = Timestamp.string(from: now)
        job.updateTime = job.createTime
        job.createdBy = config.defaultAccount
        job.state = JobState.validating
        job.status = ResourceStatus()
        job.maxJobDuration = DurationText.wire(duration)
        job.expireTime = Timestamp.string(from: now.addingTimeInterval(duration))
        job.lifecycle = JobLifecycle()
        job.jobProgress = nil
        job.waitingOnCapacity = false
        if job.precision == "PRECISION_UNSPECIFIED" { job.precision = "BF16" }

        try store.locked {
            if store.job(account, id) != nil { throw GatewayError(.alreadyExists, "batch inference job \"\(name)\" already exists") }
            var output: ResourceName
            if job.outputDatasetId.isEmpty {
                var candidate = ResourceName(account: account, kind: .dataset, id: "bij-" + random(8))
                while store.dataset(account, candidate.id) != nil { candidate.id = "bij-" + random(8) }
                output = candidate
            } else {
                output = try datasetName(job.outputDatasetId, account, field: "outputDatasetId")
            }
            if let existing = store.dataset(account, output.id) {
                guard existing.sourceJobName.isEmpty, store.datasetFiles(account, output.id).isEmpty else {
                    throw GatewayError(.alreadyExists, "output dataset \"\(output)\" already exists and holds data")
                }
            }
            var out = store.dataset(account, output.id) ?? Dataset()
            out.name = output.description
            out.createTime = out.createTime ?? job.createTime
            out.updateTime = job.createTime
            out.createdBy = config.defaultAccount
            out.state = DatasetState.uploading
            out.format = BatchAPI.DatasetFormat.chat
            out.sourceJobName = name.description
            try store.saveDataset(out, account, output.id)
            job.outputDatasetId = output.description
            try store.saveJob(job, account, id)
        }
        scheduler.enqueue(account: account, id: id)
        return Gateway.ok(job.json)
    }

    func deleteJob(_ account: String, _ id: String) throws -> HTTPResponse {
        guard let job = store.job(account, id) else { throw notFound(.batchInferenceJob, account, id) }
        if job.isTerminal {
            try store.deleteJob(account, id)
        } else {
            try store.updateJob(account, id) { $0.state = JobState.deletingCleaningUp }
            scheduler.stop(account: account, id: id)
        }
        return Gateway.ok(.object([]))
    }

    func cancelJob(_ account: String, _ id: String) throws -> HTTPResponse {
        guard let job = store.job(account, id) else { throw notFound(.batchInferenceJob, account, id) }
        guard !job.isTerminal else {
            throw GatewayError(.failedPrecondition, "batch inference job \"\(job.name)\" has already ended (\(job.state))")
        }
        if job.state != JobState.deletingCleaningUp {
            try store.updateJob(account, id) { $0.state = JobState.cancelling }
        }
        scheduler.stop(account: account, id: id)
        return Gateway.ok(store.job(account, id)?.json ?? job.json)
    }
}
