// The renderers: text, table, wide, json, jsonl and name, for datasets and jobs, one exhaustive switch.
import BatchAPI
import BatchJSONL
import Foundation

public enum Renderer {
    /// Renders `items` (as the gateway sent them). `isList` decides the default format and json's shape.
    public static func render(_ items: [JSONValue], kind: ResourceKind, format: OutputFormat?, isList: Bool) -> String {
        let format = format ?? (isList ? .table : .text)
        switch format {
        case .json:
            if isList { return JSONValue.array(items).prettyText + "\n" }
            return (items.first ?? .null).prettyText + "\n"
        case .jsonl:
            return items.map { $0.compactText + "\n" }.joined()
        case .name:
            return items.map { ($0["name"]?.stringValue ?? "") + "\n" }.joined()
        case .text:
            return items.map(text).joined(separator: "\n")
        case .table, .wide:
            let (headers, rows) = table(items, kind: kind, wide: format == .wide)
            return alignedTable(headers: headers, rows: rows)
        }
    }

    // MARK: text

    /// firectl-style `Key: value` lines; nested objects indented two spaces; unset (null or "") fields left out,
    /// and so are objects with nothing set (an empty `userUploaded {}`, a `lifecycle` of nulls).
    public static func text(_ value: JSONValue) -> String {
        var out = ""
        appendText(value, indent: 0, to: &out)
        return out
    }

    private static func appendText(_ value: JSONValue, indent: Int, to out: inout String) {
        guard case let .object(members) = value else { return }
        let pad = String(repeating: " ", count: indent)
        for (key, v) in members {
            let label = title(key)
            switch v {
            case .null: continue
            case let .string(s) where s.isEmpty: continue
            case .object:
                var nested = ""
                appendText(v, indent: indent + 2, to: &nested)
                if nested.isEmpty { continue }
                out += "\(pad)\(label):\n" + nested
            case let .array(items):
                if items.isEmpty { out += "\(pad)\(label): []\n"; continue }
                out += "\(pad)\(label):\n"
                for item in items {
                    if case .object = item {
                        var nested = ""
                        appendText(item, indent: indent + 4, to: &nested)
                        out += "\(pad)  - " + nested.dropFirst(indent + 4)
                    } else {
                        out += "\(pad)  - \(scalar(item))\n"
                    }
                }
            default:
                out += "\(pad)\(label): \(scalar(v))\n"
            }
        }
    }

    private static func scalar(_ v: JSONValue) -> String {
        switch v {
        case let .string(s): return s
        case let .number(n): return n
        case let .bool(b): return b ? "true" : "false"
        case .null: return ""
        default: return v.compactText
        }
    }

    /// `inferenceParameters` -> `Inference Parameters`, `topP` -> `Top P`.
    static func title(_ key: String) -> String {
        var words: [String] = []
        var current = ""
        for c in key {
            if c.isUppercase, !current.isEmpty { words.append(current); current = "" }
            current.append(c)
        }
        if !current.isEmpty { words.append(current) }
        return words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
    }

    // MARK: table

    static func table(_ items: [JSONValue], kind: ResourceKind, wide: Bool) -> ([String], [[String]]) {
        func s(_ v: JSONValue, _ key: String) -> String { v[key]?.stringValue ?? "" }
        func id(_ name: String) -> String { name.split(separator: "/").last.map(String.init) ?? name }
        switch kind {
        case .dataset:
            var headers = ["NAME", "STATE", "EXAMPLES", "FORMAT", "CREATED"]
            if wide { headers += ["DISPLAY NAME", "TOKENS", "SOURCE JOB", "UPDATED"] }
            let rows = items.map { d -> [String] in
                var row = [id(s(d, "name")), s(d, "state"), d["exampleCount"]?.int64Value.map(String.init) ?? "",
                           s(d, "format"), shortTime(s(d, "createTime"))]
                if wide {
                    row += [s(d, "displayName"), d["estimatedTokenCount"]?.int64Value.map(String.init) ?? "",
                            id(s(d, "sourceJobName")), shortTime(s(d, "updateTime"))]
                }
                return row
            }
            return (headers, rows)
        case .batchInferenceJob:
            var headers = ["NAME", "STATE", "MODEL", "PROGRESS", "CREATED"]
            if wide { headers += ["DISPLAY NAME", "INPUT", "OUTPUT", "SUCCEEDED", "FAILED", "UPDATED"] }
            let rows = items.map { j -> [String] in
                let progress = j["jobProgress"]
                let processed = progress?["totalProcessedRequests"]?.int64Value ?? 0
                let total = progress?["totalInputRequests"]?.int64Value ?? 0
                var row = [id(s(j, "name")), JobState(name: s(j, "state")).shortName, s(j, "model"),
                           progress == nil || progress!.isNull ? "-" : "\(processed)/\(total)", shortTime(s(j, "createTime"))]
                if wide {
                    row += [s(j, "displayName"), id(s(j, "inputDatasetId")), id(s(j, "outputDatasetId")),
                            progress?["successfullyProcessedRequests"]?.int64Value.map(String.init) ?? "-",
                            progress?["failedRequests"]?.int64Value.map(String.init) ?? "-", shortTime(s(j, "updateTime"))]
                }
                return row
            }
            return (headers, rows)
        }
    }

    /// `2026-08-30T03:48:42.645723Z` -> `2026-08-30 03:48:42`.
    static func shortTime(_ t: String) -> String {
        guard t.count >= 19 else { return t }
        return String(t.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    public static func alignedTable(headers: [String], rows: [[String]]) -> String {
        var widths = headers.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, cell) in cells.enumerated() {
                parts.append(i == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count))
            }
            return parts.joined(separator: "   ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}
