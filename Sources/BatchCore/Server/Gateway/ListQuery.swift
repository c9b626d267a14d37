// List queries the AIP way: `filter` (comparisons joined by AND), `orderBy` (fields with " desc"),
// `pageSize` (default 50, max 200) and opaque page tokens.
import BatchHTTP
import BatchAPI
import BatchJSONL
import Foundation

struct ListQuery {
    struct Condition { var field: String; var op: String; var value: String }
    var conditions: [Condition] = []
    var order: [(field: String, descending: Bool)] = []
    var pageSize = 50
    var offset = 0

    static let operators = ["<=", ">=", "!=", "=", "<", ">", ":"]

    /// Parses the query parameters; `fields` are the lowerCamelCase fields that may be filtered and sorted on.
    init(_ query: [HTTPQueryItem], defaultOrder: String, fields: Set<String>) throws {
        func param(_ name: String) -> String? {
            query.last(where: { $0.name == name || $0.name == ProtoObject.snakeCase(name) })?.value
        }
        if let size = param("pageSize") {
            guard let n = Int(size), n >= 0 else { throw GatewayError(.invalidArgument, "invalid pageSize \"\(size)\"") }
            pageSize = n == 0 ? 50 : min(n, 200)
        }
        if let token = param("pageToken"), !token.isEmpty {
            guard let raw = Base64URL.decode(token), let text = String(bytes: raw, encoding: .utf8), text.hasPrefix("o:"),
                  let n = Int(text.dropFirst(2)), n >= 0 else { throw GatewayError(.invalidArgument, "invalid pageToken") }
            offset = n
        }
        let orderText = param("orderBy").flatMap { $0.isEmpty ? nil : $0 } ?? defaultOrder
        for part in orderText.split(separator: ",") {
            let words = part.split(separator: " ").map(String.init)
            guard let first = words.first, words.count <= 2, words.count == 1 || ["asc", "desc"].contains(words[1].lowercased()) else {
                throw GatewayError(.invalidArgument, "invalid orderBy \"\(orderText)\"")
            }
            let field = ProtoObject.camelCase(first)
            guard fields.contains(field) else { throw GatewayError(.invalidArgument, "cannot order by \"\(first)\"") }
            order.append((field, words.count == 2 && words[1].lowercased() == "desc"))
        }
        if let filter = param("filter"), !filter.trimmingCharacters(in: .whitespaces).isEmpty {
            conditions = try ListQuery.parseFilter(filter, fields: fields)
        }
    }

    static func parseFilter(_ text: String, fields: Set<String>) throws -> [Condition] {
        var conditions: [Condition] = []
        for clause in splitAnd(text) {
            let c = clause.trimmingCharacters(in: .whitespaces)
            guard let op = operators.first(where: { c.contains($0) }), let range = c.range(of: op) else {
                throw GatewayError(.invalidArgument, "invalid filter \"\(text)\": expected field = value")
            }
            let field = ProtoObject.camelCase(c[..<range.lowerBound].trimmingCharacters(in: .whitespaces))
            var value = c[range.upperBound...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard fields.contains(field) else { throw GatewayError(.invalidArgument, "invalid filter: unknown field \"\(field)\"") }
            conditions.append(Condition(field: field, op: op, value: value))
        }
        return conditions
    }

    /// Splits on AND outside quotes.
    static func splitAnd(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var inQuotes = false
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            if chars[i] == "\"" { inQuotes.toggle() }
            if !inQuotes, i + 5 <= chars.count, String(chars[i..<(i + 5)]) == " AND " {
                parts.append(current); current = ""; i += 5; continue
            }
            current.append(chars[i]); i += 1
        }
        parts.append(current)
        return parts
    }

    static func compare(_ a: JSONValue?, _ b: String) -> Int? {
        guard let a else { return nil }
        switch a {
        case let .string(s):
            if let da = Timestamp.date(from: s), let db = Timestamp.date(from: b) { return da < db ? -1 : (da > db ? 1 : 0) }
            if let na = Double(s), let nb = Double(b) { return na < nb ? -1 : (na > nb ? 1 : 0) }
            return s < b ? -1 : (s > b ? 1 : 0)
        case let .number(n):
            guard let na = Double(n), let nb = Double(b) else { return nil }
            return na < nb ? -1 : (na > nb ? 1 : 0)
        case let .bool(v): return (v ? "true" : "false") == b.lowercased() ? 0 : 1
        default: return nil
        }
    }

    func matches(_ item: JSONValue) -> Bool {
        conditions.allSatisfy { c in
            if c.op == ":" { return (item[c.field]?.stringValue ?? item[c.field]?.compactText ?? "").contains(c.value) }
            guard let r = ListQuery.compare(item[c.field], c.value) else { return false }
            switch c.op {
            case "=": return r == 0
            case "!=": return r != 0
            case "<": return r < 0
            case "<=": return r <= 0
            case ">": return r > 0
            default: return r >= 0
            }
        }
    }

    /// Filters, sorts and pages JSON items.
    func page(_ items: [JSONValue], itemsKey: String) -> JSONValue {
        page(items, itemsKey: itemsKey, fields: { $0 }, json: { $0 })
    }

    /// Filters, sorts and pages `items` by their list `fields` (a small object), then serialises only the
    /// page's own items with `json`: walking a long list costs each item once, not once per page.
    func page<Item>(_ items: [Item], itemsKey: String, fields: (Item) -> JSONValue, json: (Item) -> JSONValue) -> JSONValue {
        var selected = items.map { (fields: fields($0), item: $0) }.filter { matches($0.fields) }
        selected.sort { x, y in
            let a = x.fields, b = y.fields
            for (field, descending) in order {
                guard let r = ListQuery.compare(a[field], b[field]?.stringValue ?? b[field]?.compactText ?? ""), r != 0 else { continue }
                return descending ? r > 0 : r < 0
            }
            return (a["name"]?.stringValue ?? "") < (b["name"]?.stringValue ?? "")
        }
        let total = selected.count
        let start = min(offset, total)
        let end = min(start + pageSize, total)
        let next = end < total ? Base64URL.encode(Array("o:\(end)".utf8)) : ""
        return ListPage(items: selected[start..<end].map { json($0.item) }, nextPageToken: next, totalSize: total).json(itemsKey: itemsKey)
    }
}
