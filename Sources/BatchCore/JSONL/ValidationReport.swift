// ValidationReport: what validating a dataset found, with its text and JSON renderings.

/// One fault of the data, at a 1-based physical line of the file.
public struct Problem: Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var reason: String

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    /// `path:line: reason`, the form editors and CI annotators understand.
    public func rendered(file: String) -> String { "\(file):\(line): \(reason)" }

    public var description: String { "line \(line): \(reason)" }

    public var json: JSONValue { .object([("line", .int(line)), ("reason", .string(reason))]) }
}

/// The outcome of one validation pass over a dataset file.
public struct ValidationReport: Sendable {
    /// The name the file is shown under (the path as given, or `<stdin>`).
    public var file: String
    /// Non-blank lines, valid or not (the `exampleCount` of a valid dataset).
    public var rows = 0
    /// Whitespace-only lines, which are skipped.
    public var blankLines = 0
    /// Bytes read, line endings and a byte order mark included.
    public var bytes = 0
    public var format: DatasetFormat = .unspecified
    /// An estimate, not a tokenizer count: see `DatasetValidator` for the heuristic.
    public var estimatedTokens = 0
    /// Messages over all chat rows, for the gateway's `averageTurnCount`.
    public var messages = 0
    public var seconds = 0.0
    /// The first problems found (at most `DatasetValidator.Options.keptProblems`), in line order.
    public var problems: [Problem] = []
    /// All problems found, including those not kept in `problems`.
    public var problemCount = 0
    public var warnings: [Problem] = []
    public var warningCount = 0
    /// True when validation stopped at `stopAfterProblems` before the end of the file: counts are partial.
    public var stoppedEarly = false
    /// Every custom_id in file order, when `collectCustomIDs` was asked for.
    public var customIDs: [String]?
    /// With `requireOneModel`: the first row's `body.model`, the model of the batch.
    public var model: String?

    public init(file: String) { self.file = file }

    public var valid: Bool { problemCount == 0 }

    /// The problem to quote in a one-line error, such as the gateway's VALIDATING failure.
    public var firstProblem: Problem? { problems.first }

    /// Mean messages per row (0 when there are no chat rows).
    public var averageTurnCount: Double { rows > 0 && format == .chat ? Double(messages) / Double(rows) : 0 }

    /// Each kept problem as `path:line: reason`.
    public var renderedProblems: [String] { problems.map { $0.rendered(file: file) } }
    public var renderedWarnings: [String] { warnings.map { $0.rendered(file: file) } }

    /// One line for humans: what the file holds, or how many problems it has.
    public var summary: String {
        let seconds = ValidationReport.formatSeconds(self.seconds)
        let size = ValidationReport.formatBytes(bytes)
        let rowText = "\(ValidationReport.grouped(rows)) \(rows == 1 ? "row" : "rows")"
        var text: String
        if valid {
            text = "\(file): valid: \(rowText), \(size), \(format.rawValue), ~\(ValidationReport.grouped(estimatedTokens)) estimated tokens, \(seconds)"
        } else {
            let count = "\(ValidationReport.grouped(problemCount)) \(problemCount == 1 ? "problem" : "problems")"
            text = "\(file): invalid: \(count)\(stoppedEarly ? " (stopped early)" : "") in \(rowText), \(size), \(seconds)"
        }
        if warningCount > 0 { text += ", \(ValidationReport.grouped(warningCount)) \(warningCount == 1 ? "warning" : "warnings")" }
        return text
    }

    /// The whole report for `-o json` (the custom_id list is left out: it can hold millions of ids).
    public var json: JSONValue {
        .object([
            ("file", .string(file)),
            ("valid", .bool(valid)),
            ("rows", .int(rows)),
            ("blankLines", .int(blankLines)),
            ("bytes", .int(bytes)),
            ("format", .string(format.rawValue)),
            ("estimatedTokens", .int(estimatedTokens)),
            ("averageTurnCount", .double((averageTurnCount * 1000).rounded() / 1000)),
            ("seconds", .double((seconds * 1_000_000).rounded() / 1_000_000)),
            ("problemCount", .int(problemCount)),
            ("problems", .array(problems.map { $0.json })),
            ("warningCount", .int(warningCount)),
            ("warnings", .array(warnings.map { $0.json })),
            ("stoppedEarly", .bool(stoppedEarly)),
        ])
    }

    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return n < 0 ? "-" + out : out
    }

    /// Decimal units, as file managers and `ls -lh --si` show sizes.
    static func formatBytes(_ n: Int) -> String {
        if n < 1000 { return "\(n) B" }
        let units = ["kB", "MB", "GB", "TB"]
        var value = Double(n) / 1000
        var unit = 0
        while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
        return "\(fixed(value, value < 10 ? 2 : 1)) \(units[unit])"
    }

    static func formatSeconds(_ s: Double) -> String {
        s < 10 ? "\(fixed(s, 3)) s" : "\(fixed(s, 1)) s"
    }

    /// `x` with `places` decimals, without Foundation's String(format:).
    static func fixed(_ x: Double, _ places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int64((x * scale).rounded())
        let whole = scaled / Int64(scale)
        var fraction = String(scaled % Int64(scale))
        while fraction.count < places { fraction = "0" + fraction }
        return places > 0 ? "\(whole).\(fraction)" : "\(whole)"
    }
}
