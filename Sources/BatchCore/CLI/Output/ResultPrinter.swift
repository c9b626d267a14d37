// ResultPrinter: the rows of `bij results` as JSONL, one JSON array, a table, custom_ids or answer text,
// streamed: the JSON formats splice the row's bytes as the files wrote them, without re-encoding.
import BatchClient
import BatchJSONL
import Foundation

final class ResultPrinter {
    enum Format: Equatable {
        case jsonl, json, table, wide, name, content

        /// From `-o` (jsonl by default) and `--content`; text makes no sense for rows and is refused.
        init(_ output: OutputFormat?, content: Bool, command: String) throws {
            if content {
                guard output == nil else { throw CLIError.usage("--content prints plain text; it cannot be combined with -o", command: command) }
                self = .content
                return
            }
            switch output {
            case nil, .jsonl?: self = .jsonl
            case .json?: self = .json
            case .table?: self = .table
            case .wide?: self = .wide
            case .name?: self = .name
            case .text?: throw CLIError.usage("-o text does not apply to result rows: use jsonl (the default), json, table, wide or name", command: command)
            }
        }
    }

    let streams: IOStreams
    let format: Format
    let statuses: Set<ResultStatus>?
    private var out: [UInt8] = []
    private var printed = 0
    private var jobLiterals: [String: [UInt8]] = [:]
    /// A table's first rows, held back until the column widths are known.
    private var heldRows: [[String]] = []
    private var widths: [Int]?
    static let heldRowLimit = 100
    static let drainBytes = 1 << 18

    init(streams: IOStreams, format: Format, statuses: Set<ResultStatus>?) {
        self.streams = streams
        self.format = format
        self.statuses = statuses
        out.reserveCapacity(Self.drainBytes + (1 << 16))
    }

    func print(_ row: ResultRow) throws {
        if let statuses, !statuses.contains(row.status) { return }
        switch format {
        case .jsonl:
            appendJSON(row)
            out.append(0x0A)
        case .json:
            out += printed == 0 ? Array("[\n".utf8) : Array(",\n".utf8)
            appendJSON(row)
        case .name:
            out += Array(Self.text(ofLiteral: row.customIDLiteral).utf8)
            out.append(0x0A)
        case .content:
            if row.status == .succeeded, let payload = row.payload, let text = Self.answerText(payload) {
                out += Array(Self.oneLine(text, newline: "\\n").utf8)
            }
            out.append(0x0A)
        case .table, .wide:
            table(cells(row))
        }
        printed += 1
        if out.count >= Self.drainBytes { drain() }
    }

    /// Writes what is buffered (a table fixes its column widths from the rows so far) and flushes stdout.
    func flush() {
        if format == .table || format == .wide { settleWidths() }
        drain()
        streams.flush()
    }

    func finish() {
        switch format {
        case .json: out += printed == 0 ? Array("[]\n".utf8) : Array("\n]\n".utf8)
        case .table, .wide: settleWidths()
        default: break
        }
        drain()
    }

    private func drain() {
        guard !out.isEmpty else { return }
        streams.print(String(decoding: out, as: UTF8.self), terminator: "")
        out.removeAll(keepingCapacity: true)
    }

    // MARK: JSON

    private func appendJSON(_ row: ResultRow) {
        out += Array(#"{"custom_id":"#.utf8)
        out += row.customIDLiteral
        out += Array(#","status":""#.utf8)
        out += Array(row.status.rawValue.utf8)
        out.append(0x22)
        if let payload = row.payload {
            out += Array((row.status == .succeeded ? #","response":"# : #","error":"#).utf8)
            out += payload
        }
        out += Array(#","job":"#.utf8)
        if let job = row.job {
            if jobLiterals[job] == nil { jobLiterals[job] = JSONValue.string(job).serialized() }
            out += jobLiterals[job]!
        } else {
            out += Array("null".utf8)
        }
        if let body = row.body {
            out += Array(#","body":"#.utf8)
            out += body
        }
        out.append(0x7D)
    }

    // MARK: table

    private func cells(_ row: ResultRow) -> [String] {
        var tokens = "-"
        var answer = "-"
        if let payload = row.payload, let value = try? JSONValue(parsing: payload) {
            if row.status == .succeeded {
                if let total = value["usage"]?["total_tokens"]?.int64Value { tokens = String(total) }
                answer = Self.answerText(value) ?? ""
            } else {
                let code = value["code"].map { $0.stringValue ?? $0.compactText } ?? ""
                answer = "error \(code): \(value["message"]?.stringValue ?? value.compactText)"
            }
        }
        var cells = [Self.text(ofLiteral: row.customIDLiteral), row.status.rawValue, tokens, Self.clip(Self.oneLine(answer, newline: " "), 60)]
        if format == .wide { cells.append(row.job ?? "-") }
        return cells
    }

    private var headers: [String] { ["CUSTOM_ID", "STATUS", "TOKENS", "ANSWER"] + (format == .wide ? ["JOB"] : []) }

    private func table(_ cells: [String]) {
        if widths == nil {
            heldRows.append(cells)
            if heldRows.count >= Self.heldRowLimit { settleWidths() }
            return
        }
        line(cells)
    }

    private func settleWidths() {
        guard widths == nil else { return }
        guard printed > 0 || !heldRows.isEmpty else { return }
        var w = headers.map(\.count)
        for row in heldRows { for (i, cell) in row.enumerated() { w[i] = max(w[i], cell.count) } }
        widths = w
        line(headers)
        for row in heldRows { line(row) }
        heldRows = []
    }

    private func line(_ cells: [String]) {
        var text = ""
        for (i, cell) in cells.enumerated() {
            if i == cells.count - 1 { text += cell; break }
            text += cell + String(repeating: " ", count: max(1, (widths?[i] ?? 0) - cell.count + 3))
        }
        out += Array(text.utf8)
        out.append(0x0A)
    }

    // MARK: text

    /// The text of a JSON string literal.
    static func text(ofLiteral literal: UnsafeRawBufferPointer) -> String {
        (try? JSONValue(parsing: literal))?.stringValue ?? String(decoding: literal, as: UTF8.self)
    }

    static func answerText(_ payload: UnsafeRawBufferPointer) -> String? {
        guard let value = try? JSONValue(parsing: payload) else { return nil }
        return answerText(value)
    }

    /// The first choice's message content (a string, or the text of its parts), or a completion's `text`.
    static func answerText(_ response: JSONValue) -> String? {
        guard let choice = response["choices"]?.arrayValue?.first else { return nil }
        if let content = choice["message"]?["content"] {
            if let s = content.stringValue { return s }
            if let parts = content.arrayValue { return parts.compactMap { $0["text"]?.stringValue }.joined() }
            return nil
        }
        return choice["text"]?.stringValue
    }

    static func oneLine(_ text: String, newline: String) -> String {
        guard text.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        return text.replacingOccurrences(of: "\r\n", with: newline).replacingOccurrences(of: "\n", with: newline)
            .replacingOccurrences(of: "\r", with: newline)
    }

    static func clip(_ text: String, _ n: Int) -> String { text.count <= n ? text : String(text.prefix(n - 3)) + "..." }
}
