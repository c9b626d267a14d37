// JSONLSplitter: cuts a dataset file into parts at line boundaries, validating every row in the same pass.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One part of a split: a byte range of the input that starts and ends on a line boundary.
public struct SplitPart: Sendable, Equatable {
    /// 1-based.
    public var number: Int
    /// Where the part starts in the input, and how many bytes it holds (line endings, blank lines and, for the
    /// first part, a byte order mark included, so the parts concatenated are the input byte for byte).
    public var offset: Int
    public var length: Int
    public var rows: Int
    /// The input's line number of the part's first row.
    public var firstLine: Int

    public init(number: Int, offset: Int, length: Int, rows: Int, firstLine: Int) {
        self.number = number; self.offset = offset; self.length = length; self.rows = rows; self.firstLine = firstLine
    }
}

/// A row too big for any part: the split cannot go on without cutting it.
public struct SplitRowTooLarge: Error, Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var bytes: Int
    public var limit: Int
    public var description: String {
        "line \(line) is \(ValidationReport.grouped(bytes)) bytes with its line ending, more than the part limit of \(ValidationReport.grouped(limit)) bytes; a part never cuts a line"
    }
}

/// Splits a JSONL file into parts of at most `maxBytes` bytes and at most `maxRows` rows.
///
/// Each row is validated with the rules of `DatasetValidator` as it is read, with one custom_id table for the
/// whole file, so ids are unique across parts and every problem is reported with the input's line number. A
/// part is handed to `writePart` only once all its rows have been checked and no problem has been found so
/// far; after the first problem no further part is handed over (the caller removes those it wrote) but the
/// rest of the file is still read, so the report counts every problem. Memory: the reader's buffer and the
/// custom_id table.
public struct JSONLSplitter: Sendable {
    public var maxBytes: Int
    public var maxRows: Int?
    public var options: DatasetValidator.Options

    public init(maxBytes: Int, maxRows: Int? = nil, options: DatasetValidator.Options = DatasetValidator.Options()) {
        self.maxBytes = max(1, maxBytes)
        self.maxRows = maxRows.map { max(1, $0) }
        self.options = options
    }

    /// Reads `path` once. Throws `DatasetReadError` when it cannot be read, `SplitRowTooLarge` when a row
    /// exceeds `maxBytes`, and whatever `writePart` throws.
    public func split(path: String, writePart: (SplitPart) throws -> Void) throws -> (report: ValidationReport, parts: [SplitPart]) {
        let started = DatasetValidator.now()
        let reader = try JSONLLineReader(path: path, bufferSize: options.bufferSize, maxLineBytes: options.maxLineBytes)
        reader.skipBlankLines = true
        var run = ValidationRun(options: options, file: reader.displayName)
        var parts: [SplitPart] = []
        var partStart = 0, partRows = 0, partFirstLine = 0
        // The last row read: its extent is known only when the next row (or the end) shows where it stops.
        var pending: (offset: Int, line: Int)?

        func close(at end: Int) throws {
            run.flush()
            let part = SplitPart(number: parts.count + 1, offset: partStart, length: end - partStart, rows: partRows,
                                 firstLine: partFirstLine)
            parts.append(part)
            if run.report.problemCount == 0 { try writePart(part) }
            partStart = end
            partRows = 0
        }

        /// Places the pending row, which ends at `end`, in the current part or starts a new one with it.
        func place(endingAt end: Int) throws {
            guard let row = pending else { return }
            if end - row.offset > maxBytes { throw SplitRowTooLarge(line: row.line, bytes: end - row.offset, limit: maxBytes) }
            if partRows > 0, end - partStart > maxBytes || partRows == (maxRows ?? Int.max) { try close(at: row.offset) }
            if partRows == 0 { partFirstLine = row.line }
            partRows += 1
        }

        while let line = try reader.nextLine() {
            try place(endingAt: line.offset)
            pending = (line.offset, line.number)
            run.check(line)
        }
        try place(endingAt: reader.bytesRead)
        if partRows > 0 { try close(at: reader.bytesRead) }
        run.flush()
        run.report.blankLines = reader.blankLines
        run.report.bytes = reader.bytesRead
        if run.report.rows == 0 {
            run.problem(line: 1, reader.blankLines > 0 ? "the dataset has no rows (only blank lines)" : "the dataset has no rows (the file is empty)")
        }
        run.report.seconds = DatasetValidator.now() - started
        return (run.report, parts)
    }
}
