// DatasetValidator: one streaming pass that checks a batch-input JSONL file row by row (gateway-api.md §4).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Validates batch-input datasets: every line a JSON object with a unique non-empty `custom_id` and a chat
/// (`messages`) or completion (`prompt_token_ids`) `body`, all rows of one format.
///
/// Token estimate (an estimate, not a tokenizer count): for a chat row, the bytes of its text content
/// (string contents and `text` parts, as written in the file) divided by 4 and rounded up, plus 4 per
/// message and 3 per row for the chat template; for a completion row, the number of `prompt_token_ids`.
public struct DatasetValidator: Sendable {
    public struct Options: Sendable {
        /// How many problems (and warnings) the report keeps; all are counted.
        public var keptProblems = 20
        /// Stop reading after this many problems (nil reads the whole file).
        public var stopAfterProblems: Int?
        /// Keep every custom_id, in file order, in `ValidationReport.customIDs`.
        public var collectCustomIDs = false
        public var bufferSize = JSONLLineReader.defaultBufferSize
        /// Longer lines are reported as a problem without being held in memory.
        public var maxLineBytes = JSONLLineReader.defaultMaxLineBytes
        /// The OpenAI Batch API's rule: every row names its model in `body.model`, the same in all rows (the
        /// batch has one model, `ValidationReport.model`). Off, `body.model` is ignored with a warning, since a
        /// Fireworks job names its model itself.
        public var requireOneModel = false
        /// The format the dataset is declared to have (`dataset create --format`): a row of another format is a
        /// problem. Nil: the first row decides.
        public var expectedFormat: DatasetFormat?

        public init(keptProblems: Int = 20, stopAfterProblems: Int? = nil, collectCustomIDs: Bool = false) {
            self.keptProblems = keptProblems
            self.stopAfterProblems = stopAfterProblems
            self.collectCustomIDs = collectCustomIDs
        }
    }

    public static let roles = ["system", "user", "assistant", "tool"]
    public static let chatURL = "/v1/chat/completions"

    public var options: Options

    public init(_ options: Options = Options()) { self.options = options }

    /// Validates the file at `path` (`-` for standard input). Throws `DatasetReadError` when the file cannot be
    /// opened or read; bad data is reported, not thrown.
    public func validate(path: String) throws(DatasetReadError) -> ValidationReport {
        let reader = try JSONLLineReader(path: path, bufferSize: options.bufferSize, maxLineBytes: options.maxLineBytes)
        return try validate(reader: reader)
    }

    /// Validates what an open descriptor yields (left open), naming it `displayName` in messages.
    public func validate(fileDescriptor: Int32, displayName: String) throws(DatasetReadError) -> ValidationReport {
        let reader = JSONLLineReader(fileDescriptor: fileDescriptor, displayName: displayName, bufferSize: options.bufferSize,
                                     maxLineBytes: options.maxLineBytes)
        return try validate(reader: reader)
    }

    /// Validates bytes already in memory.
    public func validate(bytes: [UInt8], displayName: String) -> ValidationReport {
        let reader = JSONLLineReader(bytes: bytes, displayName: displayName, bufferSize: options.bufferSize,
                                     maxLineBytes: options.maxLineBytes)
        do throws(DatasetReadError) {
            return try validate(reader: reader)
        } catch {
            // Memory cannot fail to read; keep the signature free of a throw that cannot happen.
            var report = ValidationReport(file: displayName)
            report.problemCount = 1
            report.problems = [Problem(line: 1, reason: error.description)]
            return report
        }
    }

    /// Validates the lines of `reader` from where it stands.
    public func validate(reader: JSONLLineReader) throws(DatasetReadError) -> ValidationReport {
        let started = DatasetValidator.now()
        reader.skipBlankLines = true
        var run = ValidationRun(options: options, file: reader.displayName)
        while !run.stopped, let line = try reader.nextLine() {
            run.check(line)
        }
        run.flush()
        run.report.blankLines = reader.blankLines
        run.report.bytes = reader.bytesRead
        if run.report.rows == 0 {
            run.problem(line: 1, reader.blankLines > 0 ? "the dataset has no rows (only blank lines)" : "the dataset has no rows (the file is empty)")
        }
        if options.collectCustomIDs { run.report.customIDs = run.ids.strings() }
        run.report.seconds = DatasetValidator.now() - started
        return run.report
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// One row's verdict, held back until its custom_id is looked up with those of the rows around it.
struct PendingRow {
    var line: Int
    /// A fault that outranks a duplicate custom_id (bad JSON, not an object, a bad or missing custom_id).
    var early: String?
    /// A fault that a duplicate custom_id outranks (everything about method, url and body).
    var late: String?
    var id: CustomIDTable.Staged?
    var format: DatasetFormat = .unspecified
    var estimatedTokens = 0
    var messages = 0
    var warning: String?
}

/// The state of one pass: counters, kept problems and the custom_id table.
///
/// Rows are judged as they are scanned, but their custom_ids are entered into the table 64 rows at a time:
/// a table of a million ids is far bigger than the CPU caches, so each lookup waits for memory, and a batch
/// lets those waits overlap instead of queueing. Verdicts are then applied in line order, so the report
/// is exactly what one row at a time would give.
struct ValidationRun {
    static let batchSize = 64

    let options: DatasetValidator.Options
    var report: ValidationReport
    var ids = CustomIDTable()
    var formatLine = 0
    /// With `requireOneModel`: the first row's `body.model` and its line.
    var model: [UInt8]?
    var modelLine = 0
    var pending: [PendingRow] = []
    /// Set once `stopAfterProblems` is reached.
    var stopped = false

    init(options: DatasetValidator.Options, file: String) {
        self.options = options
        report = ValidationReport(file: file)
        if let expected = options.expectedFormat { report.format = expected }
        pending.reserveCapacity(ValidationRun.batchSize)
    }

    mutating func problem(line: Int, _ reason: String) {
        report.problemCount += 1
        if report.problems.count < options.keptProblems { report.problems.append(Problem(line: line, reason: reason)) }
        if let limit = options.stopAfterProblems, report.problemCount >= limit {
            stopped = true
            report.stoppedEarly = true
        }
    }

    mutating func warning(line: Int, _ reason: String) {
        report.warningCount += 1
        if report.warnings.count < options.keptProblems { report.warnings.append(Problem(line: line, reason: reason)) }
    }

    mutating func check(_ line: JSONLLineReader.Line) {
        var row = PendingRow(line: line.number)
        if line.isTooLong {
            row.early = "line is \(line.length) bytes, longer than the limit of \(ValidationRun.sizeLimit(options.maxLineBytes)) for one row"
        } else if let base = line.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            var scanner = JSONScanner(base: base, count: line.bytes.count, maxDepth: JSONValue.maxDepth)
            var facts = RowFacts()
            do throws(JSONSyntaxError) {
                try scanner.scanRow(into: &facts)
                judge(facts, scanner, into: &row)
            } catch {
                row.early = "invalid JSON at byte \(error.offset + 1): \(error.message)"
            }
        }
        pending.append(row)
        if pending.count >= ValidationRun.batchSize { flush() }
    }

    /// Applies the pending verdicts in line order.
    mutating func flush() {
        ids.touch(pending.lazy.compactMap { $0.id })
        for row in pending {
            if stopped { break }
            report.rows += 1
            var reason = row.early
            if reason == nil, let id = row.id, let first = ids.commit(id, line: row.line) {
                reason = "duplicate custom_id \(ValidationRun.quoted(ids.bytes(of: id))) (first seen on line \(first))"
            }
            if reason == nil { reason = row.late }
            if reason == nil, row.format != .unspecified {
                if report.format == .unspecified {
                    report.format = row.format
                    formatLine = row.line
                } else if report.format != row.format {
                    if formatLine == 0 {
                        reason = "this row is \(ValidationRun.describe(row.format)) but the dataset is declared \(report.format.rawValue)"
                    } else {
                        reason = "this row is \(ValidationRun.describe(row.format)) but line \(formatLine) is \(ValidationRun.describe(report.format)); a dataset has one format"
                    }
                }
            }
            if let reason {
                problem(line: row.line, reason)
                continue
            }
            report.estimatedTokens += row.estimatedTokens
            report.messages += row.messages
            if let text = row.warning { warning(line: row.line, text) }
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Fills in the row's verdict from what the scan found.
    private mutating func judge(_ facts: RowFacts, _ scanner: JSONScanner, into row: inout PendingRow) {
        if let fault = identityFault(facts) {
            row.early = fault
            return
        }
        let span = facts.customIDSpan
        if span.escaped {
            row.id = scanner.decode(span).withUnsafeBufferPointer { ids.stage($0) }
        } else {
            row.id = ids.stage(UnsafeBufferPointer(start: scanner.base + span.start, count: span.length))
        }
        if let fault = contentFault(facts, scanner) {
            row.late = fault
            return
        }
        if facts.messages != .absent {
            row.format = .chat
            row.estimatedTokens = (facts.textBytes + 3) / 4 + 4 * facts.messageCount + 3
            row.messages = facts.messageCount
        } else {
            row.format = .completion
            row.estimatedTokens = facts.promptTokenCount
        }
        if options.requireOneModel {
            row.late = modelFault(facts, scanner, line: row.line)
            return
        }
        switch facts.model {
        case .absent: break
        case .string: row.warning = "body.model \(ValidationRun.quoted(scanner.decode(facts.modelSpan))) is ignored: the job's model is used"
        default: row.warning = "body.model is ignored: the job's model is used"
        }
    }

    /// `requireOneModel`: the row's `body.model` must be a string, and the first row's.
    private mutating func modelFault(_ facts: RowFacts, _ scanner: JSONScanner, line: Int) -> String? {
        switch facts.model {
        case .absent: return "missing body.model: each row names its model, the same in every row of a batch"
        case .string: break
        default: return "body.model must be a string, not \(facts.model.phrase)"
        }
        let name = scanner.decode(facts.modelSpan)
        if name.isEmpty { return "body.model must not be empty" }
        guard let first = model else {
            model = name
            modelLine = line
            report.model = String(decoding: name, as: UTF8.self)
            return nil
        }
        if name == first { return nil }
        return "body.model \(ValidationRun.quoted(name)) differs from \(ValidationRun.quoted(first)) on line \(modelLine): a batch has one model"
    }

    /// The row's shape and custom_id, checked before the custom_id is looked up.
    private func identityFault(_ facts: RowFacts) -> String? {
        guard facts.top == .object else { return "a row must be a JSON object, not \(facts.top.phrase)" }
        if let key = facts.duplicateKey { return "key \"\(key)\" appears twice" }
        switch facts.customID {
        case .absent: return "missing custom_id"
        case .string: break
        default: return "custom_id must be a string, not \(facts.customID.phrase)"
        }
        if facts.customIDSpan.length == 0 { return "custom_id must not be empty" }
        return nil
    }

    /// The rules of gateway-api.md §4 about method, url and body: the first one the row breaks, if any.
    private func contentFault(_ facts: RowFacts, _ scanner: JSONScanner) -> String? {
        if facts.method != .absent {
            guard facts.method == .string else { return "method must be \"POST\", not \(facts.method.phrase)" }
            if !scanner.spanEquals(facts.methodSpan, "POST") {
                return "method must be \"POST\", not \(ValidationRun.quoted(scanner.decode(facts.methodSpan)))"
            }
        }
        if facts.url != .absent {
            guard facts.url == .string else { return "url must be \"\(DatasetValidator.chatURL)\", not \(facts.url.phrase)" }
            if !scanner.spanEquals(facts.urlSpan, "/v1/chat/completions") {
                return "url must be \"\(DatasetValidator.chatURL)\", not \(ValidationRun.quoted(scanner.decode(facts.urlSpan)))"
            }
        }

        switch facts.body {
        case .absent: return "missing body"
        case .object: break
        default: return "body must be an object, not \(facts.body.phrase)"
        }

        switch (facts.messages != .absent, facts.promptTokenIDs != .absent) {
        case (true, true): return "body has both messages and prompt_token_ids; use one of them"
        case (false, false): return "body needs messages (a chat row) or prompt_token_ids (a completion row)"
        case (true, false):
            if let reason = checkMessages(facts) { return reason }
        case (false, true):
            if let reason = checkTokenIDs(facts, scanner) { return reason }
        }

        switch facts.stream {
        case .absent, .false: break
        case .true: return "body.stream is true, but batch rows cannot stream"
        default: return "body.stream must be a boolean, not \(facts.stream.phrase)"
        }

        return nil
    }

    private func checkMessages(_ facts: RowFacts) -> String? {
        guard facts.messages == .array else { return "body.messages must be an array, not \(facts.messages.phrase)" }
        guard facts.messageCount > 0 else { return "body.messages must not be empty" }
        guard let (index, fault) = facts.messageFault else { return nil }
        let path = "body.messages[\(index)]"
        switch fault {
        case let .notObject(kind): return "\(path) must be an object, not \(kind.phrase)"
        case let .duplicateKey(key): return "key \"\(path).\(key)\" appears twice"
        case .missingRole: return "\(path) has no role"
        case let .roleNotString(kind): return "\(path).role must be a string, not \(kind.phrase)"
        case let .unknownRole(role):
            return "\(path).role must be one of \(DatasetValidator.roles.joined(separator: ", ")), not \(ValidationRun.quoted(role))"
        case .missingContent: return "\(path) has no content (only an assistant message with tool_calls may leave it out)"
        case .nullContent: return "\(path).content is null (only an assistant message with tool_calls may have null content)"
        case let .contentKind(kind): return "\(path).content must be a string or an array of parts, not \(kind.phrase)"
        case let .partNotObject(part, kind): return "\(path).content[\(part)] must be an object, not \(kind.phrase)"
        }
    }

    private func checkTokenIDs(_ facts: RowFacts, _ scanner: JSONScanner) -> String? {
        guard facts.promptTokenIDs == .array else {
            return "body.prompt_token_ids must be an array, not \(facts.promptTokenIDs.phrase)"
        }
        guard facts.promptTokenCount > 0 else { return "body.prompt_token_ids must not be empty" }
        guard let fault = facts.promptFault else { return nil }
        let got: String
        if fault.kind == .number {
            got = String(decoding: UnsafeBufferPointer(start: scanner.base + fault.start, count: fault.end - fault.start), as: UTF8.self)
        } else {
            got = fault.kind.phrase
        }
        return "body.prompt_token_ids[\(fault.index)] must be a non-negative integer, not \(got)"
    }

    static func describe(_ format: DatasetFormat) -> String {
        format == .chat ? "a chat row (messages)" : "a completion row (prompt_token_ids)"
    }

    /// A value quoted as JSON for a message, cut to a readable length.
    static func quoted(_ bytes: [UInt8]) -> String {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.count > 80 { text = String(text.prefix(77)) + "..." }
        var out: [UInt8] = []
        JSONValue.writeString(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func sizeLimit(_ n: Int) -> String {
        n % (1 << 20) == 0 ? "\(n >> 20) MiB" : "\(n) bytes"
    }
}
