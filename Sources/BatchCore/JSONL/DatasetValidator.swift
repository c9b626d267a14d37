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
        while let line = try reader.nextLine() {
            run.check(line)
            if let limit = options.stopAfterProblems, run.report.problemCount >= limit {
                run.report.stoppedEarly = true
                break
            }
        }
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

/// The state of one pass: counters, kept problems and the custom_id table.
struct ValidationRun {
    let options: DatasetValidator.Options
    var report: ValidationReport
    var ids = CustomIDTable()
    var formatLine = 0
    /// Reused for custom_ids with escapes, so only their first use allocates.
    var scratch: [UInt8] = []

    init(options: DatasetValidator.Options, file: String) {
        self.options = options
        report = ValidationReport(file: file)
    }

    mutating func problem(line: Int, _ reason: String) {
        report.problemCount += 1
        if report.problems.count < options.keptProblems { report.problems.append(Problem(line: line, reason: reason)) }
    }

    mutating func warning(line: Int, _ reason: String) {
        report.warningCount += 1
        if report.warnings.count < options.keptProblems { report.warnings.append(Problem(line: line, reason: reason)) }
    }

    mutating func check(_ line: JSONLLineReader.Line) {
        report.rows += 1
        if line.isTooLong {
            problem(line: line.number, "line is \(line.length) bytes, longer than the limit of \(ValidationRun.sizeLimit(options.maxLineBytes)) for one row")
            return
        }
        guard let base = line.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var scanner = JSONScanner(base: base, count: line.bytes.count, maxDepth: JSONValue.maxDepth)
        var facts = RowFacts()
        do throws(JSONSyntaxError) {
            try scanner.scanRow(into: &facts)
        } catch {
            problem(line: line.number, "invalid JSON at byte \(error.offset + 1): \(error.message)")
            return
        }
        if let reason = checkRow(facts, scanner, line: line.number) { problem(line: line.number, reason) }
    }

    /// The first rule of gateway-api.md §4 the row breaks, if any.
    private mutating func checkRow(_ facts: RowFacts, _ scanner: JSONScanner, line: Int) -> String? {
        guard facts.top == .object else { return "a row must be a JSON object, not \(facts.top.phrase)" }
        if let key = facts.duplicateKey { return "key \"\(key)\" appears twice" }

        switch facts.customID {
        case .absent: return "missing custom_id"
        case .string: break
        default: return "custom_id must be a string, not \(facts.customID.phrase)"
        }
        if facts.customIDSpan.length == 0 { return "custom_id must not be empty" }
        if let first = registerCustomID(facts.customIDSpan, scanner, line: line) {
            return "duplicate custom_id \(ValidationRun.quoted(scanner.decode(facts.customIDSpan))) (first seen on line \(first))"
        }

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

        let format: DatasetFormat
        switch (facts.messages != .absent, facts.promptTokenIDs != .absent) {
        case (true, true): return "body has both messages and prompt_token_ids; use one of them"
        case (false, false): return "body needs messages (a chat row) or prompt_token_ids (a completion row)"
        case (true, false):
            format = .chat
            if let reason = checkMessages(facts) { return reason }
        case (false, true):
            format = .completion
            if let reason = checkTokenIDs(facts, scanner) { return reason }
        }

        switch facts.stream {
        case .absent, .false: break
        case .true: return "body.stream is true, but batch rows cannot stream"
        default: return "body.stream must be a boolean, not \(facts.stream.phrase)"
        }

        if report.format == .unspecified {
            report.format = format
            formatLine = line
        } else if report.format != format {
            return "this row is \(ValidationRun.describe(format)) but line \(formatLine) is \(ValidationRun.describe(report.format)); a dataset has one format"
        }

        switch facts.model {
        case .absent: break
        case .string:
            warning(line: line, "body.model \(ValidationRun.quoted(scanner.decode(facts.modelSpan))) is ignored: the job's model is used")
        default:
            warning(line: line, "body.model is ignored: the job's model is used")
        }

        if format == .chat {
            report.estimatedTokens += (facts.textBytes + 3) / 4 + 4 * facts.messageCount + 3
            report.messages += facts.messageCount
        } else {
            report.estimatedTokens += facts.promptTokenCount
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

    /// Records the id; returns the line of its first use when it was seen before.
    private mutating func registerCustomID(_ span: StringSpan, _ scanner: JSONScanner, line: Int) -> Int? {
        if !span.escaped {
            return ids.insert(UnsafeBufferPointer(start: scanner.base + span.start, count: span.length), line: line)
        }
        scratch = scanner.decode(span)
        return scratch.withUnsafeBufferPointer { ids.insert($0, line: line) }
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
