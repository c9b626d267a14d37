// JSONLLineReader: streams the lines of a file, a descriptor or a byte array through one reusable buffer.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file could not be read (as opposed to holding bad data): the CLI maps it to exit status 1.
public enum DatasetReadError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, errno: Int32, reason: String)
    case readFailed(path: String, errno: Int32, reason: String)

    public var path: String {
        switch self {
        case let .cannotOpen(path, _, _), let .readFailed(path, _, _): return path
        }
    }

    /// The OS error number (ENOENT, EACCES, EISDIR, ...).
    public var errno: Int32 {
        switch self {
        case let .cannotOpen(_, code, _), let .readFailed(_, code, _): return code
        }
    }

    public var description: String {
        switch self {
        case let .cannotOpen(path, _, reason): return "cannot open \(path): \(reason)"
        case let .readFailed(path, _, reason): return "cannot read \(path): \(reason)"
        }
    }

    static func osReason(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}

/// Reads lines one at a time with memory that does not grow with the file: a buffer of `bufferSize` bytes
/// that grows only as far as the longest line needs (up to `maxLineBytes`).
///
/// Lines are split at `\n`; a `\r` before it is dropped (CRLF files), a UTF-8 byte order mark at the very
/// start is dropped, and a last line without a newline is still a line. Lines holding only spaces, tabs and
/// `\r` are skipped and counted in `blankLines` unless `skipBlankLines` is false. Line numbers are 1-based and
/// count every physical line, blank ones included, so they match what an editor shows.
///
/// A `final class` because it owns a file descriptor and a buffer that must be released exactly once.
public final class JSONLLineReader {
    /// One line. `bytes` is valid only until the next call to `nextLine()`: copy what must outlive it.
    public struct Line {
        /// 1-based physical line number.
        public let number: Int
        /// The line's content, without the line ending (empty when `isTooLong`).
        public let bytes: UnsafeRawBufferPointer
        /// True when the line was longer than `maxLineBytes`; its bytes were skipped, not kept.
        public let isTooLong: Bool
        /// The line's length in bytes (also known when it was too long).
        public let length: Int
        /// Where the line starts in the source, in bytes from its first byte (a byte order mark included), so a
        /// reader of the same file can seek back to it (`dataset split`, `bij results`).
        public let offset: Int
    }

    public static let defaultBufferSize = 1 << 20
    public static let defaultMaxLineBytes = 256 << 20

    /// The name used in messages: the path, or `<stdin>`.
    public let displayName: String
    public let maxLineBytes: Int
    public var skipBlankLines = true

    /// Physical lines handed out or skipped so far.
    public private(set) var lineNumber = 0
    /// Whitespace-only lines skipped so far.
    public private(set) var blankLines = 0
    /// Bytes read from the source so far (the byte order mark and line endings included).
    public private(set) var bytesRead = 0

    private enum Source {
        case descriptor(Int32, owned: Bool)
        case memory([UInt8], offset: Int)
    }

    private var source: Source
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    /// Unconsumed data is `buffer[start..<end]`; `scanned` is where the search for `\n` resumes, so a line
    /// that spans many refills is searched once, not once per refill.
    private var start = 0
    private var end = 0
    private var scanned = 0
    private var atEOF = false
    private var checkedBOM = false

    /// Opens `path` for reading; `-` reads standard input.
    public convenience init(path: String, bufferSize: Int = JSONLLineReader.defaultBufferSize,
                            maxLineBytes: Int = JSONLLineReader.defaultMaxLineBytes) throws(DatasetReadError) {
        if path == "-" {
            self.init(fileDescriptor: 0, displayName: "<stdin>", bufferSize: bufferSize, maxLineBytes: maxLineBytes)
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            throw DatasetReadError.cannotOpen(path: path, errno: code, reason: DatasetReadError.osReason(code))
        }
        #if os(Linux)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        #endif
        self.init(source: .descriptor(fd, owned: true), displayName: path, bufferSize: bufferSize, maxLineBytes: maxLineBytes)
    }

    /// Reads from an open descriptor, which stays open (the caller owns it).
    public convenience init(fileDescriptor: Int32, displayName: String, bufferSize: Int = JSONLLineReader.defaultBufferSize,
                            maxLineBytes: Int = JSONLLineReader.defaultMaxLineBytes) {
        self.init(source: .descriptor(fileDescriptor, owned: false), displayName: displayName, bufferSize: bufferSize,
                  maxLineBytes: maxLineBytes)
    }

    /// Reads from bytes already in memory (tests, fuzzing, small uploads), through the same buffer logic.
    public convenience init(bytes: [UInt8], displayName: String, bufferSize: Int = JSONLLineReader.defaultBufferSize,
                            maxLineBytes: Int = JSONLLineReader.defaultMaxLineBytes) {
        self.init(source: .memory(bytes, offset: 0), displayName: displayName, bufferSize: bufferSize, maxLineBytes: maxLineBytes)
    }

    private init(source: Source, displayName: String, bufferSize: Int, maxLineBytes: Int) {
        self.source = source
        self.displayName = displayName
        self.maxLineBytes = max(1, maxLineBytes)
        capacity = max(16, bufferSize)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        buffer.deallocate()
        if case let .descriptor(fd, owned: true) = source { close(fd) }
    }

    /// Calls `body` for each line until the end of the input.
    public func forEachLine(_ body: (Line) throws -> Void) throws {
        while let line = try nextLine() { try body(line) }
    }

    /// The next line, or nil at the end of the input. Throws `DatasetReadError` when the source fails.
    public func nextLine() throws(DatasetReadError) -> Line? {
        while true {
            if !checkedBOM {
                // Three bytes are needed to decide; a pipe may hand them over one at a time.
                if end - start < 3, !atEOF { try refill(); continue }
                checkedBOM = true
                if end - start >= 3, buffer.load(fromByteOffset: start, as: UInt8.self) == 0xEF,
                   buffer.load(fromByteOffset: start + 1, as: UInt8.self) == 0xBB,
                   buffer.load(fromByteOffset: start + 2, as: UInt8.self) == 0xBF {
                    start += 3
                    scanned = start
                }
            }
            if scanned < end, let found = memchr(buffer + scanned, 0x0A, end - scanned) {
                let newline = buffer.distance(to: found)
                let lineStart = start
                start = newline + 1
                scanned = start
                if let line = makeLine(from: lineStart, to: newline) { return line }
                continue
            }
            scanned = end
            if end - start > maxLineBytes { return try skipLongLine() }
            if atEOF {
                guard start < end else { return nil }
                let lineStart = start
                start = end
                if let line = makeLine(from: lineStart, to: end) { return line }
                continue
            }
            try refill()
        }
    }

    /// Counts the line; returns nil for a blank line that is skipped.
    @inline(__always) private func makeLine(from lineStart: Int, to lineEnd: Int) -> Line? {
        lineNumber += 1
        var stop = lineEnd
        if stop > lineStart, buffer.load(fromByteOffset: stop - 1, as: UInt8.self) == 0x0D { stop -= 1 }
        let bytes = UnsafeRawBufferPointer(start: buffer + lineStart, count: stop - lineStart)
        if skipBlankLines, JSONLLineReader.isBlank(bytes) {
            blankLines += 1
            return nil
        }
        return Line(number: lineNumber, bytes: bytes, isTooLong: false, length: stop - lineStart,
                    offset: bytesRead - end + lineStart)
    }

    @inline(__always) static func isBlank(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for b in bytes where !(b == 0x20 || b == 0x09 || b == 0x0D) { return false }
        return true
    }

    /// Moves pending bytes to the front (or grows the buffer when a line fills it) and reads more.
    private func refill() throws(DatasetReadError) {
        if start > 0 {
            let pending = end - start
            if pending > 0 { buffer.copyMemory(from: buffer + start, byteCount: pending) }
            scanned -= start
            end = pending
            start = 0
        }
        if end == capacity {
            // One line fills the buffer: double it, within what the longest allowed line (plus CRLF) needs.
            let wanted = min(capacity * 2, maxLineBytes + 2)
            if wanted > capacity {
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: wanted, alignment: 16)
                bigger.copyMemory(from: buffer, byteCount: end)
                buffer.deallocate()
                buffer = bigger
                capacity = wanted
            }
        }
        let got = try readSome(into: buffer + end, count: capacity - end)
        if got == 0 { atEOF = true }
        end += got
        bytesRead += got
    }

    private func readSome(into destination: UnsafeMutableRawPointer, count: Int) throws(DatasetReadError) -> Int {
        guard count > 0 else { return 0 }
        switch source {
        case let .descriptor(fd, _):
            while true {
                let got = read(fd, destination, count)
                if got >= 0 { return got }
                let code = errno
                if code == EINTR { continue }
                throw DatasetReadError.readFailed(path: displayName, errno: code, reason: DatasetReadError.osReason(code))
            }
        case let .memory(bytes, offset):
            let n = min(count, bytes.count - offset)
            bytes.withUnsafeBytes { all in
                if n > 0, let from = all.baseAddress { destination.copyMemory(from: from + offset, byteCount: n) }
            }
            source = .memory(bytes, offset: offset + n)
            return n
        }
    }

    /// Drops the rest of a line longer than `maxLineBytes` without keeping it, and reports it.
    private func skipLongLine() throws(DatasetReadError) -> Line {
        let offset = bytesRead - end + start
        var length = end - start
        start = 0
        end = 0
        scanned = 0
        while true {
            if end > 0, let found = memchr(buffer, 0x0A, end) {
                let newline = buffer.distance(to: found)
                length += newline
                start = newline + 1
                scanned = start
                break
            }
            length += end
            end = 0
            if atEOF { start = 0; break }
            try refill()
        }
        lineNumber += 1
        return Line(number: lineNumber, bytes: UnsafeRawBufferPointer(start: buffer, count: 0), isTooLong: true, length: length,
                    offset: offset)
    }
}
