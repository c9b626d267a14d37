// The signed file URLs, `PUT` and `GET|HEAD /storage/accounts/{a}/datasets/{d}/{file}?X-Goog-...`: answered the
// way Google Cloud Storage answers its V4 signed URLs (XML errors, an empty 200 with an ETag), and bound to the
// dataset's state: an upload URL writes once, only while its dataset is UPLOADING and only in the upload
// session that minted it; a download URL reads only the dataset generation it was minted for.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

/// The files one `:getUploadEndpoint` call announced, the generation its URLs carry, and which have been PUT.
/// Each call starts a new session and so retires every URL of the previous one.
struct UploadSession: Equatable {
    var generation: String
    var files: [(name: String, size: Int64)]
    var uploaded: Set<String> = []

    static func == (a: UploadSession, b: UploadSession) -> Bool { a.json == b.json }

    var json: JSONValue {
        .object([("generation", .string(generation)),
                 ("files", .object(files.map { ($0.name, .string(String($0.size))) })),
                 ("uploaded", .array(uploaded.sorted().map(JSONValue.string)))])
    }

    init(generation: String, files: [(name: String, size: Int64)]) { self.generation = generation; self.files = files }

    init?(json: JSONValue) {
        guard let generation = json["generation"]?.stringValue, let files = json["files"]?.objectValue else { return nil }
        self.generation = generation
        self.files = files.map { ($0.0, $0.1.int64Value ?? -1) }
        uploaded = Set((json["uploaded"]?.arrayValue ?? []).compactMap(\.stringValue))
    }

    func size(of file: String) -> Int64? { files.first { $0.name == file }?.size }
}

/// An answer in the XML error shape of Cloud Storage: `<Error><Code>...</Code><Message>...</Message>...`.
struct StorageError: Error {
    var status: Int
    var code: String
    var message: String
    var details: String
    var extra: [(String, String)] = []

    var response: HTTPResponse {
        var xml = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>\(StorageError.escape(code))</Code>"
            + "<Message>\(StorageError.escape(message))</Message>"
        if !details.isEmpty { xml += "<Details>\(StorageError.escape(details))</Details>" }
        for (tag, text) in extra { xml += "<\(tag)>\(StorageError.escape(text))</\(tag)>" }
        xml += "</Error>"
        return .bytes(Array(xml.utf8), status: HTTPStatus(status), contentType: "application/xml; charset=UTF-8")
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "'", with: "&apos;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func noSuchKey(_ object: StorageObject) -> StorageError {
        StorageError(status: 404, code: "NoSuchKey", message: "The specified key does not exist.",
                     details: "No such object: \(object.account)/\(object.dataset)/\(object.file)")
    }

    static func conditionNotMet(_ why: String) -> StorageError {
        StorageError(status: 412, code: "ConditionNotMet", message: "At least one of the pre-conditions you specified did not hold.",
                     details: why)
    }
}

extension Gateway {
    /// The headers an upload PUT must carry, as they are signed: exactly these values.
    static func uploadHeaders(size: Int64) -> [(String, String)] {
        [("content-type", "application/octet-stream"), ("x-goog-content-length-range", "\(size),\(size)")]
    }

    /// A dataset's generation: the digits of its nanosecond `createTime`, so a dataset deleted and created again
    /// under the same id is another generation, and URLs minted for the first one find nothing.
    static func generation(of dataset: Dataset) -> String {
        String((dataset.createTime ?? "").filter(\.isNumber))
    }

    func uploadSessionPath(_ account: String, _ id: String) -> String { store.datasetDir(account, id) + "/uploads.json" }

    func uploadSession(_ account: String, _ id: String) -> UploadSession? {
        guard let data = FileManager.default.contents(atPath: uploadSessionPath(account, id)),
              let json = try? JSONValue(parsing: [UInt8](data)) else { return nil }
        return UploadSession(json: json)
    }

    func saveUploadSession(_ session: UploadSession, _ account: String, _ id: String) throws {
        try AtomicFile.write(session.json.serialized(), to: uploadSessionPath(account, id), mode: 0o600)
    }

    /// A signed URL for one file: PUT (with the two signed headers) for an upload, GET for a download.
    func signedURL(_ object: StorageObject, upload size: Int64?, generation: String, lifetime: Double) -> String {
        let now = Int(Date().timeIntervalSince1970)
        return signer.url(base: mintedBase.current, method: size == nil ? "GET" : "PUT", path: object.path,
                          extraQuery: [("generation", generation)], headers: size.map(Gateway.uploadHeaders) ?? [],
                          now: now, expires: Int(lifetime))
    }

    func signedFile(_ request: HTTPRequest, _ object: StorageObject) -> HTTPResponse {
        do {
            return try serveSigned(request, object)
        } catch let e as StorageError {
            return e.response
        } catch let e as HTTPBodyError {
            switch e {
            case .tooLarge: return StorageError(status: 400, code: "EntityTooLarge", message: "Your proposed upload is larger than the maximum object size specified in your Policy Document.", details: e.description).response
            case .destinationWriteFailed(let code) where code == ENOSPC || code == EDQUOT:
                return StorageError(status: 503, code: "ServiceUnavailable", message: "Service Unavailable", details: "the gateway's data dir is full").response
            default: return StorageError(status: 400, code: "InvalidArgument", message: "Invalid argument.", details: e.description).response
            }
        } catch {
            // A full disk is retryable here as on every route.
            if Gateway.isDiskFull(error) {
                return StorageError(status: 503, code: "ServiceUnavailable", message: "Service Unavailable", details: "the gateway's data dir is full").response
            }
            return StorageError(status: 500, code: "InternalError", message: "Internal error.", details: "\(error)").response
        }
    }

    private func serveSigned(_ request: HTTPRequest, _ object: StorageObject) throws -> HTTPResponse {
        // HEAD reads what GET reads, with the GET URL.
        let method = request.method == "HEAD" ? "GET" : request.method
        let signed: [(String, String)]
        switch signer.verify(method: method, path: object.path, query: request.query, headers: request.headers,
                             base: mintedBase.current, now: Int(Date().timeIntervalSince1970)) {
        case let .success(query): signed = query
        case .failure(.unsigned):
            throw StorageError(status: 403, code: "AccessDenied", message: "Access denied.",
                               details: "Anonymous caller does not have storage.objects.\(method == "PUT" ? "create" : "get") access to the object.")
        case let .failure(.malformed(why)):
            throw StorageError(status: 400, code: "InvalidArgument", message: "Invalid argument.", details: why)
        case let .failure(.expired(at)):
            throw StorageError(status: 400, code: "ExpiredToken", message: "Invalid argument.",
                               details: "The provided token has expired. Request signature expired at: \(Timestamp.string(from: Date(timeIntervalSince1970: Double(at))))")
        case let .failure(.mismatch(stringToSign, canonicalRequest)):
            throw StorageError(status: 403, code: "SignatureDoesNotMatch", message: "Access denied.",
                               details: "The request signature we calculated does not match the signature you provided. Check your Google secret key and signing method.",
                               extra: [("StringToSign", stringToSign), ("CanonicalRequest", canonicalRequest)])
        }
        let generation = signed.last(where: { $0.0 == "generation" })?.1 ?? ""
        switch method {
        case "GET": return try download(request, object, generation: generation)
        case "PUT": return try upload(request, object, generation: generation)
        default:
            throw StorageError(status: 405, code: "MethodNotAllowed", message: "The specified method is not allowed against this resource.", details: "")
        }
    }

    private func download(_ request: HTTPRequest, _ object: StorageObject, generation: String) throws -> HTTPResponse {
        guard let d = store.dataset(object.account, object.dataset), Gateway.generation(of: d) == generation else {
            throw StorageError.noSuchKey(object)
        }
        let path = store.datasetFilesDir(object.account, object.dataset) + "/" + object.file
        let file: HTTPOpenFile
        // A running job's output is served up to its checkpoint: the rows past it may be cut and run again.
        do { file = try HTTPOpenFile(path: path, maxLength: servedLength(object.account, object.dataset, object.file)) } catch {
            throw StorageError.noSuchKey(object)
        }
        return .file(file, for: request, headers: ["ETag": Gateway.etag(file.fileDescriptor), "x-goog-generation": generation])
    }

    /// An opaque strong validator of the file's current bytes: inode, size and modification time.
    static func etag(_ fd: Int32) -> String {
        var info = stat()
        fstat(fd, &info)
        let text = "\(info.st_ino)-\(info.st_size)-\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        return "\"" + URLSigner.hex(Array(SHA256.hash(Array(text.utf8)).prefix(16))) + "\""
    }

    /// Whether `session` may still write `file` now: the dataset is UPLOADING, the session is its current one,
    /// and the file has not been written through this session yet.
    private func uploadPrecondition(_ object: StorageObject, generation: String) throws -> Int64 {
        guard let d = store.dataset(object.account, object.dataset) else { throw StorageError.noSuchKey(object) }
        guard d.state == .uploading else {
            throw StorageError.conditionNotMet("dataset \(d.name) is \(d.state.rawValue): its files can no longer be written through a signed URL")
        }
        // One writer: a dataset an unfinished job reads or writes takes no file from anyone else.
        do { try requireNoUnfinishedJob(object.account, object.dataset) } catch let e as GatewayError {
            throw StorageError.conditionNotMet(e.message)
        }
        guard let session = uploadSession(object.account, object.dataset), session.generation == generation,
              let size = session.size(of: object.file) else {
            throw StorageError.conditionNotMet("this upload URL was replaced by a later getUploadEndpoint call")
        }
        guard !session.uploaded.contains(object.file) else {
            throw StorageError.conditionNotMet("this upload URL has already been used: an upload URL writes its file once")
        }
        return size
    }

    private func upload(_ request: HTTPRequest, _ object: StorageObject, generation: String) throws -> HTTPResponse {
        let size = try store.locked(.dataset(object.account, object.dataset)) { try uploadPrecondition(object, generation: generation) }
        // The range header is signed, so it says N,N for the announced size; the body must be that long.
        if let length = request.body.contentLength, Int64(length) != size {
            throw StorageError(status: 400, code: Int64(length) > size ? "EntityTooLarge" : "EntityTooSmall",
                               message: "Your proposed upload is \(Int64(length) > size ? "larger" : "smaller") than the \(size) bytes the URL was signed for.",
                               details: "Content-Length \(length), X-Goog-Content-Length-Range \(size),\(size)")
        }
        let dir = store.datasetFilesDir(object.account, object.dataset)
        try Store.makeDirectory(dir)
        let temporary = dir + "/.put-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileError("create", temporary, errno: errno) }
        var kept = false
        defer { close(fd); if !kept { unlink(temporary) } }
        let written = try request.body.write(toFileDescriptor: fd, limit: Int(size))
        guard Int64(written) == size else {
            throw StorageError(status: 400, code: "EntityTooSmall", message: "Your proposed upload is smaller than the \(size) bytes the URL was signed for.",
                               details: "received \(written) bytes")
        }
        guard fsync(fd) == 0 else {
            throw StorageError(status: errno == ENOSPC ? 503 : 500, code: "InternalError", message: "Internal error.",
                               details: "cannot store the upload: \(String(cString: strerror(errno)))")
        }
        let etag = Gateway.etag(fd)
        // Checked again at the commit: another PUT of this URL, a validateUpload, a new session or a job may have come first.
        try store.locked(.dataset(object.account, object.dataset)) {
            _ = try uploadPrecondition(object, generation: generation)
            guard var session = uploadSession(object.account, object.dataset) else { throw StorageError.noSuchKey(object) }
            guard rename(temporary, dir + "/" + object.file) == 0 else {
                throw StorageError(status: 500, code: "InternalError", message: "Internal error.", details: "cannot store the upload")
            }
            kept = true
            AtomicFile.syncDirectory(dir)
            session.uploaded.insert(object.file)
            try saveUploadSession(session, object.account, object.dataset)
        }
        return HTTPResponse(status: .ok, headers: ["ETag": etag, "x-goog-generation": generation], body: .empty)
    }
}
