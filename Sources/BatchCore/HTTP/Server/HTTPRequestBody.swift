// HTTPRequestBody: the request body as a stream read straight off the socket, decoding chunked framing.
import Glibc

/// The body of a request. The server never buffers it: each read pulls bytes from the connection, so a
/// handler can stream a huge upload to disk. Reading is only possible while the handler runs; bytes left
/// unread are discarded by the server (or the connection is closed) before the next request.
public final class HTTPRequestBody {
    private enum Source {
        case connection(HTTPConnection)
        case memory([UInt8], position: Int)
        /// The request has been answered; reads fail.
        case detached
    }

    private enum State {
        case remaining(Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case finished
    }

    private var source: Source
    private var state: State
    /// The client waits for `100 Continue` before sending; we send it on the first read.
    private var continuePending: Bool

    /// The declared `Content-Length` (0 when the request has no body), or nil for a chunked body.
    public let contentLength: Int?
    public var isChunked: Bool { contentLength == nil }
    /// Body bytes delivered to the handler so far.
    public private(set) var bytesRead = 0

    init(connection: HTTPConnection, framing: HTTPBodyFraming, expectsContinue: Bool) {
        source = .connection(connection)
        switch framing {
        case .none:
            state = .finished
            contentLength = 0
        case .length(let length):
            state = .remaining(length)
            contentLength = length
        case .chunked:
            state = .chunkSize
            contentLength = nil
        case .untilClose:
            // Requests always declare their framing (RFC 9112 §6.3); the parser never yields this.
            state = .finished
            contentLength = 0
        }
        continuePending = expectsContinue && !(contentLength == 0)
    }

    /// A body held in memory, for requests built outside a connection (tests of handlers).
    public init(bytes: [UInt8]) {
        source = .memory(bytes, position: 0)
        state = bytes.isEmpty ? .finished : .remaining(bytes.count)
        contentLength = bytes.count
        continuePending = false
    }

    /// True once the end of the body has been read.
    public var isComplete: Bool {
        if case .finished = state { return true }
        return false
    }

    /// True when the client is still waiting for `100 Continue`, so it has probably not sent the body.
    var isWithholdingContinue: Bool { continuePending }

    /// Bytes of a Content-Length body not read yet; nil for chunked bodies.
    var remainingDeclaredBytes: Int? {
        switch state {
        case .remaining(let count): return count
        case .finished: return 0
        default: return nil
        }
    }

    /// Reads up to `buffer.count` bytes; returns 0 at the end of the body.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            switch state {
            case .finished:
                return 0
            case .remaining(let remaining):
                let count = try readRaw(into: base, count: min(remaining, buffer.count))
                state = remaining == count ? .finished : .remaining(remaining - count)
                bytesRead += count
                return count
            case .chunkSize:
                let line = try readFramingLine(maxLength: 4096)
                let size: Int
                do { size = try HTTPChunked.parseSize(line) } catch let error as HTTPFieldError {
                    throw HTTPBodyError.malformed(error.message)
                }
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let count = try readRaw(into: base, count: min(remaining, buffer.count))
                state = remaining == count ? .chunkDataEnd : .chunkData(remaining: remaining - count)
                bytesRead += count
                return count
            case .chunkDataEnd:
                guard try readFramingLine(maxLength: 2).isEmpty else {
                    throw HTTPBodyError.malformed("chunk data is not followed by CRLF")
                }
                state = .chunkSize
            case .trailers:
                // Trailer fields are read and dropped: nothing in the gateway uses them.
                var total = 0
                while true {
                    let line = try readFramingLine(maxLength: 8192)
                    if line.isEmpty { break }
                    total += line.count
                    if total > 64 * 1024 { throw HTTPBodyError.malformed("trailer section too large") }
                }
                state = .finished
            }
        }
    }

    /// Reads up to `buffer.count` bytes into the start of `buffer`; returns 0 at the end of the body.
    public func read(into buffer: inout [UInt8]) throws -> Int {
        try buffer.withUnsafeMutableBytes { try read(into: $0) }
    }

    /// The next piece of the body, at most `max` bytes; nil at the end.
    public func readChunk(max: Int = 64 * 1024) throws -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: Swift.max(max, 1))
        let count = try read(into: &chunk)
        if count == 0 { return nil }
        chunk.removeLast(chunk.count - count)
        return chunk
    }

    /// The whole body. Throws `HTTPBodyError.tooLarge` (answered 413) as soon as it is known to exceed
    /// `limit` bytes; a declared Content-Length over the limit is refused before any byte is read.
    public func readAll(limit: Int) throws -> [UInt8] {
        if let contentLength, contentLength > limit { throw HTTPBodyError.tooLarge(limit: limit) }
        var result: [UInt8] = []
        result.reserveCapacity(min(contentLength ?? 16 * 1024, limit))
        var piece = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try read(into: &piece)
            if count == 0 { return result }
            if result.count + count > limit { throw HTTPBodyError.tooLarge(limit: limit) }
            result.append(contentsOf: piece[0..<count])
        }
    }

    /// Streams the rest of the body into `fileDescriptor` and returns the number of bytes written, with the
    /// same limit rule as `readAll`. Memory use is one fixed buffer whatever the body's size.
    public func write(toFileDescriptor fileDescriptor: Int32, limit: Int = Int.max) throws -> Int {
        if let contentLength, contentLength > limit { throw HTTPBodyError.tooLarge(limit: limit) }
        let capacity = 256 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        while true {
            let count = try read(into: buffer)
            if count == 0 { return total }
            if total + count > limit { throw HTTPBodyError.tooLarge(limit: limit) }
            var written = 0
            while written < count {
                let result = Glibc.write(fileDescriptor, buffer.baseAddress! + written, count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw HTTPBodyError.destinationWriteFailed(errno: errno)
                }
                written += result
            }
            total += count
        }
    }

    /// Reads and drops the rest of the body; false if more than `maxBytes` remain or reading fails.
    func discardRemaining(maxBytes: Int) -> Bool {
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        var discarded = 0
        do {
            while true {
                let count = try read(into: &scratch)
                if count == 0 { return true }
                discarded += count
                if discarded > maxBytes { return false }
            }
        } catch {
            return false
        }
    }

    /// Ends reading: a handler that kept the body past its response must not read the next request.
    func detach() {
        source = .detached
    }

    private func readRaw(into base: UnsafeMutableRawPointer, count: Int) throws -> Int {
        switch source {
        case .detached:
            throw HTTPBodyError.unavailable
        case .memory(let bytes, let position):
            let n = min(count, bytes.count - position)
            bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
            source = .memory(bytes, position: position + n)
            return n
        case .connection(let connection):
            try sendContinueIfPending(connection)
            let n = try mapIOErrors { try connection.readBody(into: base, count: count) }
            if n == 0 { throw HTTPBodyError.incomplete }
            return n
        }
    }

    private func readFramingLine(maxLength: Int) throws -> [UInt8] {
        guard case .connection(let connection) = source else {
            throw HTTPBodyError.unavailable
        }
        try sendContinueIfPending(connection)
        guard let line = try mapIOErrors({ try connection.readLine(maxLength: maxLength) }) else {
            throw HTTPBodyError.incomplete
        }
        return line
    }

    private func sendContinueIfPending(_ connection: HTTPConnection) throws {
        guard continuePending else { return }
        continuePending = false
        try mapIOErrors { try connection.sendContinue() }
    }

    private func mapIOErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as HTTPIOError {
            switch error {
            case .timedOut: throw HTTPBodyError.timedOut
            case .closed, .stopping: throw HTTPBodyError.incomplete
            case .failed(let code): throw HTTPBodyError.readFailed(errno: code)
            case .lineTooLong: throw HTTPBodyError.malformed("chunk framing line too long")
            }
        }
    }
}
