// CompletionMembers: what the engine reads of a chat completion answer (where `usage` sits, how many `choices`,
// whether it spans lines), found by one strict scan without building any JSON value, so that a large answer
// costs no copy beyond its bytes.

public struct CompletionMembers: Sendable, Equatable {
    /// The whole `usage` value when it is an object.
    public var usage: Range<Int>?
    /// Elements of the `choices` array; 0 when absent or not an array.
    public var choices = 0
    /// A raw CR or LF between tokens (a pretty-printing server): the answer must be compacted to fit one line.
    public var spansLines = false

    public init() {}

    /// Scans `answer`, which must be exactly one JSON object (whitespace around it allowed); nil when it is
    /// not valid JSON or not an object.
    public static func scan(_ answer: UnsafeRawBufferPointer) -> CompletionMembers? {
        guard let base = answer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var members = CompletionMembers()
        var scanner = JSONScanner(base: base, count: answer.count, maxDepth: JSONValue.maxDepth)
        do throws(JSONSyntaxError) {
            guard try scanner.scanCompletion(into: &members) else { return nil }
        } catch {
            return nil
        }
        // Inside strings CR and LF are escaped, so any raw one is whitespace between tokens.
        members.spansLines = UnsafeBufferPointer(start: base, count: answer.count).contains { $0 == 0x0A || $0 == 0x0D }
        return members
    }
}

extension JSONScanner {
    /// False for valid JSON that is not an object.
    mutating func scanCompletion(into members: inout CompletionMembers) throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        guard pos < count else { throw fail(.empty) }
        guard base[pos] == UInt8(ascii: "{") else {
            _ = try skipValue(depth: 0)
            skipWhitespace()
            if pos != count { throw fail(.trailingData) }
            return false
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
                let start = pos
                if spanEquals(name, "choices"), try peek() == UInt8(ascii: "[") {
                    members.choices = try countElements()
                } else {
                    let kind = try skipValue(depth: 1)
                    if spanEquals(name, "usage") { members.usage = kind == .object ? start..<pos : nil }
                }
                if try endOfMember(close: UInt8(ascii: "}")) { break }
            }
        }
        skipWhitespace()
        if pos != count { throw fail(.trailingData) }
        return true
    }

    /// Steps over the array at `pos` (a member of the top-level object) and counts its elements.
    private mutating func countElements() throws(JSONSyntaxError) -> Int {
        pos &+= 1
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") { pos &+= 1; return 0 }
        var elements = 0
        while true {
            _ = try skipValue(depth: 2)
            elements += 1
            if try endOfMember(close: UInt8(ascii: "]")) { return elements }
        }
    }
}
