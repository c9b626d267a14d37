// The HTTP layer's error types: protocol errors with their status, body stream errors, server start errors.
import Glibc

/// An error answered with `status` and the gateway's JSON error body. The server throws it for malformed
/// requests; handlers may throw it too instead of building the response themselves.
public struct HTTPError: Error, CustomStringConvertible, Sendable {
    public var status: HTTPStatus
    public var message: String

    public init(_ status: HTTPStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.code) \(message)" }
}

/// Failures while reading a request body. The server answers a handler that lets one escape as noted.
public enum HTTPBodyError: Error, CustomStringConvertible, Sendable, Equatable {
    /// More than `limit` bytes (413).
    case tooLarge(limit: Int)
    /// Bad chunked framing (400).
    case malformed(String)
    /// No bytes arrived within the body read timeout (408).
    case timedOut
    /// The client closed the connection before the end of the body (no answer: nobody is listening).
    case incomplete
    /// The socket failed (no answer).
    case readFailed(errno: Int32)
    /// The body was read after its request had been answered.
    case unavailable
    /// `write(toFileDescriptor:)` could not write to its destination (answered 500).
    case destinationWriteFailed(errno: Int32)

    public var description: String {
        switch self {
        case .tooLarge(let limit): return "request body is larger than \(limit) bytes"
        case .malformed(let reason): return "malformed request body: \(reason)"
        case .timedOut: return "timed out reading the request body"
        case .incomplete: return "the client closed the connection before the end of the request body"
        case .readFailed(let code): return "reading the request body failed: \(String(cString: strerror(code)))"
        case .unavailable: return "the request body is no longer available after the response"
        case .destinationWriteFailed(let code): return "writing the request body failed: \(String(cString: strerror(code)))"
        }
    }
}

/// Why `HTTPServer.start()` failed.
public enum HTTPServerError: Error, CustomStringConvertible, Sendable, Equatable {
    case addressInUse(address: String)
    case invalidHost(String)
    case invalidPort(Int)
    case permissionDenied(address: String)
    case alreadyStarted
    case systemCall(String, errno: Int32)

    public var description: String {
        switch self {
        case .addressInUse(let address): return "address \(address) is already in use"
        case .invalidHost(let host): return "cannot listen on host \"\(host)\": not an IP address or a known name"
        case .invalidPort(let port): return "invalid port \(port): must be 0...65535"
        case .permissionDenied(let address): return "permission denied to listen on \(address)"
        case .alreadyStarted: return "the server is already started"
        case .systemCall(let call, let code): return "\(call) failed: \(String(cString: strerror(code)))"
        }
    }
}

/// Why a file cannot be served.
public enum HTTPFileError: Error, CustomStringConvertible, Sendable, Equatable {
    case notFound(path: String)
    case notARegularFile(path: String)
    case openFailed(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .notFound(let path): return "\(path): no such file"
        case .notARegularFile(let path): return "\(path): not a regular file"
        case .openFailed(let path, let code): return "\(path): \(String(cString: strerror(code)))"
        }
    }
}

/// Failures while writing a streamed response body; the connection is closed after any of them.
public enum HTTPWriteError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The client went away or the socket failed.
    case connectionFailed(errno: Int32)
    /// The client did not take data within the send timeout.
    case timedOut
    /// The producer wrote more or fewer bytes than the `Content-Length` it declared.
    case lengthMismatch(declared: Int, written: Int)
    /// A file being sent got shorter than the region to send.
    case fileTruncated

    public var description: String {
        switch self {
        case .connectionFailed(let code): return "writing the response failed: \(String(cString: strerror(code)))"
        case .timedOut: return "timed out writing the response"
        case .lengthMismatch(let declared, let written):
            return "response body has \(written) bytes but Content-Length declared \(declared)"
        case .fileTruncated: return "the file got shorter while being sent"
        }
    }
}
