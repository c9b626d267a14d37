// RowMembers: where the top-level members a results join reads sit in one JSONL row (custom_id, response,
// error, body), found by one strict scan of the row without building any JSON value.

/// Byte ranges into one row. A member whose value is `null` counts as absent (the OpenAI output shape writes
/// `"error": null` beside a response).
public struct RowMembers: Sendable, Equatable {
    /// The custom_id string's content between its quotes; nil when absent or not a string.
    public var customID: Range<Int>?
    /// Whether that content holds a backslash escape (then `withCustomID` decodes it).
    public var customIDEscaped = false
    /// The whole value of each member, as written.
    public var response: Range<Int>?
    public var error: Range<Int>?
    public var body: Range<Int>?

    public init() {}

    /// Scans `row`, which must be exactly one JSON object (whitespace around it allowed). Throws at the first
    /// syntax error; a row that is valid JSON but not an object gives no members.
    public static func scan(_ row: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> RowMembers {
        var members = RowMembers()
        guard let base = row.baseAddress?.assumingMemoryBound(to: UInt8.self) else { throw JSONSyntaxError(.empty, at: 0) }
        var scanner = JSONScanner(base: base, count: row.count, maxDepth: JSONValue.maxDepth)
        try scanner.scanMembers(into: &members)
        return members
    }

    /// Calls `body` with the custom_id's UTF-8 bytes, escapes resolved (copied only when escaped); nil when
    /// the row has no string custom_id.
    public func withCustomID<R>(in row: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        guard let range = customID, let base = row.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let raw = UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
        if !customIDEscaped { return try body(raw) }
        return try JSONScanner.unescape(raw).withUnsafeBufferPointer { try body($0) }
    }
}

private enum ResultKey { case customID, response, error, body, other }

extension JSONScanner {
    mutating func scanMembers(into members: inout RowMembers) throws(JSONSyntaxError) {
        skipWhitespace()
        guard pos < count else { throw fail(.empty) }
        guard base[pos] == UInt8(ascii: "{") else {
            _ = try skipValue(depth: 0)
            skipWhitespace()
            if pos != count { throw fail(.trailingData) }
            return
        }
        pos &+= 1
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            pos &+= 1
        } else {
            while true {
                guard try peek() == UInt8(ascii: "\"") else { throw fail(.expectedKey) }
                let name = try scanString()
                try expectColon()
                let which: ResultKey
                if matches(name, "custom_id") { which = .customID }
                else if matches(name, "response") { which = .response }
                else if matches(name, "error") { which = .error }
                else if matches(name, "body") { which = .body }
                else { which = .other }
                let start = pos
                if which == .customID, try peek() == UInt8(ascii: "\"") {
                    let span = try scanString()
                    members.customID = span.start..<span.end
                    members.customIDEscaped = span.escaped
                } else {
                    let kind = try skipValue(depth: 1)
                    let range: Range<Int>? = kind == .null ? nil : start..<pos
                    switch which {
                    case .customID: members.customID = nil
                    case .response: members.response = range
                    case .error: members.error = range
                    case .body: members.body = range
                    case .other: break
                    }
                }
                if try endOfMember(close: UInt8(ascii: "}")) { break }
            }
        }
        skipWhitespace()
        if pos != count { throw fail(.trailingData) }
    }

    @inline(__always) private func matches(_ span: StringSpan, _ name: StaticString) -> Bool {
        (span.escaped || span.length == name.utf8CodeUnitCount) && spanEquals(span, name)
    }
}
