// JSONScanner: a strict RFC 8259 scanner over raw bytes that validates without allocating (the hot path).

/// Why a text is not valid JSON. `offset` is the 0-based byte offset (within the line or document) where the
/// scanner stopped; `message` is the human reason without the position.
public struct JSONSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case unexpectedEnd
        case unexpectedByte(UInt8)
        case expectedKey
        case expectedColon
        case expectedCommaOrBrace
        case expectedCommaOrBracket
        case invalidLiteral
        case invalidNumber(String)
        case unterminatedString
        case controlCharacterInString(UInt8)
        case invalidEscape(UInt8)
        case invalidUnicodeEscape
        case loneSurrogate
        case invalidUTF8
        case tooDeep(Int)
        case trailingData
        case empty
    }

    public var kind: Kind
    public var offset: Int

    public init(_ kind: Kind, at offset: Int) { self.kind = kind; self.offset = offset }

    public var message: String {
        switch kind {
        case .unexpectedEnd: return "unexpected end of the JSON value"
        case let .unexpectedByte(b): return "unexpected \(JSONSyntaxError.describe(b))"
        case .expectedKey: return "expected a string key in an object"
        case .expectedColon: return "expected ':' after an object key"
        case .expectedCommaOrBrace: return "expected ',' or '}' in an object"
        case .expectedCommaOrBracket: return "expected ',' or ']' in an array"
        case .invalidLiteral: return "invalid literal (expected true, false or null)"
        case let .invalidNumber(why): return "invalid number: \(why)"
        // Lines are split at every newline, so a string cut short almost always held a raw newline.
        case .unterminatedString: return "unterminated string (a string cannot span lines: write a newline as \\n)"
        case let .controlCharacterInString(b): return "unescaped control character \(JSONSyntaxError.hex(b)) in a string"
        case let .invalidEscape(b): return "invalid escape '\\\(JSONSyntaxError.printable(b))' in a string"
        case .invalidUnicodeEscape: return "invalid \\u escape (expected 4 hex digits)"
        case .loneSurrogate: return "lone UTF-16 surrogate in a \\u escape"
        case .invalidUTF8: return "invalid UTF-8"
        case let .tooDeep(limit): return "nesting deeper than \(limit) levels"
        case .trailingData: return "unexpected data after the JSON value"
        case .empty: return "no JSON value"
        }
    }

    public var description: String { "\(message) at byte \(offset + 1)" }

    static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return "0x" + String(decoding: [digits[Int(b >> 4)], digits[Int(b & 0xF)]], as: UTF8.self)
    }

    static func printable(_ b: UInt8) -> String {
        b >= 0x20 && b < 0x7F ? String(UnicodeScalar(b)) : hex(b)
    }

    static func describe(_ b: UInt8) -> String {
        b >= 0x21 && b < 0x7F ? "character '\(String(UnicodeScalar(b)))'" : "byte \(hex(b))"
    }
}

/// The kind of a JSON value as the scanner saw it; `absent` stands for a key that was not there.
public enum JSONValueKind: UInt8, Sendable {
    case absent, null, `true`, `false`, number, string, array, object

    /// "a string", "an object": for messages such as "must be an object, not a string".
    public var phrase: String {
        switch self {
        case .absent: return "missing"
        case .null: return "null"
        case .true: return "true"
        case .false: return "false"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A string literal's content in the scanned text (between the quotes); `escaped` says whether it holds a
/// backslash escape, so that the common case can be compared byte for byte without decoding.
struct StringSpan {
    var start = 0
    var end = 0
    var escaped = false
    var length: Int { end - start }
}

extension JSONSyntaxError {
    /// Validates one complete JSON text (a value with optional surrounding whitespace), as RFC 8259 says.
    public static func check(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONValue.maxDepth) -> JSONSyntaxError? {
        guard let base = bytes.baseAddress else { return JSONSyntaxError(.empty, at: 0) }
        var scanner = JSONScanner(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, maxDepth: maxDepth)
        do throws(JSONSyntaxError) {
            scanner.skipWhitespace()
            guard scanner.pos < scanner.count else { throw JSONSyntaxError(.empty, at: scanner.pos) }
            _ = try scanner.skipValue(depth: 0)
            scanner.skipWhitespace()
            if scanner.pos != scanner.count { throw JSONSyntaxError(.trailingData, at: scanner.pos) }
            return nil
        } catch {
            return error
        }
    }

    public static func check(_ bytes: [UInt8], maxDepth: Int = JSONValue.maxDepth) -> JSONSyntaxError? {
        bytes.withUnsafeBytes { check($0, maxDepth: maxDepth) }
    }
}

/// The scanner: a cursor over a byte buffer. Unchecked pointer reads are safe because every read is guarded
/// by `pos < count` (or `pos + n <= count`) first.
struct JSONScanner {
    let base: UnsafePointer<UInt8>
    let count: Int
    let maxDepth: Int
    var pos = 0

    init(base: UnsafePointer<UInt8>, count: Int, maxDepth: Int) {
        self.base = base
        self.count = count
        self.maxDepth = maxDepth
    }

    @inline(__always) func fail(_ kind: JSONSyntaxError.Kind) -> JSONSyntaxError { JSONSyntaxError(kind, at: pos) }

    @inline(__always) mutating func skipWhitespace() {
        // Rows are mostly compact, so the first test usually ends the loop.
        while pos < count {
            let c = base[pos]
            if c > 0x20 { return }
            if c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D { pos &+= 1 } else { return }
        }
    }

    /// The byte at `pos`, or a failure at the end of the text.
    @inline(__always) func peek() throws(JSONSyntaxError) -> UInt8 {
        guard pos < count else { throw fail(.unexpectedEnd) }
        return base[pos]
    }

    // MARK: values

    /// Steps over any value starting at `pos` (whitespace already skipped) and says what it was.
    mutating func skipValue(depth: Int) throws(JSONSyntaxError) -> JSONValueKind {
        let c = try peek()
        switch c {
        case UInt8(ascii: "\""):
            _ = try scanString()
            return .string
        case UInt8(ascii: "{"):
            try skipObject(depth: depth &+ 1)
            return .object
        case UInt8(ascii: "["):
            try skipArray(depth: depth &+ 1)
            return .array
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
            return .number
        case UInt8(ascii: "t"):
            try literal(0x6575_7274, length: 4)  // "true" little-endian
            return .true
        case UInt8(ascii: "f"):
            try literal(0x65_736C_6166, length: 5)  // "false"
            return .false
        case UInt8(ascii: "n"):
            try literal(0x6C6C_756E, length: 4)  // "null"
            return .null
        default:
            throw fail(.unexpectedByte(c))
        }
    }

    /// Matches a literal given as its bytes packed little-endian in a UInt64.
    @inline(__always) mutating func literal(_ packed: UInt64, length: Int) throws(JSONSyntaxError) {
        guard pos &+ length <= count else { throw fail(.invalidLiteral) }
        var word: UInt64 = 0
        for i in 0..<length { word |= UInt64(base[pos &+ i]) << (8 &* UInt64(i)) }
        guard word == packed else { throw fail(.invalidLiteral) }
        pos &+= length
        // "truex" must fail here rather than as a confusing error one level up.
        if pos < count, JSONScanner.isIdentifierByte(base[pos]) { throw fail(.invalidLiteral) }
    }

    @inline(__always) static func isIdentifierByte(_ c: UInt8) -> Bool {
        (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") || (c >= 0x30 && c <= 0x39)
    }

    mutating func skipObject(depth: Int) throws(JSONSyntaxError) {
        if depth > maxDepth { throw fail(.tooDeep(maxDepth)) }
        pos &+= 1
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") { pos &+= 1; return }
        while true {
            guard try peek() == UInt8(ascii: "\"") else { throw fail(.expectedKey) }
            _ = try scanString()
            try expectColon()
            _ = try skipValue(depth: depth)
            if try endOfMember(close: UInt8(ascii: "}")) { return }
        }
    }

    mutating func skipArray(depth: Int) throws(JSONSyntaxError) {
        if depth > maxDepth { throw fail(.tooDeep(maxDepth)) }
        pos &+= 1
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") { pos &+= 1; return }
        while true {
            _ = try skipValue(depth: depth)
            if try endOfMember(close: UInt8(ascii: "]")) { return }
        }
    }

    /// After a key: whitespace, ':', whitespace.
    @inline(__always) mutating func expectColon() throws(JSONSyntaxError) {
        skipWhitespace()
        guard try peek() == UInt8(ascii: ":") else { throw fail(.expectedColon) }
        pos &+= 1
        skipWhitespace()
    }

    /// After a member or element: returns true at the closing bracket, false after a comma (with the
    /// whitespace before the next item skipped).
    @inline(__always) mutating func endOfMember(close: UInt8) throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        let c = try peek()
        pos &+= 1
        if c == UInt8(ascii: ",") { skipWhitespace(); return false }
        if c == close { return true }
        pos &-= 1
        throw fail(close == UInt8(ascii: "}") ? .expectedCommaOrBrace : .expectedCommaOrBracket)
    }

    // MARK: numbers

    /// Steps over a number by the RFC 8259 grammar; returns true when it is a plain non-negative integer
    /// (digits only), which is what a token id must be.
    @inline(__always) mutating func scanNumber() throws(JSONSyntaxError) -> Bool {
        var plain = true
        if base[pos] == UInt8(ascii: "-") { pos &+= 1; plain = false }
        guard pos < count, JSONScanner.isDigit(base[pos]) else { throw fail(.invalidNumber("expected a digit")) }
        if base[pos] == UInt8(ascii: "0") {
            pos &+= 1
            if pos < count, JSONScanner.isDigit(base[pos]) { throw fail(.invalidNumber("leading zeros are not allowed")) }
        } else {
            while pos < count, JSONScanner.isDigit(base[pos]) { pos &+= 1 }
        }
        if pos < count, base[pos] == UInt8(ascii: ".") {
            plain = false
            pos &+= 1
            guard pos < count, JSONScanner.isDigit(base[pos]) else { throw fail(.invalidNumber("expected a digit after '.'")) }
            while pos < count, JSONScanner.isDigit(base[pos]) { pos &+= 1 }
        }
        if pos < count, base[pos] | 0x20 == UInt8(ascii: "e") {
            plain = false
            pos &+= 1
            if pos < count, base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-") { pos &+= 1 }
            guard pos < count, JSONScanner.isDigit(base[pos]) else { throw fail(.invalidNumber("expected a digit in the exponent")) }
            while pos < count, JSONScanner.isDigit(base[pos]) { pos &+= 1 }
        }
        return plain
    }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

    // MARK: strings

    /// Marks, in the high bit of each byte lane, the bytes a string scan must stop at: '"', '\\' and control
    /// characters (bytes >= 0x80 are left to the UTF-8 automaton). Lanes above the first marked one may be
    /// false positives (borrows travel upward), so only the lowest marked lane may be trusted, which is all
    /// the caller uses; a word with no stop byte gives exactly 0.
    @inline(__always) static func stopMask(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let quote = w ^ (ones &* 0x22)
        let slash = w ^ (ones &* 0x5C)
        let hasQuote = quote &- ones
        let hasSlash = slash &- ones
        let hasControl = w &- (ones &* 0x20)
        // A lane >= 0x80 is never a stop byte; masking with ~w clears it in all three tests at once.
        return (hasQuote & ~quote | hasSlash & ~slash | hasControl) & ~w & high
    }

    /// Scans a string literal at `pos` (on the opening quote), checking escapes and UTF-8, and leaves `pos`
    /// after the closing quote.
    ///
    /// Works on 16-byte blocks: one compare finds '"', '\\' and control bytes; blocks with non-ASCII bytes
    /// (or right after one) are checked by `utf8Faults`. It only learns *that* something is wrong: any fault
    /// sends the string to `scanStringByBytes`, the plain reference walk, which finds *where* and throws.
    @inline(__always) mutating func scanString() throws(JSONSyntaxError) -> StringSpan {
        let open = pos
        var span = StringSpan()
        span.start = pos &+ 1
        var i = span.start
        let raw = UnsafeRawPointer(base)
        let quote = SIMD16<UInt8>(repeating: 0x22), slash = SIMD16<UInt8>(repeating: 0x5C)
        let space = SIMD16<UInt8>(repeating: 0x20), ascii = SIMD16<UInt8>(repeating: 0x7F)
        // The previous block held non-ASCII, so this block's first bytes may have to continue a character.
        var carry = false
        // The utf8Faults loads reach 3 bytes back, so blocks start at 3 or later.
        while i >= 3, i &+ 16 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            let stops = (v .== quote) .| (v .== slash) .| (v .< space)
            let high = v .> ascii
            let stopWords = unsafeBitCast(stops, to: SIMD2<UInt64>.self)
            if stopWords[0] | stopWords[1] == 0 {
                if carry || JSONScanner.anyLane(high) {
                    if JSONScanner.anyLane(JSONScanner.utf8Faults(raw + i)) { pos = open; return try scanStringByBytes() }
                    carry = JSONScanner.anyLane(high)
                }
                i &+= 16
                continue
            }
            // Each lane of the mask is 0x00 or 0xFF, so the first stop is the first nonzero byte.
            let n = stopWords[0] != 0 ? stopWords[0].trailingZeroBitCount &>> 3 : 8 &+ (stopWords[1].trailingZeroBitCount &>> 3)
            // Lanes up to and including the stop: a character cut short by the stop shows as a fault there.
            let laneIndex = SIMD16<UInt8>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
            let lanes = laneIndex .<= SIMD16<UInt8>(repeating: UInt8(truncatingIfNeeded: n))
            if carry || JSONScanner.anyLane(high .& lanes) {
                if JSONScanner.anyLane(JSONScanner.utf8Faults(raw + i) .& lanes) { pos = open; return try scanStringByBytes() }
            }
            carry = false
            i &+= n
            let c = base[i]
            if c == UInt8(ascii: "\"") {
                span.end = i
                pos = i &+ 1
                return span
            }
            if c == UInt8(ascii: "\\") {
                span.escaped = true
                pos = i
                try skipEscape()
                i = pos
                continue
            }
            pos = i
            throw fail(.controlCharacterInString(c))
        }
        // The last bytes of the text (or a string at its very start): byte by byte. Blocks check that a
        // lead byte is followed by continuations only in the next block, so when the last block ended in
        // non-ASCII, restart at the first byte of its last character to check that it is complete.
        if carry {
            var k = i &- 1
            var steps = 0
            while steps < 3, k > span.start, base[k] & 0xC0 == 0x80 { k &-= 1; steps &+= 1 }
            if base[k] >= 0xC0 { i = k }
        }
        pos = i
        while pos < count {
            let c = base[pos]
            if c == UInt8(ascii: "\"") {
                span.end = pos
                pos &+= 1
                return span
            }
            if c == UInt8(ascii: "\\") {
                span.escaped = true
                try skipEscape()
            } else if c >= 0x80 {
                try skipUTF8()
            } else if c < 0x20 {
                throw fail(.controlCharacterInString(c))
            } else {
                pos &+= 1
            }
        }
        throw fail(.unterminatedString)
    }

    /// Whether any lane of a mask is set (`any()` is a generic reduction the optimizer does not always inline).
    @inline(__always) static func anyLane(_ mask: SIMDMask<SIMD16<Int8>>) -> Bool {
        let words = unsafeBitCast(mask, to: SIMD2<UInt64>.self)
        return words[0] | words[1] != 0
    }

    /// The lanes of the 16 bytes at `p` that break RFC 3629, given that the 3 bytes before `p` are part of
    /// the same text (the comparison-only "range" check: the neighbours come from unaligned loads at -1,
    /// -2 and -3 instead of shuffles). A byte must be a continuation (80...BF) exactly when the byte before
    /// is a lead (>= C0), or the one before that a 3- or 4-byte lead (>= E0), or the one before that a
    /// 4-byte lead (>= F0). C0, C1 and F5...FF are never allowed, and the byte after E0, ED, F0 and F4 has
    /// a narrower range (no overlongs, no UTF-16 surrogates, nothing past U+10FFFF).
    @inline(__always) static func utf8Faults(_ p: UnsafeRawPointer) -> SIMDMask<SIMD16<Int8>> {
        typealias V = SIMD16<UInt8>
        let b = p.loadUnaligned(as: V.self)
        let p1 = (p - 1).loadUnaligned(as: V.self)
        let p2 = (p - 2).loadUnaligned(as: V.self)
        let p3 = (p - 3).loadUnaligned(as: V.self)
        let mustContinue = (p1 .>= V(repeating: 0xC0)) .| (p2 .>= V(repeating: 0xE0)) .| (p3 .>= V(repeating: 0xF0))
        let isContinuation = (b .>= V(repeating: 0x80)) .& (b .< V(repeating: 0xC0))
        let neverValid = (b .>= V(repeating: 0xF5)) .| ((b & V(repeating: 0xFE)) .== V(repeating: 0xC0))
        let narrowSecond = ((p1 .== V(repeating: 0xE0)) .& (b .< V(repeating: 0xA0)))
            .| ((p1 .== V(repeating: 0xED)) .& (b .> V(repeating: 0x9F)))
            .| ((p1 .== V(repeating: 0xF0)) .& (b .< V(repeating: 0x90)))
            .| ((p1 .== V(repeating: 0xF4)) .& (b .> V(repeating: 0x8F)))
        return (mustContinue .^ isContinuation) .| neverValid .| narrowSecond
    }

    /// The reference string walk, a byte at a time: slow, simple, and exact about where a fault is.
    /// `pos` is on the opening quote.
    mutating func scanStringByBytes() throws(JSONSyntaxError) -> StringSpan {
        var span = StringSpan()
        pos &+= 1
        span.start = pos
        while pos < count {
            let c = base[pos]
            if c == UInt8(ascii: "\"") {
                span.end = pos
                pos &+= 1
                return span
            }
            if c == UInt8(ascii: "\\") {
                span.escaped = true
                try skipEscape()
            } else if c >= 0x80 {
                try skipUTF8()
            } else if c < 0x20 {
                throw fail(.controlCharacterInString(c))
            } else {
                pos &+= 1
            }
        }
        throw fail(.unterminatedString)
    }

    /// Steps over one escape sequence at `pos` (on the backslash), pairing UTF-16 surrogates.
    mutating func skipEscape() throws(JSONSyntaxError) {
        guard pos &+ 1 < count else { pos = count; throw fail(.unterminatedString) }
        let e = base[pos &+ 1]
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            pos &+= 2
        case UInt8(ascii: "u"):
            let unit = try hex4(at: pos &+ 2)
            if unit & 0xFC00 == 0xD800 {
                guard pos &+ 7 < count, base[pos &+ 6] == UInt8(ascii: "\\"), base[pos &+ 7] == UInt8(ascii: "u")
                else { throw fail(.loneSurrogate) }
                let low = try hex4(at: pos &+ 8)
                guard low & 0xFC00 == 0xDC00 else { throw fail(.loneSurrogate) }
                pos &+= 12
            } else if unit & 0xFC00 == 0xDC00 {
                throw fail(.loneSurrogate)
            } else {
                pos &+= 6
            }
        default:
            pos &+= 1
            throw fail(.invalidEscape(e))
        }
    }

    @inline(__always) func hex4(at index: Int) throws(JSONSyntaxError) -> UInt32 {
        guard index &+ 4 <= count else { throw JSONSyntaxError(.invalidUnicodeEscape, at: index) }
        var value: UInt32 = 0
        for k in 0..<4 {
            guard let d = JSONScanner.hexValue(base[index &+ k]) else { throw JSONSyntaxError(.invalidUnicodeEscape, at: index &+ k) }
            value = value &<< 4 | d
        }
        return value
    }

    @inline(__always) static func hexValue(_ c: UInt8) -> UInt32? {
        if c &- 0x30 < 10 { return UInt32(c &- 0x30) }
        let lower = c | 0x20
        if lower &- 0x61 < 6 { return UInt32(lower &- 0x61 &+ 10) }
        return nil
    }

    /// Steps over UTF-8 sequences starting at `pos` (on a byte >= 0x80) while they continue, refusing
    /// overlong forms, UTF-16 surrogates and code points above U+10FFFF (RFC 3629).
    mutating func skipUTF8() throws(JSONSyntaxError) {
        while pos < count {
            let c = base[pos]
            if c < 0x80 { return }
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            let length: Int
            switch c {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: throw fail(.invalidUTF8)
            }
            guard pos &+ length <= count else { throw fail(.invalidUTF8) }
            let second = base[pos &+ 1]
            guard second >= lower, second <= upper else { throw fail(.invalidUTF8) }
            if length >= 3 {
                guard base[pos &+ 2] & 0xC0 == 0x80 else { throw fail(.invalidUTF8) }
                if length == 4 {
                    guard base[pos &+ 3] & 0xC0 == 0x80 else { throw fail(.invalidUTF8) }
                }
            }
            pos &+= length
        }
    }

    // MARK: helpers for the row scanner

    /// Whether the span's bytes, unescaped, equal `literal` (ASCII).
    @inline(__always) func spanEquals(_ span: StringSpan, _ literal: StaticString) -> Bool {
        if span.escaped { return decode(span) == Array(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)) }
        guard span.length == literal.utf8CodeUnitCount else { return false }
        return memcmpEqual(base + span.start, literal.utf8Start, span.length)
    }

    /// The span's text with escapes resolved, as UTF-8 bytes. Only valid after the span was scanned.
    func decode(_ span: StringSpan) -> [UInt8] {
        JSONScanner.unescape(UnsafeBufferPointer(start: base + span.start, count: span.length))
    }

    /// Resolves the escapes of an already validated string body.
    static func unescape(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            guard c == UInt8(ascii: "\\"), i + 1 < bytes.count else { out.append(c); i += 1; continue }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4Unchecked(bytes, i)
                i += 4
                if scalar & 0xFC00 == 0xD800, i + 6 <= bytes.count {
                    let low = hex4Unchecked(bytes, i + 2)
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low & 0x3FF)
                    i += 6
                }
                appendUTF8(scalar, to: &out)
            default: out.append(e)  // '"', '\\', '/'
            }
        }
        return out
    }

    private static func hex4Unchecked(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32 {
        var v: UInt32 = 0
        var k = i
        while k < min(i + 4, bytes.count) { v = v << 4 | (hexValue(bytes[k]) ?? 0); k += 1 }
        return v
    }

    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80: out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6)); out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12)); out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | (scalar >> 18) & 0x07)); out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}

@inline(__always) func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    while i < n { if a[i] != b[i] { return false }; i &+= 1 }
    return true
}
