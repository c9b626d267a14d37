// JSONLLineReaderTests: line splitting, endings, byte order marks, blank lines, refills and overlong lines.

import BatchJSONL
import Foundation
import XCTest

final class JSONLLineReaderTests: XCTestCase {
    /// All lines as (number, text) plus the blank-line count, read through a buffer of `bufferSize` bytes.
    private func lines(_ bytes: [UInt8], bufferSize: Int = 16, maxLineBytes: Int = 1 << 20,
                       skipBlank: Bool = true) throws -> (lines: [(Int, String)], blank: Int, bytes: Int) {
        let reader = JSONLLineReader(bytes: bytes, displayName: "t", bufferSize: bufferSize, maxLineBytes: maxLineBytes)
        reader.skipBlankLines = skipBlank
        var out: [(Int, String)] = []
        try reader.forEachLine { line in
            out.append((line.number, line.isTooLong ? "<too long: \(line.length)>" : String(decoding: line.bytes, as: UTF8.self)))
        }
        return (out, reader.blankLines, reader.bytesRead)
    }

    private func assertLines(_ text: String, _ expected: [(Int, String)], blank: Int = 0,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        // Every buffer size from tiny (constant refills and growth) to larger than the input.
        for size in [16, 17, 23, 64, 4096] {
            let got = try lines(Array(text.utf8), bufferSize: size)
            XCTAssertEqual(got.lines.map { "\($0.0):\($0.1)" }, expected.map { "\($0.0):\($0.1)" }, "buffer \(size)", file: file, line: line)
            XCTAssertEqual(got.blank, blank, "blank lines, buffer \(size)", file: file, line: line)
            XCTAssertEqual(got.bytes, text.utf8.count, file: file, line: line)
        }
    }

    func testSplitsLinesWithAndWithoutFinalNewline() throws {
        try assertLines("a\nbb\nccc\n", [(1, "a"), (2, "bb"), (3, "ccc")])
        try assertLines("a\nbb\nccc", [(1, "a"), (2, "bb"), (3, "ccc")])
        try assertLines("", [])
        try assertLines("x", [(1, "x")])
    }

    func testCRLFAndBlankLines() throws {
        try assertLines("a\r\nb\r\n\r\n  \t\r\nc\r\n", [(1, "a"), (2, "b"), (5, "c")], blank: 2)
        try assertLines("\n\n\n", [], blank: 3)
        try assertLines("a\r", [(1, "a")])
        // Only the \r right before the newline belongs to the ending.
        try assertLines("a\r\r\nb", [(1, "a\r"), (2, "b")])
    }

    func testByteOrderMarkOnlyAtTheStart() throws {
        try assertLines("\u{FEFF}{\"a\":1}\n{}\n", [(1, "{\"a\":1}"), (2, "{}")])
        try assertLines("{}\n\u{FEFF}{}\n", [(1, "{}"), (2, "\u{FEFF}{}")])
        try assertLines("\u{FEFF}", [])
    }

    func testBlankLinesCanBeKept() throws {
        let got = try lines(Array("a\n\n b\n".utf8), skipBlank: false)
        XCTAssertEqual(got.lines.map { $0.1 }, ["a", "", " b"])
        XCTAssertEqual(got.blank, 0)
    }

    func testLinesLongerThanTheBufferGrowIt() throws {
        let long = String(repeating: "x", count: 100_000)
        try assertLines("s\n\(long)\nt\n\(long)", [(1, "s"), (2, long), (3, "t"), (4, long)])
    }

    func testOverlongLinesAreReportedNotKept() throws {
        let text = "ok\n" + String(repeating: "y", count: 5000) + "\nafter\n" + String(repeating: "z", count: 300)
        let got = try lines(Array(text.utf8), bufferSize: 64, maxLineBytes: 256)
        XCTAssertEqual(got.lines.map { "\($0.0):\($0.1)" }, ["1:ok", "2:<too long: 5000>", "3:after", "4:<too long: 300>"])
    }

    func testReadsFromADescriptorAndAPipe() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let payload = Array("one\ntwo\n".utf8)
        // A byte at a time, so the reader sees short reads (and a byte order mark split over reads).
        let writeEnd = fds[1]
        let writer = Thread {
            for b in [0xEF, 0xBB, 0xBF] + payload { var byte = UInt8(b); _ = write(writeEnd, &byte, 1); usleep(200) }
            close(writeEnd)
        }
        writer.start()
        let reader = JSONLLineReader(fileDescriptor: fds[0], displayName: "<pipe>")
        var got: [String] = []
        try reader.forEachLine { got.append(String(decoding: $0.bytes, as: UTF8.self)) }
        close(fds[0])
        XCTAssertEqual(got, ["one", "two"])
        XCTAssertEqual(reader.bytesRead, payload.count + 3)
    }

    func testMissingFileIsAReadError() {
        XCTAssertThrowsError(try JSONLLineReader(path: "/nonexistent/dir/x.jsonl")) { error in
            guard let error = error as? DatasetReadError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.errno, ENOENT)
            XCTAssertEqual(error.description, "cannot open /nonexistent/dir/x.jsonl: No such file or directory")
        }
    }

    func testDirectoryIsAReadError() throws {
        let reader = try JSONLLineReader(path: NSTemporaryDirectory())
        XCTAssertThrowsError(try reader.nextLine()) { error in
            XCTAssertEqual((error as? DatasetReadError)?.errno, EISDIR)
        }
    }

    func testOffsetsPointAtEachLineInTheSource() throws {
        // A byte order mark, CRLF, blank lines, an overlong line and refills of a small buffer.
        let text = "\u{FEFF}ab\r\n\n  \ncdef\n" + String(repeating: "z", count: 40) + "\nlast"
        let bytes = Array(text.utf8)
        let reader = JSONLLineReader(bytes: bytes, displayName: "t", bufferSize: 16, maxLineBytes: 30)
        var seen: [(Int, Int, Bool)] = []
        while let line = try reader.nextLine() { seen.append((line.offset, line.length, line.isTooLong)) }
        XCTAssertEqual(seen.map(\.0), [3, 11, 16, 57])
        for (offset, length, tooLong) in seen where !tooLong {
            XCTAssertNotEqual(bytes[offset], 0x0A)
            XCTAssertTrue(offset + length == bytes.count || bytes[offset + length] == 0x0A || bytes[offset + length] == 0x0D)
        }
        XCTAssertTrue(seen[2].2, "the 40-byte line is too long, at its own offset")
    }
}
