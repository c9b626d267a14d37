// The streaming line reader the runner reads its input with (to be swapped for BatchJSONL's once it lands).
import Foundation

/// One non-blank line of the input, or a line too long to hold.
enum InputLine {
    case line(UnsafeBufferPointer<UInt8>)
    case tooLong(bytes: Int)
}

/// Longest input line the engine holds in memory; longer rows fail alone instead of taking the job down.
let maxInputLineBytes = 64 << 20

/// Calls `body` for each non-blank line of the file (1-based line numbers, `\r\n` endings allowed), with memory
/// bounded by the longest line. `body` returns false to stop early. The buffer is only valid during the call.
/// With `maxBytes`, the file is read as if it ended there (output files beyond their checkpoint).
func forEachInputLine(path: String, maxBytes: UInt64? = nil,
                      _ body: (_ lineNumber: Int, _ line: InputLine) throws -> Bool) throws {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw EngineError.io(path: path, operation: "open", errno: errno) }
    defer { close(fd) }
    var unread = maxBytes ?? UInt64.max
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var start = 0, end = 0
    var lineNumber = 0
    var skippingLongLine = false, longLineBytes = 0

    func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }
    func emit(_ base: UnsafeMutablePointer<UInt8>, _ from: Int, _ to: Int) throws -> Bool {
        var to = to
        if to > from, base[to - 1] == 0x0D { to -= 1 }
        let line = UnsafeBufferPointer(start: base + from, count: to - from)
        if isBlank(line) { return true }
        return try body(lineNumber, .line(line))
    }

    while true {
        // Hand out every complete line in the buffer.
        let keepGoing: Bool = try buffer.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            while start < end {
                guard let hit = memchr(base + start, 0x0A, end - start) else { break }
                let newline = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                lineNumber += 1
                if skippingLongLine {
                    skippingLongLine = false
                    let total = longLineBytes + newline - start
                    start = newline + 1
                    if try !body(lineNumber, .tooLong(bytes: total)) { return false }
                    continue
                }
                let from = start
                start = newline + 1
                if try !emit(base, from, newline) { return false }
            }
            return true
        }
        if !keepGoing { return }
        // Make room: slide the partial line to the front, grow for a long line, or drop a line beyond the cap.
        if start > 0 {
            if start < end { buffer.withUnsafeMutableBufferPointer { b in
                _ = memmove(b.baseAddress!, b.baseAddress! + start, end - start) } }
            end -= start
            start = 0
        }
        if end == buffer.count {
            if skippingLongLine || buffer.count >= maxInputLineBytes {
                if !skippingLongLine { skippingLongLine = true; longLineBytes = 0 }
                longLineBytes += end
                end = 0
            } else {
                buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, maxInputLineBytes - buffer.count)))
            }
        }
        let n = unread == 0 ? 0 : buffer.withUnsafeMutableBufferPointer { b in
            read(fd, b.baseAddress! + end, Int(min(UInt64(b.count - end), unread))) }
        if n < 0 {
            if errno == EINTR { continue }
            throw EngineError.io(path: path, operation: "read", errno: errno)
        }
        if n == 0 {
            // The last line may lack its newline.
            if skippingLongLine {
                lineNumber += 1
                _ = try body(lineNumber, .tooLong(bytes: longLineBytes + end))
            } else if end > 0 {
                lineNumber += 1
                _ = try buffer.withUnsafeMutableBufferPointer { try emit($0.baseAddress!, 0, end) }
            }
            return
        }
        end += n
        unread -= UInt64(n)
    }
}
