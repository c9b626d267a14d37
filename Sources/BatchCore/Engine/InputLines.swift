// The one place the engine reads JSONL: a thin adapter over BatchJSONL's streaming JSONLLineReader.
import Foundation
import BatchJSONL

/// One non-blank line of a file, or a line too long to hold.
enum InputLine {
    case line(UnsafeBufferPointer<UInt8>)
    case tooLong(bytes: Int)
}

/// Longest input line the engine holds in memory; longer rows fail alone instead of taking the job down.
let maxInputLineBytes = 64 << 20

/// Calls `body` for each non-blank line of the file (1-based physical line numbers, `\r\n` endings allowed),
/// with memory bounded by the longest line. `body` returns false to stop early; the bytes are only valid
/// during the call. With `maxBytes`, reading stops at the first line that does not end within that many
/// bytes (an output file past its checkpoint); the offsets assume `\n` endings, which our own files have.
func forEachInputLine(path: String, maxBytes: UInt64? = nil,
                      _ body: (_ lineNumber: Int, _ line: InputLine) throws -> Bool) throws {
    let reader: JSONLLineReader
    do { reader = try JSONLLineReader(path: path, maxLineBytes: maxInputLineBytes) } catch {
        throw EngineError.io(path: path, operation: "open", errno: error.errno)
    }
    var offset: UInt64 = 0, lastLine = 0
    while true {
        let next: JSONLLineReader.Line?
        do { next = try reader.nextLine() } catch { throw EngineError.io(path: path, operation: "read", errno: error.errno) }
        guard let line = next else { return }
        if let maxBytes {
            offset += UInt64(line.number - lastLine - 1)  // the skipped blank lines' newlines
            lastLine = line.number
            offset += UInt64(line.length) + 1
            if offset > maxBytes { return }
        }
        let item: InputLine = line.isTooLong ? .tooLong(bytes: line.length)
            : .line(UnsafeBufferPointer(start: line.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: line.bytes.count))
        if try !body(line.number, item) { return }
    }
}
