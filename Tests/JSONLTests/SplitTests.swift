// JSONLSplitter: parts at line boundaries under the limits, byte-identical when concatenated, every row
// validated with one custom_id table for the whole file.
import BatchJSONL
import Foundation
import XCTest

final class SplitTests: XCTestCase {
    func row(_ id: String, _ text: String = "hello") -> String {
        #"{"custom_id": "\#(id)", "body": {"messages": [{"role": "user", "content": "\#(text)"}]}}"#
    }

    func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "split-\(getpid())-\(UUID().uuidString.prefix(8)).jsonl"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { unlink(path) }
        return path
    }

    /// Splits and returns the report, the parts and the bytes of each part as read back from the input.
    func split(_ text: String, maxBytes: Int, maxRows: Int? = nil) throws -> (ValidationReport, [SplitPart], [[UInt8]]) {
        let path = try write(text)
        let bytes = Array(text.utf8)
        var handed: [[UInt8]] = []
        let (report, parts) = try JSONLSplitter(maxBytes: maxBytes, maxRows: maxRows).split(path: path) { part in
            handed.append(Array(bytes[part.offset..<(part.offset + part.length)]))
        }
        return (report, parts, handed)
    }

    func testPartsStayUnderTheByteLimitAndConcatenateToTheInput() throws {
        // CRLF endings, blank lines, a byte order mark and no final newline: all kept, none cut.
        let rows = (1...50).map { row("r\($0)", String(repeating: "x", count: $0 % 7 * 10)) }
        var text = "\u{FEFF}" + rows[0] + "\r\n\n"
        for r in rows.dropFirst().dropLast() { text += r + (isEven(r) ? "\r\n" : "\n") }
        text += "   \n" + rows.last!
        let (report, parts, handed) = try split(text, maxBytes: 700)
        XCTAssertTrue(report.valid, report.renderedProblems.joined(separator: "\n"))
        XCTAssertEqual(report.rows, 50)
        XCTAssertGreaterThan(parts.count, 3)
        XCTAssertEqual(handed.count, parts.count, "every part handed over on a valid file")
        XCTAssertEqual(handed.reduce([], +), Array(text.utf8), "the parts concatenated are the input byte for byte")
        XCTAssertEqual(parts.map(\.rows).reduce(0, +), 50)
        XCTAssertEqual(parts.map(\.number), Array(1...parts.count))
        for (part, bytes) in zip(parts, handed) {
            XCTAssertLessThanOrEqual(part.length, 700)
            XCTAssertTrue(part.number == parts.count || bytes.last == 0x0A, "part \(part.number) ends on a line ending")
            // Each part is a valid dataset on its own.
            let alone = DatasetValidator().validate(bytes: bytes, displayName: "part")
            XCTAssertTrue(alone.valid, alone.renderedProblems.joined(separator: "\n"))
            XCTAssertEqual(alone.rows, part.rows)
        }
        XCTAssertEqual(parts.first?.firstLine, 1)
    }

    private func isEven(_ s: String) -> Bool { s.utf8.count % 2 == 0 }

    func testRowLimit() throws {
        let text = (1...10).map { row("r\($0)") + "\n" }.joined()
        let (_, parts, handed) = try split(text, maxBytes: 1 << 30, maxRows: 4)
        XCTAssertEqual(parts.map(\.rows), [4, 4, 2])
        XCTAssertEqual(parts.map(\.firstLine), [1, 5, 9])
        XCTAssertEqual(handed.reduce([], +), Array(text.utf8))
    }

    func testARowLargerThanThePartLimitStopsTheSplit() throws {
        let text = row("a") + "\n" + row("b", String(repeating: "y", count: 500)) + "\n"
        XCTAssertThrowsError(try split(text, maxBytes: 300)) { error in
            XCTAssertEqual((error as? SplitRowTooLarge)?.line, 2)
        }
    }

    func testDuplicateIDsAcrossPartsAreProblemsAndStopTheHandOver() throws {
        let text = (1...6).map { row("r\($0)") + "\n" }.joined() + row("r2") + "\n" + (7...9).map { row("r\($0)") + "\n" }.joined()
        let (report, parts, handed) = try split(text, maxBytes: 1 << 30, maxRows: 3)
        XCTAssertFalse(report.valid)
        XCTAssertEqual(report.problems.first?.line, 7)
        XCTAssertTrue(report.problems.first?.reason.contains("duplicate custom_id \"r2\" (first seen on line 2)") ?? false, "\(report.problems)")
        XCTAssertEqual(parts.count, 4)
        XCTAssertEqual(handed.count, 1, "the part before the bad row is handed over; none once the problem is seen")
    }

    func testAnEmptyFileIsAProblem() throws {
        let (report, parts, _) = try split("\n\n", maxBytes: 100)
        XCTAssertFalse(report.valid)
        XCTAssertTrue(parts.isEmpty)
    }
}
