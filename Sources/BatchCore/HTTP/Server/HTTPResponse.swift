// HTTPResponse: status, headers and a body of bytes, a file region (sent with sendfile) or a streaming producer.
import Glibc

public struct HTTPResponse {
    public enum Body {
        case empty
        case bytes([UInt8])
        /// Sent with sendfile(2); `Content-Length` is the region's length.
        case file(HTTPFileRegion)
        /// Called on the connection's thread to write the body. It is sent chunked unless the response's headers
        /// declare a `Content-Length`, which the producer must then write exactly. Not called for HEAD.
        case stream((HTTPResponseBodyWriter) throws -> Void)
    }

    public var status: HTTPStatus
    /// `Content-Length`, `Transfer-Encoding` and `Connection` are managed by the server: they are computed from
    /// the body and the connection state (a `Connection: close` here does close the connection).
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = [:], body: Body = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func bytes(_ bytes: [UInt8], status: HTTPStatus = .ok, contentType: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: .bytes(bytes))
    }

    public static func json(_ bytes: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
        .bytes(bytes, status: status, contentType: "application/json")
    }

    public static func json(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        .json(Array(text.utf8), status: status)
    }

    public static func text(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        .bytes(Array(text.utf8), status: status, contentType: "text/plain; charset=utf-8")
    }

    /// The gateway's error shape: `{"code": <gRPC code for status>, "message": ..., "details": []}`.
    public static func error(_ status: HTTPStatus, _ message: String) -> HTTPResponse {
        .json(gatewayErrorBody(status: status, message: message), status: status)
    }

    /// Serves `file`, honouring a single `Range: bytes=...` of a GET: 200 with the whole file, 206 with
    /// `Content-Range` for a satisfiable range, 416 with `Content-Range: bytes */size` otherwise.
    public static func file(_ file: HTTPOpenFile, for request: HTTPRequest,
                            contentType: String = "application/octet-stream", headers: HTTPHeaders = [:]) -> HTTPResponse {
        var headers = headers
        headers["Content-Type"] = contentType
        headers["Accept-Ranges"] = "bytes"
        // RFC 9110 §14.2 defines Range for GET only; other methods get the whole representation.
        let rangeHeader = request.method == "GET" ? request.headers["Range"] : nil
        switch HTTPByteRange.select(rangeHeader, size: file.size) {
        case .whole:
            return HTTPResponse(status: .ok, headers: headers,
                                body: .file(HTTPFileRegion(file: file, offset: 0, length: file.size)))
        case .partial(let offset, let length):
            headers["Content-Range"] = "bytes \(offset)-\(offset + length - 1)/\(file.size)"
            return HTTPResponse(status: .partialContent, headers: headers,
                                body: .file(HTTPFileRegion(file: file, offset: offset, length: length)))
        case .unsatisfiable:
            var response = HTTPResponse.error(.rangeNotSatisfiable, "requested range is outside the file's \(file.size) bytes")
            response.headers["Content-Range"] = "bytes */\(file.size)"
            return response
        }
    }

    /// Opens `path` and serves it as `file(_:for:contentType:headers:)` does.
    public static func file(atPath path: String, for request: HTTPRequest,
                            contentType: String = "application/octet-stream", headers: HTTPHeaders = [:]) throws -> HTTPResponse {
        .file(try HTTPOpenFile(path: path), for: request, contentType: contentType, headers: headers)
    }
}

/// An open regular file, closed when the last reference goes away (after the response has been sent).
public final class HTTPOpenFile: Sendable {
    public let fileDescriptor: Int32
    /// The size when opened; the response's `Content-Length` is based on it.
    public let size: Int

    /// Opens `path`; with `maxLength`, only its first `maxLength` bytes are served (a file still being
    /// appended to, of which only a prefix is known to be durable).
    public init(path: String, maxLength: Int? = nil) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw code == ENOENT || code == ENOTDIR ? HTTPFileError.notFound(path: path)
                                                    : HTTPFileError.openFailed(path: path, errno: code)
        }
        do {
            let actual = try HTTPOpenFile.regularFileSize(fd, path: path)
            size = maxLength.map { max(0, min($0, actual)) } ?? actual
        } catch {
            close(fd)
            throw error
        }
        fileDescriptor = fd
    }

    /// Takes ownership of `fileDescriptor`: it is closed with this object, also when this initializer throws.
    public init(adoptingFileDescriptor fd: Int32) throws {
        do {
            size = try HTTPOpenFile.regularFileSize(fd, path: "file descriptor \(fd)")
        } catch {
            close(fd)
            throw error
        }
        fileDescriptor = fd
    }

    private static func regularFileSize(_ fd: Int32, path: String) throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw HTTPFileError.openFailed(path: path, errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw HTTPFileError.notARegularFile(path: path) }
        return Int(info.st_size)
    }

    deinit {
        close(fileDescriptor)
    }
}

/// A byte range of an open file. Out-of-bounds values are clamped to the file's size.
public struct HTTPFileRegion {
    public let file: HTTPOpenFile
    public let offset: Int
    public let length: Int

    public init(file: HTTPOpenFile, offset: Int = 0, length: Int? = nil) {
        self.file = file
        self.offset = min(max(offset, 0), file.size)
        self.length = min(max(length ?? file.size, 0), file.size - self.offset)
    }
}

/// What part of a resource a `Range` header asks for.
public enum HTTPByteRange: Equatable, Sendable {
    /// No usable Range: serve everything with 200. Also chosen for multiple ranges and syntax errors, which
    /// RFC 9110 §14.2 lets a server ignore.
    case whole
    case partial(offset: Int, length: Int)
    /// A well-formed range that starts past the end: 416.
    case unsatisfiable

    /// Evaluates `bytes=a-b`, `bytes=a-` and `bytes=-n` against a resource of `size` bytes.
    public static func select(_ header: String?, size: Int) -> HTTPByteRange {
        guard let header else { return .whole }
        let text = trimmingOptionalWhitespace(header)
        guard text.utf8.count > 6, asciiCaseInsensitiveEquals(String(text.prefix(6)), "bytes=") else { return .whole }
        let spec = trimmingOptionalWhitespace(text.dropFirst(6))
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash]
        let last = spec[spec.index(after: dash)...]
        func number<S: StringProtocol>(_ digits: S) -> Int? {
            guard !digits.isEmpty, digits.utf8.count <= 18, digits.utf8.allSatisfy({ decimalDigit($0) != nil }) else {
                return nil
            }
            return Int(digits)
        }
        if first.isEmpty {
            guard let suffix = number(last) else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            let length = min(suffix, size)
            return .partial(offset: size - length, length: length)
        }
        guard let start = number(first) else { return .whole }
        var end = size - 1
        if !last.isEmpty {
            guard let parsedEnd = number(last), parsedEnd >= start else { return .whole }
            end = min(parsedEnd, size - 1)
        }
        guard start < size else { return .unsatisfiable }
        return .partial(offset: start, length: end - start + 1)
    }
}
