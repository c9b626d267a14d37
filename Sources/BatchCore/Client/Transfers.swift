// File transfers: multipart `:upload`, signed-URL PUT and streamed downloads, all from and to disk with
// flat memory, reporting progress, and never leaving a partial file under its final name.
import BatchAPI
import BatchJSONL
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Temporary files to remove if the process is interrupted (Ctrl-C) before they are renamed into place.
public final class TemporaryFiles: @unchecked Sendable {
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

/// Bytes moved so far and the total when known.
public typealias TransferProgress = (_ done: Int64, _ total: Int64) -> Void

private final class TransferDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let progress: TransferProgress
    let expectedUpload: Int64
    var sink: FileHandle?
    var status = 0
    var headers: [String: String] = [:]
    var received: Int64 = 0
    var expectedDownload: Int64 = -1
    var body = Data()
    var error: Error?
    var writeError: Error?
    let done = DispatchSemaphore(value: 0)

    init(progress: @escaping TransferProgress, expectedUpload: Int64, sink: FileHandle?) {
        self.progress = progress
        self.expectedUpload = expectedUpload
        self.sink = sink
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        if let http = response as? HTTPURLResponse {
            status = http.statusCode
            for (k, v) in http.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
            expectedDownload = http.expectedContentLength
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        // Only a successful answer goes to the file; an error body is kept to be decoded.
        if let sink, (200..<300).contains(status) {
            do { try sink.write(contentsOf: data) } catch { writeError = error; dataTask.cancel(); return }
            received += Int64(data.count)
            progress(received, expectedDownload)
        } else if body.count < 1 << 20 {
            body.append(data)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didSendBodyData bytesSent: Int64, totalBytesSent: Int64,
                    totalBytesExpectedToSend: Int64) {
        progress(totalBytesSent, expectedUpload)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        self.error = error
        done.signal()
    }
}

extension GatewayClient {
    private func run(_ request: URLRequest, uploadFrom file: URL?, sink: FileHandle?, expectedUpload: Int64,
                     progress: @escaping TransferProgress) throws -> TransferDelegateResult {
        let delegate = TransferDelegate(progress: progress, expectedUpload: expectedUpload, sink: sink)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = options.timeout
        let transferSession = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
        defer { transferSession.finishTasksAndInvalidate() }
        let task = file.map { transferSession.uploadTask(with: request, fromFile: $0) } ?? transferSession.dataTask(with: request)
        task.resume()
        delegate.done.wait()
        if let e = delegate.writeError { throw ClientError("cannot write the download: \(e.localizedDescription)") }
        if let e = delegate.error { throw TransportError(url: request.url?.absoluteString ?? "", reason: GatewayClient.describe(e)) }
        return TransferDelegateResult(status: delegate.status, headers: delegate.headers, body: [UInt8](delegate.body),
                                      received: delegate.received)
    }

    struct TransferDelegateResult { var status: Int; var headers: [String: String]; var body: [UInt8]; var received: Int64 }

    /// `POST <dataset>:upload` as multipart/form-data with the file in field `file`. The multipart body is
    /// assembled in a temporary file by streaming copies, so memory stays flat whatever the size.
    public func uploadMultipart(dataset: ResourceName, filePath: String, fileName: String,
                                progress: @escaping TransferProgress) throws -> JSONValue? {
        let url = options.baseURL + Endpoints.uploadPath(dataset)
        let boundary = "batchctl-" + UUID().uuidString
        let size = try fileSize(filePath)
        if options.dryRun {
            printDryRun(method: "POST", url: url, headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")],
                        body: "<multipart body: field \"file\", filename \"\(fileName)\", \(size) bytes from \(filePath)>")
            return nil
        }
        let head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(fileName)\"\r\n"
            + "Content-Type: application/octet-stream\r\n\r\n"
        let tail = "\r\n--\(boundary)--\r\n"
        let bodyPath = NSTemporaryDirectory() + "batchctl-upload-\(getpid())-\(UUID().uuidString).multipart"
        TemporaryFiles.shared.add(bodyPath)
        defer { unlink(bodyPath); TemporaryFiles.shared.remove(bodyPath) }
        try StreamCopy.write(parts: [.bytes(Array(head.utf8)), .file(filePath), .bytes(Array(tail.utf8))], to: bodyPath)
        let total = try fileSize(bodyPath)

        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = "POST"
        request.setValue("multipart/form-data; boundary=\(boundary)", forHTTPHeaderField: "Content-Type")
        request.setValue(String(total), forHTTPHeaderField: "Content-Length")
        if let key = options.apiKey { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        request.timeoutInterval = max(options.timeout, 600)
        let result = try run(request, uploadFrom: URL(fileURLWithPath: bodyPath), sink: nil, expectedUpload: total, progress: progress)
        guard (200..<300).contains(result.status) else { throw GatewayError(httpStatus: result.status, body: result.body) }
        return try? JSONValue(parsing: result.body)
    }

    /// `PUT <signedUrl>` with the raw bytes and the headers Google Cloud Storage signed URLs require; no
    /// Fireworks credentials go to the storage host.
    public func putSignedURL(_ url: String, filePath: String, progress: @escaping TransferProgress) throws {
        let size = try fileSize(filePath)
        let headers = [("Content-Type", "application/octet-stream"), ("X-Goog-Content-Length-Range", "\(size),\(size)")]
        if options.dryRun {
            printDryRun(method: "PUT", url: url, headers: headers, body: "<\(size) bytes from \(filePath)>")
            return
        }
        guard let target = URL(string: url) else { throw ClientError("the gateway gave an invalid upload URL: \(url)") }
        var request = URLRequest(url: target)
        request.httpMethod = "PUT"
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.setValue(String(size), forHTTPHeaderField: "Content-Length")
        request.timeoutInterval = max(options.timeout, 600)
        let result = try run(request, uploadFrom: URL(fileURLWithPath: filePath), sink: nil, expectedUpload: size, progress: progress)
        guard (200..<300).contains(result.status) else { throw GatewayError(httpStatus: result.status, body: result.body) }
    }

    /// Streams `url` into `temporaryPath` (created, truncated). Returns the byte count; throws GatewayError
    /// with the HTTP status for an error answer (403/404 from an expired URL included).
    public func download(_ url: String, to temporaryPath: String, progress: @escaping TransferProgress) throws -> Int64 {
        guard let target = URL(string: url) else { throw ClientError("the gateway gave an invalid download URL: \(url)") }
        guard FileManager.default.createFile(atPath: temporaryPath, contents: nil),
              let handle = FileHandle(forWritingAtPath: temporaryPath) else {
            throw ClientError("cannot create \(temporaryPath): \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        var request = URLRequest(url: target)
        request.httpMethod = "GET"
        request.timeoutInterval = max(options.timeout, 600)
        let result = try run(request, uploadFrom: nil, sink: handle, expectedUpload: 0, progress: progress)
        guard (200..<300).contains(result.status) else { throw GatewayError(httpStatus: result.status, body: result.body) }
        try handle.synchronize()
        return result.received
    }

    func fileSize(_ path: String) throws -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw ClientError("cannot read \(path): \(String(cString: strerror(errno)))") }
        return Int64(info.st_size)
    }
}

/// Concatenates byte strings and files into a new file in 1 MiB steps.
enum StreamCopy {
    enum Part { case bytes([UInt8]); case file(String) }

    static func write(parts: [Part], to path: String) throws {
        let out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard out >= 0 else { throw ClientError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(out) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        func writeAll(_ pointer: UnsafeRawPointer, _ count: Int) throws {
            var done = 0
            while done < count {
                let n = Glibc.write(out, pointer + done, count - done)
                if n < 0 { if errno == EINTR { continue }; throw ClientError("cannot write \(path): \(String(cString: strerror(errno)))") }
                done += n
            }
        }
        for part in parts {
            switch part {
            case let .bytes(b): try b.withUnsafeBytes { try writeAll($0.baseAddress!, $0.count) }
            case let .file(source):
                let input = open(source, O_RDONLY)
                guard input >= 0 else { throw ClientError("cannot read \(source): \(String(cString: strerror(errno)))") }
                defer { close(input) }
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
                    if n < 0 { if errno == EINTR { continue }; throw ClientError("cannot read \(source): \(String(cString: strerror(errno)))") }
                    if n == 0 { break }
                    try buffer.withUnsafeBytes { try writeAll($0.baseAddress!, n) }
                }
            }
        }
    }
}
