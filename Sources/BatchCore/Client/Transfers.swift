// File transfers: multipart `:upload`, signed-URL PUT and streamed downloads, all from and to disk with
// flat memory, reporting progress, and never leaving a partial file under its final name. The bytes move
// through BatchHTTP's client (sendfile up, 1 MiB reads down on the socket path).
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

/// Temporary files to remove if the process is interrupted (Ctrl-C) before they are renamed into place.
public final class TemporaryFiles: @unchecked Sendable {
    // `paths` is guarded by `lock`.
    public static let shared = TemporaryFiles()
    private let lock = NSLock()
    private var paths: Set<String> = []

    public func add(_ path: String) { lock.lock(); paths.insert(path); lock.unlock() }
    public func remove(_ path: String) { lock.lock(); paths.remove(path); lock.unlock() }
    public func removeAll() {
        lock.lock(); defer { lock.unlock() }
        for p in paths { unlink(p) }
        paths.removeAll()
    }
}

public typealias TransferProgress = BatchHTTP.TransferProgress

extension GatewayClient {
    /// `POST <dataset>:upload` as multipart/form-data with the file in field `file`. The form is streamed as
    /// three parts (its head, the file, its tail), so nothing is copied and memory stays flat.
    public func uploadMultipart(dataset: ResourceName, filePath: String, fileName: String,
                                progress: @escaping TransferProgress) throws -> JSONValue? {
        let url = options.baseURL + Endpoints.uploadPath(dataset)
        let boundary = "batchctl-" + UUID().uuidString
        let size = try fileSize(filePath)
        let safeName = fileName.replacingOccurrences(of: "\"", with: "_").replacingOccurrences(of: "\r", with: "_")
            .replacingOccurrences(of: "\n", with: "_")
        let head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(safeName)\"\r\n"
            + "Content-Type: application/octet-stream\r\n\r\n"
        let tail = "\r\n--\(boundary)--\r\n"
        if options.dryRun {
            printDryRun(method: "POST", url: url, headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)"), ("Accept", "application/json")],
                        contentLength: Int64(head.utf8.count + tail.utf8.count) + size,
                        body: head.replacingOccurrences(of: "\r\n", with: "\n") + "<\(size) bytes of \(filePath)>" + tail.replacingOccurrences(of: "\r\n", with: "\n"),
                        sendsCredentials: true)
            return nil
        }
        var headers: HTTPHeaders = ["Content-Type": "multipart/form-data; boundary=\(boundary)", "Accept": "application/json"]
        if let key = options.apiKey { headers["Authorization"] = "Bearer \(key)" }
        let request = HTTPClientRequest(.post, url, headers: headers,
                                        body: [.bytes(Array(head.utf8)), .file(path: filePath, length: size), .bytes(Array(tail.utf8))])
        let result = try perform(request, label: "POST \(Endpoints.uploadPath(dataset))", progress: progress)
        guard (200..<300).contains(result.status) else { throw GatewayError(httpStatus: result.status, body: result.body) }
        return try? JSONValue(parsing: result.body)
    }

    /// `PUT <signedUrl>` with the raw bytes and the headers Google Cloud Storage signed URLs require; no
    /// Fireworks credentials go to the storage host. Retried like any idempotent request.
    public func putSignedURL(_ url: String, filePath: String, progress: @escaping TransferProgress) throws {
        let size = try fileSize(filePath)
        let headers: HTTPHeaders = ["Content-Type": "application/octet-stream", "X-Goog-Content-Length-Range": "\(size),\(size)"]
        if options.dryRun {
            // A signed URL carries its own credential: the API key never goes to the storage host.
            printDryRun(method: "PUT", url: url, headers: headers.map { ($0.name, $0.value) }, contentLength: size,
                        body: "<\(size) bytes of \(filePath)>", sendsCredentials: false)
            return
        }
        let request = HTTPClientRequest(.put, url, headers: headers, body: [.file(path: filePath, length: size)], followRedirects: false)
        let result = try perform(request, label: "PUT signed URL", progress: progress)
        guard (200..<300).contains(result.status) else { throw GatewayError(httpStatus: result.status, body: result.body) }
    }

    /// Streams `url` into `temporaryPath` (created, truncated), following redirects and retrying transient
    /// failures from the start. Returns the byte count; throws GatewayError with the HTTP status for an error
    /// answer (403/404 from an expired URL included). `sync: false` skips the fsync, for scratch copies that
    /// are read once and removed (`bij results`).
    public func download(_ url: String, to temporaryPath: String, progress: @escaping TransferProgress, sync: Bool = true) throws -> Int64 {
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ClientError(FileMessages.describe(FileError("create", temporaryPath, errno: errno))) }
        defer { close(fd) }
        let result = try perform(HTTPClientRequest(.get, url), sink: .file(descriptor: fd), label: "GET download URL",
                                 progress: progress, beforeAttempt: {
            guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
                throw ClientError(FileMessages.describe(FileError("truncate", temporaryPath, errno: errno)))
            }
        })
        guard (200..<300).contains(result.status) else { throw GatewayError(httpStatus: result.status, body: result.body) }
        guard !sync || fsync(fd) == 0 else { throw ClientError(FileMessages.describe(FileError("fsync", temporaryPath, errno: errno))) }
        return result.streamedBytes
    }

    func fileSize(_ path: String) throws -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw ClientError(FileMessages.describe(FileError("read", path, errno: errno))) }
        return Int64(info.st_size)
    }
}

/// Human words for a failed file-system call: the path, what went wrong.
public enum FileMessages {
    public static func describe(_ error: FileError) -> String {
        "cannot \(error.operation) \(error.path): \(String(cString: strerror(error.errno)))"
    }
}

/// Concatenates byte strings and files into a new file in 1 MiB steps.
public enum StreamCopy {
    public enum Part { case bytes([UInt8]); case file(String) }

    public static func write(parts: [Part], to path: String) throws {
        let out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw ClientError(FileMessages.describe(FileError("create", path, errno: errno))) }
        defer { close(out) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        do {
            for part in parts {
                switch part {
                case let .bytes(b): try AtomicFile.writeAll(out, b, path: path)
                case let .file(source):
                    let input = open(source, O_RDONLY | O_CLOEXEC)
                    guard input >= 0 else { throw FileError("read", source, errno: errno) }
                    defer { close(input) }
                    while true {
                        let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
                        if n < 0 { if errno == EINTR { continue }; throw FileError("read", source, errno: errno) }
                        if n == 0 { break }
                        try buffer.withUnsafeBytes { try AtomicFile.writeAll(out, UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: path) }
                    }
                }
            }
        } catch let error as FileError {
            throw ClientError(FileMessages.describe(error))
        }
    }
}
