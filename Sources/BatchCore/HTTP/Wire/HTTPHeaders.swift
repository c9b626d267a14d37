// HTTPHeaders: an ordered header list with ASCII case-insensitive lookup.

/// Header fields in the order they were received or added. Names compare ASCII case-insensitively, as
/// RFC 9110 requires; the original spelling is kept so that responses go out as the handler wrote them.
public struct HTTPHeaders: Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible, Sendable {
    public typealias Element = (name: String, value: String)

    private var fields: [Element]

    public init() {
        fields = []
    }

    public init(_ fields: [(String, String)]) {
        self.fields = fields.map { (name: $0.0, value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    public func makeIterator() -> IndexingIterator<[Element]> {
        fields.makeIterator()
    }

    /// The first value of `name`; setting replaces every field of that name (nil removes them).
    public subscript(name: String) -> String? {
        get {
            for field in fields where asciiCaseInsensitiveEquals(field.name, name) {
                return field.value
            }
            return nil
        }
        set {
            remove(name)
            if let newValue {
                fields.append((name: name, value: newValue))
            }
        }
    }

    /// Every value of `name`, in order.
    public func values(for name: String) -> [String] {
        fields.compactMap { asciiCaseInsensitiveEquals($0.name, name) ? $0.value : nil }
    }

    public func contains(_ name: String) -> Bool {
        fields.contains { asciiCaseInsensitiveEquals($0.name, name) }
    }

    /// Adds a field without touching existing ones of the same name (e.g. several `Set-Cookie`).
    public mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { asciiCaseInsensitiveEquals($0.name, name) }
    }

    /// The comma-separated list elements of every `name` field, trimmed and lowercased, for list-valued
    /// fields such as `Connection` and `Transfer-Encoding` that may be split over several lines.
    public func tokens(for name: String) -> [String] {
        var result: [String] = []
        for value in values(for: name) {
            for part in value.split(separator: ",", omittingEmptySubsequences: true) {
                let token = trimmingOptionalWhitespace(part)
                if !token.isEmpty {
                    result.append(asciiLowercased(token))
                }
            }
        }
        return result
    }

    public var description: String {
        fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }
}

extension HTTPHeaders: Equatable {
    /// Equal when they hold the same fields in the same order, names compared case-insensitively.
    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        guard lhs.fields.count == rhs.fields.count else { return false }
        for (a, b) in zip(lhs.fields, rhs.fields) {
            guard asciiCaseInsensitiveEquals(a.name, b.name), a.value == b.value else { return false }
        }
        return true
    }
}

@inline(__always)
func asciiLower(_ byte: UInt8) -> UInt8 {
    byte &- 65 < 26 ? byte | 0x20 : byte
}

/// Header names are ASCII tokens, so a byte-wise comparison avoids allocating lowercased copies on every lookup.
func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
    var a = a
    var b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in
            guard x.count == y.count else { return false }
            for i in 0..<x.count where asciiLower(x[i]) != asciiLower(y[i]) {
                return false
            }
            return true
        }
    }
}

func asciiLowercased<S: StringProtocol>(_ text: S) -> String {
    String(decoding: text.utf8.map(asciiLower), as: UTF8.self)
}

func trimmingOptionalWhitespace<S: StringProtocol>(_ text: S) -> String {
    let utf8 = Array(text.utf8)
    var lower = 0
    var upper = utf8.count
    while lower < upper, utf8[lower] == 0x20 || utf8[lower] == 0x09 { lower += 1 }
    while upper > lower, utf8[upper - 1] == 0x20 || utf8[upper - 1] == 0x09 { upper -= 1 }
    return String(decoding: utf8[lower..<upper], as: UTF8.self)
}
