// JSONScannerTests: the byte scanner's grammar, escapes, UTF-8 rules, word-at-a-time edges and depth limit.

import BatchJSONL
import XCTest

final class JSONScannerTests: XCTestCase {
    private func accepts(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        let error = JSONSyntaxError.check(bytes)
        XCTAssertNil(error, "\(String(decoding: bytes, as: UTF8.self)) \(bytes): \(String(describing: error))", file: file, line: line)
    }

    private func refuses(_ bytes: [UInt8], _ kind: JSONSyntaxError.Kind? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let error = JSONSyntaxError.check(bytes)
        XCTAssertNotNil(error, "should be refused: \(bytes)", file: file, line: line)
        if let kind { XCTAssertEqual(error?.kind, kind, "\(bytes)", file: file, line: line) }
    }

    private func accepts(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        accepts(Array(text.utf8), file: file, line: line)
    }

    private func refuses(_ text: String, _ kind: JSONSyntaxError.Kind? = nil, file: StaticString = #filePath, line: UInt = #line) {
        refuses(Array(text.utf8), kind, file: file, line: line)
    }

    func testNumbersFollowTheGrammar() {
        for ok in ["0", "-0", "7", "-12", "1.5", "1.5e10", "1E+2", "-12.3e-4", "0.0", "1e0", "123456789012345678901234567890"] {
            accepts(ok)
            accepts("[\(ok)]")
        }
        refuses("01", .invalidNumber("leading zeros are not allowed"))
        refuses("-", .invalidNumber("expected a digit"))
        refuses("1.", .invalidNumber("expected a digit after '.'"))
        refuses("1e", .invalidNumber("expected a digit in the exponent"))
        refuses("1e+", .invalidNumber("expected a digit in the exponent"))
        for bad in [".5", "+1", "0x1", "1.e3", "-01", "- 1", "1.5.2", "Infinity", "NaN", "[1,]"] { refuses(bad) }
    }

    func testLiteralsAndStructure() {
        for ok in ["true", "false", "null", "{}", "[]", " [ 1 , {\"a\" : [ ] } ] ", "{\"a\":{\"b\":{}}}", "\t\r\n{}\n"] { accepts(ok) }
        refuses("tru", .invalidLiteral)
        refuses("truex", .invalidLiteral)
        refuses("nul", .invalidLiteral)
        refuses("[true false]", .expectedCommaOrBracket)
        refuses("{\"a\" 1}", .expectedColon)
        refuses("{\"a\":1 \"b\":2}", .expectedCommaOrBrace)
        refuses("{1:2}", .expectedKey)
        refuses("{\"a\":1,}", .expectedKey)
        refuses("{} x", .trailingData)
        refuses("{}{}", .trailingData)
        refuses("", .empty)
        refuses("   ", .empty)
        refuses("[", .unexpectedEnd)
        refuses("{\"a\":", .unexpectedEnd)
        refuses("\u{0C}{}", .unexpectedByte(0x0C))  // form feed is not JSON whitespace
    }

    func testEscapes() {
        for ok in [#""\"\\\/\b\f\n\r\t""#, #""\u0041\u00e9\u4e2d""#, #""\ud83d\ude00""#, #""\uD83D\uDE00 x""#, #""\u0000""#] {
            accepts(ok)
        }
        refuses(#""\x""#, .invalidEscape(UInt8(ascii: "x")))
        refuses(#""\u12""#, .invalidUnicodeEscape)
        refuses(#""\u12G4""#, .invalidUnicodeEscape)
        refuses(#""\ud83d""#, .loneSurrogate)
        refuses(#""\ude00""#, .loneSurrogate)
        refuses(#""\ud83d\u0041""#, .loneSurrogate)
        refuses(#""\ud83d\ud83d""#, .loneSurrogate)
        refuses(#""\ud83dx""#, .loneSurrogate)
        refuses(#""abc\"#, .unterminatedString)
        refuses(#""abc"#, .unterminatedString)
    }

    func testUTF8Rules() {
        let q: UInt8 = 0x22
        for ok: [UInt8] in [[0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEF, 0xBF, 0xBF],
                            [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF]] {
            accepts([q] + ok + [q])
        }
        // Overlong forms, UTF-16 surrogates, beyond U+10FFFF, stray continuation bytes, truncated sequences.
        for bad: [UInt8] in [[0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF], [0xED, 0xA0, 0x80],
                             [0xED, 0xBF, 0xBF], [0xF0, 0x80, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80],
                             [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xFE], [0x80], [0xBF], [0xC2], [0xE1, 0x80], [0xF1, 0x80, 0x80],
                             [0xC2, 0x41], [0xE1, 0x41, 0x80], [0xF1, 0x80, 0x41, 0x80]] {
            refuses([q] + bad + [q], .invalidUTF8)
        }
        refuses([0xC3, 0xA9], .unexpectedByte(0xC3))  // non-ASCII outside a string
    }

    func testControlCharactersMustBeEscaped() {
        for c: UInt8 in [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F] {
            refuses([0x22, 0x61, c, 0x22], .controlCharacterInString(c))
        }
        accepts([0x22, 0x7F, 0x22])  // DEL is allowed raw
    }

    /// Every special byte at every offset of strings around the 8-byte word size, so the word-at-a-time path
    /// and the byte-at-a-time tail are both tested against each kind of stop.
    func testSpecialBytesAtEveryOffset() {
        let inserts: [(bytes: [UInt8], valid: Bool)] = [
            (Array(#"\""#.utf8), true), (Array(#"\\"#.utf8), true), (Array(#"\n"#.utf8), true), (Array(#"\u00e9"#.utf8), true),
            (Array("é".utf8), true), (Array("中".utf8), true), (Array("😀".utf8), true), (Array("中文字".utf8), true),
            ([0x01], false), ([0x1F], false), ([0x0A], false), ([0xFF], false), ([0xC3], false), ([0x80], false),
            ([0xE4, 0xB8], false), (Array(#"\q"#.utf8), false),
        ]
        // Prefixes put the string at different distances from the start (the block path needs 3 bytes of
        // context before it), lengths cover one and two 16-byte blocks plus tails.
        let prefixes = ["", "[", "{\"k\":", "[1,2,3,4,5,6,7,\n"].map { Array($0.utf8) }
        let suffixes = ["", "]", "}", "]"].map { Array($0.utf8) }
        for length in 0..<40 {
            for at in 0...length {
                for insert in inserts {
                    var body = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    body.insert(contentsOf: insert.bytes, at: at)
                    let text = [0x22] + body + [0x22]
                    for (prefix, suffix) in zip(prefixes, suffixes) {
                        if insert.valid { accepts(prefix + text + suffix) } else { refuses(prefix + text + suffix) }
                    }
                    // The same string followed by more data: the stop must be found in the right lane.
                    let inArray = Array("[\"x\",".utf8) + text + Array(",\"tail-tail-tail-tail-tail-tail\"]".utf8)
                    if insert.valid { accepts(inArray) } else { refuses(inArray) }
                }
            }
            accepts([0x22] + [UInt8](repeating: UInt8(ascii: "b"), count: length) + [0x22])
            refuses([0x22] + [UInt8](repeating: UInt8(ascii: "b"), count: length), .unterminatedString)
            refuses(Array("{\"k\":\"".utf8) + [UInt8](repeating: UInt8(ascii: "b"), count: length), .unterminatedString)
        }
    }

    /// Random byte strings against an independent oracle, Swift's own UTF-8 decoder: the scanner must accept
    /// a string exactly when its bytes are valid UTF-8, wherever the faults fall relative to 16-byte blocks.
    func testUTF8AgreesWithSwiftsDecoder() {
        var rng = SplitMix(seed: 99)
        let scalars: [Unicode.Scalar] = ["a", "é", "ß", "中", "😀", "\u{7FF}", "\u{800}", "\u{FFFF}", "\u{10000}", "\u{10FFFF}", "\u{D7FF}", "\u{E000}"]
        var valid = 0, invalid = 0
        for _ in 0..<40_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(rng.next() % 40) { bytes += Array(String(scalars[Int(rng.next() % UInt64(scalars.count))]).utf8) }
            // Sometimes break it: a random high byte in a random place, or a byte dropped.
            switch rng.next() % 4 {
            case 0 where !bytes.isEmpty: bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(0x80 + rng.next() % 0x80)
            case 1 where !bytes.isEmpty: bytes.remove(at: Int(rng.next() % UInt64(bytes.count)))
            case 2: bytes.insert(UInt8(0x80 + rng.next() % 0x80), at: Int(rng.next() % UInt64(bytes.count + 1)))
            default: break
            }
            let oracle = String(validating: bytes, as: UTF8.self) != nil
            let prefix = Array(String(repeating: " ", count: Int(rng.next() % 20)).utf8) + Array("{\"k\":".utf8)
            let text = prefix + [0x22] + bytes + [0x22] + Array("}".utf8)
            XCTAssertEqual(JSONSyntaxError.check(text) == nil, oracle, "\(bytes)")
            if oracle { valid += 1 } else { invalid += 1 }
        }
        XCTAssertGreaterThan(valid, 10_000)
        XCTAssertGreaterThan(invalid, 10_000)
    }

    func testNestingLimit() {
        let limit = JSONValue.maxDepth
        accepts(String(repeating: "[", count: limit) + String(repeating: "]", count: limit))
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        refuses(tooDeep, .tooDeep(limit))
        XCTAssertEqual(JSONSyntaxError.check(Array(tooDeep.utf8))?.message, "nesting deeper than 512 levels")
        refuses(String(repeating: "{\"a\":", count: limit + 1) + "1" + String(repeating: "}", count: limit + 1), .tooDeep(limit))
        // A smaller limit is honoured too.
        XCTAssertNil(JSONSyntaxError.check(Array("[[1]]".utf8), maxDepth: 2))
        XCTAssertEqual(JSONSyntaxError.check(Array("[[[1]]]".utf8), maxDepth: 2)?.kind, .tooDeep(2))
    }

    func testErrorPositionsAreByteOffsets() {
        let error = JSONSyntaxError.check(Array(#"{"a": tru}"#.utf8))
        XCTAssertEqual(error?.offset, 6)
        XCTAssertEqual(error?.description, "invalid literal (expected true, false or null) at byte 7")
    }

    /// The scanner and the tree parser must agree on every text: random mutations of valid documents
    /// (a deterministic generator, so a failure can be replayed).
    func testScannerAgreesWithTreeParser() {
        var rng = SplitMix(seed: 42)
        let seeds: [[UInt8]] = [
            #"{"custom_id":"r1","body":{"messages":[{"role":"user","content":"h\u00e9llo \"x\" \ud83d\ude00"}],"max_tokens":10}}"#,
            #"[1, -2.5e+3, true, false, null, {"": []}, "tab\tend", "中文 😀"]"#,
            #"{"a":{"b":[0,0.1,1e9,{"c":"\/\\\b\f\n\r\t"}]}}"#,
        ].map { Array($0.utf8) }
        let alphabet: [UInt8] = Array(#"{}[]:,"\ u0123456789abcdefeE.+-tnlrs"#.utf8) + [0x00, 0x0A, 0x7F, 0x80, 0xBF, 0xC3, 0xA9, 0xED, 0xA0, 0xF0, 0x9F, 0xF4, 0xFF]
        var accepted = 0, refused = 0
        for _ in 0..<30_000 {
            var bytes = seeds[Int(rng.next() % UInt64(seeds.count))]
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let at = Int(rng.next() % UInt64(bytes.count + 1))
                switch rng.next() % 3 {
                case 0 where at < bytes.count: bytes.remove(at: at)
                case 1 where at < bytes.count: bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                default: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                }
            }
            let scannerOK = JSONSyntaxError.check(bytes) == nil
            let treeOK = (try? JSONValue(parsing: bytes)) != nil
            XCTAssertEqual(scannerOK, treeOK, "disagreement on \(bytes)")
            if scannerOK { accepted += 1 } else { refused += 1 }
        }
        // Both outcomes must occur, or the test checks nothing.
        XCTAssertGreaterThan(accepted, 1000)
        XCTAssertGreaterThan(refused, 1000)
    }
}

/// A small deterministic generator (SplitMix64) for reproducible random tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
