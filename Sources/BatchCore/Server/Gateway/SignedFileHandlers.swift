// The signed file URLs, `PUT /signed/upload/<token>` and `GET|HEAD /signed/download/<token>`: the token is the key.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

extension Gateway {
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
        guard let before = store.dataset(claims.account, claims.dataset) else { throw notFound(.dataset, claims.account, claims.dataset) }
        let dir = store.datasetFilesDir(claims.account, claims.dataset)
        if claims.operation == .download {
            guard request.method == "GET" || request.method == "HEAD" else { throw Router.methodNotAllowed(request) }
            do {
                let file = try HTTPOpenFile(path: dir + "/" + claims.file, maxLength: servedLength(claims.account, claims.dataset, claims.file))
                return .file(file, for: request)
            } catch {
                throw GatewayError(.notFound, "file \"\(claims.file)\" not found")
            }
        }
        guard request.method == "PUT" else { throw Router.methodNotAllowed(request) }
        try requireNoUnfinishedJob(claims.account, claims.dataset)
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
        try Store.makeDirectory(dir)
        let temporary = dir + "/.put-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileError("create", temporary, errno: errno) }
        var kept = false
        defer { close(fd); if !kept { unlink(temporary) } }
        let written = try request.body.write(toFileDescriptor: fd, limit: Int(claims.size) + 1)
        guard Int64(written) == claims.size else {
            throw GatewayError(.invalidArgument, "received \(written) bytes, \(claims.size) announced")
        }
        guard fsync(fd) == 0 else { throw FileError("fsync", temporary, errno: errno) }
        try store.locked(.dataset(claims.account, claims.dataset)) {
            // Compare and set: the same dataset as when the PUT began, and still used by no job.
            guard store.dataset(claims.account, claims.dataset)?.createTime == before.createTime else {
                throw notFound(.dataset, claims.account, claims.dataset)
            }
            try requireNoUnfinishedJob(claims.account, claims.dataset)
            guard rename(temporary, dir + "/" + claims.file) == 0 else { throw FileError("rename to", dir + "/" + claims.file, errno: errno) }
            kept = true
            AtomicFile.syncDirectory(dir)
        }
        return Gateway.ok(.object([]))
    }
}
