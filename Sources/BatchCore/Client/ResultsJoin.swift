// ResultsJoin: a job's answers joined to its input rows, in input order, across the output datasets of its
// lineage, from files on disk; memory grows with the number of rows, never with the bytes of the answers.
import BatchJSONL
import Foundation

/// What became of one input row.
public enum ResultStatus: String, CaseIterable, Sendable {
    case succeeded, failed, missing
}

/// One row of the join, handed to a sink. The byte views are valid only during the call.
public struct ResultRow {
    public var status: ResultStatus
    /// The custom_id as the JSON string literal the input wrote (quotes included).
    public var customIDLiteral: UnsafeRawBufferPointer
    /// The `response` (succeeded) or `error` (failed) value as the output file wrote it; nil when missing.
    public var payload: UnsafeRawBufferPointer?
    /// The name of the job whose output dataset held the row, when known.
    public var job: String?
    /// The input row's `body`, when asked for.
    public var body: UnsafeRawBufferPointer?
}

/// The counts of a join and what was odd in the outputs, each odd custom_id named (up to `keptNames`).
public struct ResultsSummary: Sendable {
    public var rows = 0
    public var succeeded = 0
    public var failed = 0
    public var missing = 0
    /// Failed rows by their error's `code` (a number or a name, as the output wrote it).
    public var failedByCode: [String: Int] = [:]
    /// The same custom_id more than once in one output dataset, or successful in more than one.
    public var duplicates: [String] = []
    public var duplicateCount = 0
    /// custom_ids of the outputs that no input row has.
    public var unknown: [String] = []
    public var unknownCount = 0
    /// Lines of the output or input files that are not rows (bad JSON, no custom_id, neither response nor error).
    public var unreadable: [String] = []
    public var unreadableCount = 0

    public static let keptNames = 20

    public init() {}

    public var notSucceeded: Int { failed + missing }

    mutating func duplicate(_ text: String) {
        duplicateCount += 1
        if duplicates.count < Self.keptNames { duplicates.append(text) }
    }

    mutating func unknown(_ text: String) {
        unknownCount += 1
        if unknown.count < Self.keptNames { unknown.append(text) }
    }

    mutating func unreadable(_ text: String) {
        unreadableCount += 1
        if unreadable.count < Self.keptNames { unreadable.append(text) }
    }

    mutating func count(_ status: ResultStatus, errorCode: String? = nil) {
        rows += 1
        switch status {
        case .succeeded: succeeded += 1
        case .failed:
            failed += 1
            failedByCode[errorCode ?? "unknown", default: 0] += 1
        case .missing: missing += 1
        }
    }

    /// Adds another job's summary (several jobs at once).
    public mutating func merge(_ other: ResultsSummary) {
        rows += other.rows; succeeded += other.succeeded; failed += other.failed; missing += other.missing
        for (code, n) in other.failedByCode { failedByCode[code, default: 0] += n }
        for d in other.duplicates { duplicate(d) }
        duplicateCount += other.duplicateCount - other.duplicates.count
        for u in other.unknown { unknown(u) }
        unknownCount += other.unknownCount - other.unknown.count
        for u in other.unreadable { unreadable(u) }
        unreadableCount += other.unreadableCount - other.unreadable.count
    }

    /// The code of an `error` value: `{"code": 400, ...}` or `{"code": "INVALID_ARGUMENT", ...}`.
    static func errorCode(_ payload: UnsafeRawBufferPointer) -> String {
        guard let value = try? JSONValue(parsing: payload), let code = value["code"] else { return "unknown" }
        switch code {
        case let .string(s): return s
        case let .number(n): return n
        default: return "unknown"
        }
    }
}

/// A failure to read a downloaded or local file during the join.
public struct ResultsFileError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// The join of one job: index the output files (oldest dataset first), then stream the input.
///
/// The index maps each custom_id of the outputs to where its winning value sits (file, offset, length): a
/// success beats a failure, and among equals the later dataset wins ("the latest success wins"). The input is
/// then read in order and each row's value is read back with `pread`, so only one row is ever in memory.
public struct ResultsJoin {
    /// One file of an output dataset, on disk.
    public struct OutputFile: Sendable {
        public var path: String
        /// How messages name it (`dataset/<id>/BIJOutputSet.jsonl`).
        public var displayName: String
        /// The position of its dataset in the lineage, oldest first.
        public var dataset: Int
        /// The job that produced the dataset, when known.
        public var job: String?

        public init(path: String, displayName: String, dataset: Int, job: String?) {
            self.path = path; self.displayName = displayName; self.dataset = dataset; self.job = job
        }
    }

    struct Entry {
        var offset: Int64
        var length: Int32
        var line: Int32
        var file: UInt16
        var succeeded: Bool
        var used: Bool
    }

    public let outputs: [OutputFile]
    private var ids = CustomIDIndex()
    private var entries: [Entry] = []
    public private(set) var summary = ResultsSummary()

    public init(outputs: [OutputFile]) {
        precondition(outputs.count < Int(UInt16.max), "too many output files")
        self.outputs = outputs
    }

    /// Rows indexed so far (distinct custom_ids of the outputs).
    public var indexedIDs: Int { ids.count }

    // MARK: index

    /// Reads every output file once, in the order given (which must be oldest dataset first).
    public mutating func buildIndex() throws {
        for (number, file) in outputs.enumerated() { try index(file, number: number) }
    }

    private mutating func index(_ file: OutputFile, number: Int) throws {
        let reader: JSONLLineReader
        do { reader = try JSONLLineReader(path: file.path) } catch {
            throw ResultsFileError(message: "cannot read \(file.displayName): \(error)")
        }
        do {
            while let line = try reader.nextLine() {
                guard !line.isTooLong, let members = try? RowMembers.scan(line.bytes) else {
                    summary.unreadable("\(file.displayName):\(line.number): not a JSON object")
                    continue
                }
                let value: Range<Int>
                let succeeded: Bool
                if let r = members.response { value = r; succeeded = true } else if let e = members.error { value = e; succeeded = false } else {
                    summary.unreadable("\(file.displayName):\(line.number): neither a response nor an error")
                    continue
                }
                let entry = Entry(offset: Int64(line.offset + value.lowerBound), length: Int32(value.count),
                                  line: Int32(clamping: line.number), file: UInt16(number), succeeded: succeeded, used: false)
                let known = members.withCustomID(in: line.bytes) { ids.insert($0) }
                guard let (e, inserted) = known else {
                    summary.unreadable("\(file.displayName):\(line.number): no custom_id")
                    continue
                }
                if inserted {
                    entries.append(entry)
                } else {
                    merge(entry, into: e)
                }
            }
        } catch {
            throw ResultsFileError(message: "cannot read \(file.displayName): \(error)")
        }
    }

    /// A second result for one custom_id: a success beats a failure, the later dataset beats the earlier,
    /// and a repeat inside one dataset (or a second success anywhere) is reported.
    private mutating func merge(_ new: Entry, into e: Int) {
        let old = entries[e]
        let oldFile = outputs[Int(old.file)], newFile = outputs[Int(new.file)]
        let name = Self.quoted(ids.id(ofEntry: e))
        if oldFile.dataset == newFile.dataset {
            summary.duplicate("\(name) in \(newFile.displayName):\(new.line) and \(oldFile.displayName):\(old.line)")
        } else if old.succeeded, new.succeeded {
            summary.duplicate("\(name) succeeded in \(oldFile.displayName):\(old.line) and again in \(newFile.displayName):\(new.line) (the latest is used)")
        }
        if new.succeeded || !old.succeeded { entries[e] = new }
    }

    // MARK: stream

    /// Streams the input files in order: one row per input row, to `sink`. `withBody` hands over each input
    /// row's `body` too. Afterwards, the summary names the custom_ids of the outputs that no input row has.
    public mutating func stream(inputs: [(path: String, displayName: String)], withBody: Bool,
                                sink: (ResultRow) throws -> Void) throws -> ResultsSummary {
        var descriptors: [Int32] = []
        defer { for fd in descriptors { close(fd) } }
        for file in outputs {
            let fd = open(file.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ResultsFileError(message: "cannot read \(file.displayName): \(String(cString: strerror(errno)))") }
            descriptors.append(fd)
        }
        var value = [UInt8](repeating: 0, count: 1 << 16)
        for input in inputs {
            let reader: JSONLLineReader
            do { reader = try JSONLLineReader(path: input.path) } catch {
                throw ResultsFileError(message: "cannot read \(input.displayName): \(error)")
            }
            do {
                while let line = try reader.nextLine() {
                    guard !line.isTooLong, let members = try? RowMembers.scan(line.bytes), let idRange = members.customID else {
                        summary.unreadable("\(input.displayName):\(line.number): an input row without a custom_id")
                        continue
                    }
                    let literal = UnsafeRawBufferPointer(rebasing: line.bytes[(idRange.lowerBound - 1)..<(idRange.upperBound + 1)])
                    let body = withBody ? members.body.map { UnsafeRawBufferPointer(rebasing: line.bytes[$0]) } : nil
                    let found = members.withCustomID(in: line.bytes) { ids.find($0) } ?? nil
                    guard let e = found else {
                        summary.count(.missing)
                        try sink(ResultRow(status: .missing, customIDLiteral: literal, payload: nil, job: nil, body: body))
                        continue
                    }
                    entries[e].used = true
                    let entry = entries[e]
                    let length = Int(entry.length)
                    if value.count < length { value = [UInt8](repeating: 0, count: length) }
                    try value.withUnsafeMutableBytes { buffer in
                        try Self.readFully(descriptors[Int(entry.file)], into: buffer.baseAddress!, count: length, at: entry.offset,
                                           name: outputs[Int(entry.file)].displayName)
                        let payload = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<length])
                        let status: ResultStatus = entry.succeeded ? .succeeded : .failed
                        summary.count(status, errorCode: entry.succeeded ? nil : ResultsSummary.errorCode(payload))
                        try sink(ResultRow(status: status, customIDLiteral: literal, payload: payload,
                                           job: outputs[Int(entry.file)].job, body: body))
                    }
                }
            } catch let error as DatasetReadError {
                throw ResultsFileError(message: "cannot read \(input.displayName): \(error)")
            }
        }
        for e in entries.indices where !entries[e].used {
            let file = outputs[Int(entries[e].file)]
            summary.unknown("\(Self.quoted(ids.id(ofEntry: e))) in \(file.displayName):\(entries[e].line)")
        }
        return summary
    }

    /// Cuts a file after its last newline: the torn last line of a running job's growing output is not a
    /// row yet (the next read will have it whole). Returns the bytes dropped.
    @discardableResult
    public static func dropTornTail(path: String) throws -> Int {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw ResultsFileError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ResultsFileError(message: "cannot read \(path): \(String(cString: strerror(errno)))") }
        let size = Int64(info.st_size)
        var end = size
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while end > 0 {
            let start = max(0, end - Int64(buffer.count))
            let count = Int(end - start)
            try buffer.withUnsafeMutableBytes { try readFully(fd, into: $0.baseAddress!, count: count, at: start, name: path) }
            if let last = buffer[0..<count].lastIndex(of: 0x0A) {
                let keep = start + Int64(last) + 1
                if keep < size, ftruncate(fd, off_t(keep)) != 0 {
                    throw ResultsFileError(message: "cannot truncate \(path): \(String(cString: strerror(errno)))")
                }
                return Int(size - keep)
            }
            end = start
        }
        if size > 0, ftruncate(fd, 0) != 0 { throw ResultsFileError(message: "cannot truncate \(path): \(String(cString: strerror(errno)))") }
        return Int(size)
    }

    static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64, name: String) throws {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw ResultsFileError(message: "cannot read \(name): " + (n == 0 ? "the file shrank while it was read" : String(cString: strerror(errno))))
            }
            done += n
        }
    }

    /// A custom_id for a message: JSON-quoted, cut to a readable length.
    static func quoted(_ bytes: [UInt8]) -> String {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.count > 80 { text = String(text.prefix(77)) + "..." }
        return JSONValue.string(text).compactText
    }
}
