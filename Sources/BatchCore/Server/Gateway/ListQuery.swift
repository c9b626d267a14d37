// List queries the AIP way: `filter` (comparisons joined by AND, AIP-160) on any scalar field of the resource,
// `orderBy` (fields with " desc"), `pageSize` (default 50, max 200), `readMask`, and page tokens bound to the
// query that made them.
import BatchHTTP
import BatchAPI
import BatchJSONL
import Foundation

struct ListQuery {
    struct Condition { var field: [String]; var op: String; var value: String }
    var conditions: [Condition] = []
    var order: [(field: [String], descending: Bool)] = []
    var pageSize = 50
    var offset = 0
    var readMask: FieldMask?
    /// What a page token is bound to: the filter, order and page size as given (normalized).
    private var fingerprint = ""

    static let operators = ["<=", ">=", "!=", "=", "<", ">", ":"]
    /// Spellings the SDK's own docstrings use (`created_time`) for the field the resource calls `createTime`.
    static let aliases = ["createdTime": "createTime", "updatedTime": "updateTime"]

    /// Parses the query parameters; `fields` are the dotted lowerCamelCase paths of the resource's scalar fields,
    /// which may be filtered and sorted on.
    init(_ query: [HTTPQueryItem], defaultOrder: String, fields: Set<String>) throws {
        func param(_ name: String) -> String? {
            query.last(where: { $0.name == name || $0.name == ProtoObject.snakeCase(name) })?.value
        }
        func field(_ text: String, _ what: String) throws -> [String] {
            let path = text.split(separator: ".").map { ProtoObject.camelCase(String($0)) }
            let joined = path.joined(separator: ".")
            let resolved = ListQuery.aliases[joined] ?? joined
            guard fields.contains(resolved) else { throw GatewayError(.invalidArgument, "\(what): unknown field \"\(text)\"") }
            return resolved.split(separator: ".").map(String.init)
        }
        if let size = param("pageSize"), !size.isEmpty {
            guard let n = Int(size), n >= 0 else { throw GatewayError(.invalidArgument, "invalid pageSize \"\(size)\"") }
            pageSize = n == 0 ? 50 : min(n, 200)
        }
        let orderText = param("orderBy").flatMap { $0.isEmpty ? nil : $0 } ?? defaultOrder
        for part in orderText.split(separator: ",") {
            let words = part.split(separator: " ").map(String.init)
            guard let first = words.first, words.count <= 2, words.count == 1 || ["asc", "desc"].contains(words[1].lowercased()) else {
                throw GatewayError(.invalidArgument, "invalid orderBy \"\(orderText)\"")
            }
            order.append((try field(first, "invalid orderBy"), words.count == 2 && words[1].lowercased() == "desc"))
        }
        let filter = param("filter")?.trimmingCharacters(in: .whitespaces) ?? ""
        if !filter.isEmpty {
            conditions = try ListQuery.parseFilter(filter).map { c in
                Condition(field: try field(c.field, "invalid filter"), op: c.op, value: c.value)
            }
        }
        if let mask = param("readMask") { readMask = try FieldMask(mask) }
        fingerprint = [filter, order.map { $0.field.joined(separator: ".") + ($0.descending ? " desc" : "") }.joined(separator: ","),
                       String(pageSize)].joined(separator: "\u{1F}")
        if let token = param("pageToken"), !token.isEmpty { offset = try decode(token) }
    }

    // MARK: page tokens

    /// `v1:<offset>:<digest of the query>`, so a token handed back with another filter, order or page size is
    /// refused instead of silently paging through a different list.
    func token(offset: Int) -> String {
        Base64URL.encode(Array("v1:\(offset):\(digest)".utf8))
    }

    private var digest: String {
        URLSigner.hex(Array(SHA256.hash(Array(fingerprint.utf8)).prefix(12)))
    }

    private func decode(_ token: String) throws -> Int {
        guard let raw = Base64URL.decode(token), let text = String(bytes: raw, encoding: .utf8) else {
            throw GatewayError(.invalidArgument, "invalid pageToken")
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let n = Int(parts[1]), n >= 0 else { throw GatewayError(.invalidArgument, "invalid pageToken") }
        guard parts[2] == digest else {
            throw GatewayError(.invalidArgument, "invalid pageToken: it was made for another query (filter, orderBy and pageSize must match the call that returned it)")
        }
        return n
    }

    // MARK: filters

    /// `field op value` clauses joined by AND.
    static func parseFilter(_ text: String) throws -> [(field: String, op: String, value: String)] {
        var conditions: [(String, String, String)] = []
        for clause in splitAnd(text) {
            let c = clause.trimmingCharacters(in: .whitespaces)
            // The operator is the first one found after the field name (so `a = "x>y"` splits at `=`).
            var best: (Range<String.Index>, String)?
            for op in operators {
                if let r = c.range(of: op), best == nil || r.lowerBound < best!.0.lowerBound { best = (r, op) }
            }
            guard let (range, op) = best else { throw GatewayError(.invalidArgument, "invalid filter \"\(text)\": expected field = value") }
            let field = c[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            var value = c[range.upperBound...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard !field.isEmpty else { throw GatewayError(.invalidArgument, "invalid filter \"\(text)\": expected field = value") }
            conditions.append((field, op, value))
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

    /// The dotted paths of every scalar field of `prototype` (strings, numbers, booleans, and timestamps that
    /// are null until set), which is what filters and orderings may name.
    static func scalarPaths(of prototype: JSONValue, prefix: String = "") -> Set<String> {
        guard case let .object(members) = prototype else { return [] }
        var out: Set<String> = []
        for (key, value) in members {
            switch value {
            case .object: out.formUnion(scalarPaths(of: value, prefix: prefix + key + "."))
            case .array: continue
            default: out.insert(prefix + key)
            }
        }
        return out
    }

    static func lookup(_ item: JSONValue, _ path: [String]) -> JSONValue? {
        var current: JSONValue? = item
        for key in path { current = current?[key] }
        return current
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
        case .null: return b == "null" || b.isEmpty ? 0 : nil
        default: return nil
        }
    }

    func matches(_ item: JSONValue) -> Bool {
        conditions.allSatisfy { c in
            let value = ListQuery.lookup(item, c.field)
            if c.op == ":" { return (value?.stringValue ?? value?.compactText ?? "").contains(c.value) }
            guard let r = ListQuery.compare(value, c.value) else { return c.op == "!=" }
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
    func page(_ items: [JSONValue], itemsKey: String) throws -> JSONValue {
        try page(items, itemsKey: itemsKey, fields: { $0 }, json: { $0 })
    }

    /// Whether the filter and the order read only these top-level fields: a list can then sort small objects
    /// of them and serialise only the page's own items.
    func reads(only fields: Set<String>) -> Bool {
        conditions.allSatisfy { $0.field.count == 1 && fields.contains($0.field[0]) }
            && order.allSatisfy { $0.field.count == 1 && fields.contains($0.field[0]) }
    }

    /// Filters, sorts and pages `items` by `fields` (what the filter and order read), then serialises only
    /// the page's own items with `json`: walking a long list costs each item once, not once per page.
    func page<Item>(_ items: [Item], itemsKey: String, fields: (Item) -> JSONValue, json: (Item) -> JSONValue) throws -> JSONValue {
        var selected = items.map { (fields: fields($0), item: $0) }.filter { matches($0.fields) }
        selected.sort { x, y in
            let a = x.fields, b = y.fields
            for (field, descending) in order {
                let bv = ListQuery.lookup(b, field)
                guard let r = ListQuery.compare(ListQuery.lookup(a, field), bv?.stringValue ?? bv?.compactText ?? ""), r != 0 else { continue }
                return descending ? r > 0 : r < 0
            }
            return (a["name"]?.stringValue ?? "") < (b["name"]?.stringValue ?? "")
        }
        let total = selected.count
        let start = min(offset, total)
        let end = min(start + pageSize, total)
        let next = end < total ? token(offset: end) : ""
        var pageItems = selected[start..<end].map { json($0.item) }
        if let readMask { pageItems = try pageItems.map { try readMask.apply(to: $0, optional: Set(Dataset.sourceMembers)) } }
        return ListPage(items: pageItems, nextPageToken: next, totalSize: total).json(itemsKey: itemsKey)
    }
}
