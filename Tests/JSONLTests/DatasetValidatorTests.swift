// DatasetValidatorTests: a corpus of good and bad dataset files written to a temp dir, checked line by line.

import BatchJSONL
import Foundation
import XCTest

final class DatasetValidatorTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("jsonl-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    private func validate(_ name: String, _ text: String, _ options: DatasetValidator.Options = .init()) throws -> ValidationReport {
        try DatasetValidator(options).validate(path: try write(name, text))
    }

    static let chat = #"{"custom_id":"%@","body":{"messages":[{"role":"user","content":"hello"}]}}"#
    static func row(_ id: String) -> String { chat.replacingOccurrences(of: "%@", with: id) }
    static func body(_ body: String, id: String = "r") -> String { #"{"custom_id":"\#(id)","body":\#(body)}"# }

    /// A one-row file whose only problem must be rendered exactly as `expected` (`file:line:` added here).
    private func assertProblem(_ line: String, _ expected: String, file: StaticString = #filePath, at: UInt = #line) throws {
        let path = try write("case.jsonl", line + "\n")
        let report = try DatasetValidator().validate(path: path)
        XCTAssertFalse(report.valid, line, file: file, line: at)
        XCTAssertEqual(report.renderedProblems, ["\(path):1: \(expected)"], line, file: file, line: at)
    }

    private func assertValid(_ line: String, file: StaticString = #filePath, at: UInt = #line) throws {
        let report = try DatasetValidator().validate(path: try write("case.jsonl", line + "\n"))
        XCTAssertTrue(report.valid, "\(line): \(report.renderedProblems)", file: file, line: at)
        XCTAssertEqual(report.rows, 1, file: file, line: at)
    }

    // MARK: rows that pass

    func testAcceptedShapes() throws {
        try assertValid(Self.row("a"))
        try assertValid(#"{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}],"max_tokens":5,"stream":false}}"#)
        try assertValid(Self.body(#"{"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"x"}}]}]}"#))
        try assertValid(Self.body(#"{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}]}"#))
        try assertValid(Self.body(#"{"messages":[{"role":"assistant","tool_calls":[]}]}"#))
        try assertValid(Self.body(#"{"prompt_token_ids":[1,2,0,128000]}"#))
        // Escaped key and role names mean the same names.
        try assertValid(#"{"custom\u005fid":"a","body":{"messages":[{"role":"\u0075ser","content":"x"}]}}"#)
        try assertValid("  " + Self.row("spaces-around") + " \t")
    }

    // MARK: one check per case, with the exact message

    func testRowShapeProblems() throws {
        try assertProblem("[1,2]", "a row must be a JSON object, not an array")
        try assertProblem(#""text""#, "a row must be a JSON object, not a string")
        try assertProblem(#"{"body":{"messages":[{"role":"user","content":"x"}]}}"#, "missing custom_id")
        try assertProblem(Self.row("a").replacingOccurrences(of: #""a""#, with: "7"), "custom_id must be a string, not a number")
        try assertProblem(Self.row(""), "custom_id must not be empty")
        try assertProblem(#"{"custom_id":"a"}"#, "missing body")
        try assertProblem(#"{"custom_id":"a","body":[]}"#, "body must be an object, not an array")
        try assertProblem(#"{"custom_id":"a","custom_id":"b","body":{}}"#, #"key "custom_id" appears twice"#)
        try assertProblem(#"{"custom_id":"a","method":"GET","body":{"messages":[{"role":"user","content":"x"}]}}"#,
                          #"method must be "POST", not "GET""#)
        try assertProblem(#"{"custom_id":"a","url":"/v1/embeddings","body":{"messages":[{"role":"user","content":"x"}]}}"#,
                          #"url must be "/v1/chat/completions", not "/v1/embeddings""#)
        try assertProblem(#"{"custom_id":"a","url":null,"body":{"messages":[{"role":"user","content":"x"}]}}"#,
                          #"url must be "/v1/chat/completions", not null"#)
    }

    func testBodyProblems() throws {
        try assertProblem(Self.body("{}"), "body needs messages (a chat row) or prompt_token_ids (a completion row)")
        try assertProblem(Self.body(#"{"messages":[{"role":"user","content":"x"}],"prompt_token_ids":[1]}"#),
                          "body has both messages and prompt_token_ids; use one of them")
        try assertProblem(Self.body(#"{"messages":{}}"#), "body.messages must be an array, not an object")
        try assertProblem(Self.body(#"{"messages":[]}"#), "body.messages must not be empty")
        try assertProblem(Self.body(#"{"messages":[{"role":"user","content":"x"},"hi"]}"#), "body.messages[1] must be an object, not a string")
        try assertProblem(Self.body(#"{"messages":[{"content":"x"}]}"#), "body.messages[0] has no role")
        try assertProblem(Self.body(#"{"messages":[{"role":1,"content":"x"}]}"#), "body.messages[0].role must be a string, not a number")
        try assertProblem(Self.body(#"{"messages":[{"role":"user","content":"x"},{"role":"bot","content":"x"}]}"#),
                          #"body.messages[1].role must be one of system, user, assistant, tool, not "bot""#)
        try assertProblem(Self.body(#"{"messages":[{"role":"user"}]}"#),
                          "body.messages[0] has no content (only an assistant message with tool_calls may leave it out)")
        try assertProblem(Self.body(#"{"messages":[{"role":"user","content":null}]}"#),
                          "body.messages[0].content is null (only an assistant message with tool_calls may have null content)")
        try assertProblem(Self.body(#"{"messages":[{"role":"assistant","content":null}]}"#),
                          "body.messages[0].content is null (only an assistant message with tool_calls may have null content)")
        try assertProblem(Self.body(#"{"messages":[{"role":"user","content":5}]}"#),
                          "body.messages[0].content must be a string or an array of parts, not a number")
        try assertProblem(Self.body(#"{"messages":[{"role":"user","content":[{"type":"text","text":"a"},"b"]}]}"#),
                          "body.messages[0].content[1] must be an object, not a string")
        try assertProblem(Self.body(#"{"messages":[{"role":"user","role":"user","content":"x"}]}"#),
                          #"key "body.messages[0].role" appears twice"#)
        try assertProblem(Self.body(#"{"prompt_token_ids":"1 2"}"#), "body.prompt_token_ids must be an array, not a string")
        try assertProblem(Self.body(#"{"prompt_token_ids":[]}"#), "body.prompt_token_ids must not be empty")
        try assertProblem(Self.body(#"{"prompt_token_ids":[1,-1]}"#), "body.prompt_token_ids[1] must be a non-negative integer, not -1")
        try assertProblem(Self.body(#"{"prompt_token_ids":[1.5]}"#), "body.prompt_token_ids[0] must be a non-negative integer, not 1.5")
        try assertProblem(Self.body(#"{"prompt_token_ids":[1,"2"]}"#), "body.prompt_token_ids[1] must be a non-negative integer, not a string")
        try assertProblem(Self.body(#"{"messages":[{"role":"user","content":"x"}],"stream":true}"#),
                          "body.stream is true, but batch rows cannot stream")
        try assertProblem(Self.body(#"{"messages":[{"role":"user","content":"x"}],"stream":"no"}"#),
                          "body.stream must be a boolean, not a string")
    }

    func testSyntaxProblems() throws {
        try assertProblem(#"{"custom_id":"a","body":{"messages":[{"role":"user","content":"x"}]}"#,
                          "invalid JSON at byte 69: unexpected end of the JSON value")
        try assertProblem(#"{"custom_id":"a",}"#, "invalid JSON at byte 18: expected a string key in an object")
        try assertProblem(#"{"custom_id":'a'}"#, "invalid JSON at byte 14: unexpected character '''")
        try assertProblem(Self.row("a") + " {}", "invalid JSON at byte 75: unexpected data after the JSON value")
        try assertProblem(#"{"custom_id":"a\qb"}"#, #"invalid JSON at byte 17: invalid escape '\q' in a string"#)
        try assertProblem(#"{"custom_id":"\ud800"}"#, "invalid JSON at byte 15: lone UTF-16 surrogate in a \\u escape")
        try assertProblem(#"{"custom_id":"a","body":{"max_tokens":012}}"#, "invalid JSON at byte 40: invalid number: leading zeros are not allowed")
        try assertProblem("{\"custom_id\":\"a\tb\"}", "invalid JSON at byte 16: unescaped control character 0x09 in a string")
    }

    func testRawNewlineInsideAStringIsExplained() throws {
        let path = try write("newline.jsonl", "{\"custom_id\":\"a\",\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\"two\nlines\"}]}}\n")
        let report = try DatasetValidator().validate(path: path)
        XCTAssertEqual(report.renderedProblems, [
            "\(path):1: invalid JSON at byte 67: unterminated string (a string cannot span lines: write a newline as \\n)",
            "\(path):2: invalid JSON at byte 1: unexpected character 'l'",
        ])
        XCTAssertEqual(report.rows, 2)
    }

    func testNonUTF8Bytes() throws {
        var bytes = Array(#"{"custom_id":"caf"#.utf8) + [0xE9] + Array(#"","body":{"messages":[{"role":"user","content":"x"}]}}"#.utf8)
        bytes += [0x0A] + Array(Self.row("b").utf8) + [0x0A, 0xFF, 0xFE, 0x0A]
        let path = try write("latin1.jsonl", bytes)
        let report = try DatasetValidator().validate(path: path)
        XCTAssertEqual(report.renderedProblems, [
            "\(path):1: invalid JSON at byte 18: invalid UTF-8",
            "\(path):3: invalid JSON at byte 1: unexpected byte 0xFF",
        ])
        XCTAssertEqual(report.rows, 3)
    }

    func testNestingLimitHasAClearMessage() throws {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        try assertProblem(Self.body(#"{"messages":[{"role":"user","content":"x"}],"extra":\#(deep)}"#),
                          "invalid JSON at byte 587: nesting deeper than 512 levels")
    }

    // MARK: whole files

    func testDuplicateCustomIDsNameBothLines() throws {
        let text = [Self.row("a"), Self.row("b"), Self.row("a"), "", Self.row("c"), Self.row("b"), Self.row(#"\u0063"#)].joined(separator: "\n")
        let path = try write("dups.jsonl", text)
        let report = try DatasetValidator().validate(path: path)
        XCTAssertEqual(report.renderedProblems, [
            #"\#(path):3: duplicate custom_id "a" (first seen on line 1)"#,
            #"\#(path):6: duplicate custom_id "b" (first seen on line 2)"#,
            #"\#(path):7: duplicate custom_id "c" (first seen on line 5)"#,
        ])
        XCTAssertEqual(report.rows, 6)
        XCTAssertEqual(report.blankLines, 1)
    }

    func testMixedFormatsNameTheLine() throws {
        let text = "\n" + Self.row("a") + "\n" + Self.body(#"{"prompt_token_ids":[1,2]}"#, id: "b") + "\n"
        let path = try write("mixed.jsonl", text)
        let report = try DatasetValidator().validate(path: path)
        XCTAssertEqual(report.renderedProblems, [
            "\(path):3: this row is a completion row (prompt_token_ids) but line 2 is a chat row (messages); a dataset has one format",
        ])
        XCTAssertEqual(report.format, .chat)
    }

    func testEmptyFileAndBlankFile() throws {
        let empty = try write("empty.jsonl", "")
        let report = try DatasetValidator().validate(path: empty)
        XCTAssertEqual(report.renderedProblems, ["\(empty):1: the dataset has no rows (the file is empty)"])
        XCTAssertFalse(report.valid)
        let blank = try write("blank.jsonl", "\n  \n\t\r\n")
        let blankReport = try DatasetValidator().validate(path: blank)
        XCTAssertEqual(blankReport.renderedProblems, ["\(blank):1: the dataset has no rows (only blank lines)"])
        XCTAssertEqual(blankReport.blankLines, 3)
    }

    func testCRLFBOMAndMissingFinalNewline() throws {
        let text = "\u{FEFF}" + [Self.row("a"), Self.row("b"), "", Self.row("c")].joined(separator: "\r\n")
        let path = try write("crlf.jsonl", text)
        let report = try DatasetValidator(.init(collectCustomIDs: true)).validate(path: path)
        XCTAssertTrue(report.valid, "\(report.renderedProblems)")
        XCTAssertEqual(report.rows, 3)
        XCTAssertEqual(report.blankLines, 1)
        XCTAssertEqual(report.bytes, text.utf8.count)
        XCTAssertEqual(report.customIDs, ["a", "b", "c"])
        // Line numbers still count the blank line.
        let bad = try write("crlf-bad.jsonl", "\u{FEFF}" + Self.row("a") + "\r\n\r\n" + Self.row("a") + "\r\n")
        XCTAssertEqual(try DatasetValidator().validate(path: bad).renderedProblems,
                       [#"\#(bad):3: duplicate custom_id "a" (first seen on line 1)"#])
    }

    func testModelInBodyIsAWarning() throws {
        let path = try write("model.jsonl", Self.body(#"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}"#) + "\n")
        let report = try DatasetValidator().validate(path: path)
        XCTAssertTrue(report.valid)
        XCTAssertEqual(report.renderedWarnings, [#"\#(path):1: body.model "gpt-4o" is ignored: the job's model is used"#])
        XCTAssertEqual(report.warningCount, 1)
    }

    func testFiftyMegabyteSingleLine() throws {
        let content = String(repeating: "abcdefghij", count: 5_000_000)
        let path = try write("huge.jsonl", Self.body(#"{"messages":[{"role":"user","content":"\#(content)"}]}"#, id: "big") + "\n" + Self.row("small"))
        let report = try DatasetValidator().validate(path: path)
        XCTAssertTrue(report.valid, "\(report.renderedProblems)")
        XCTAssertEqual(report.rows, 2)
        XCTAssertEqual(report.estimatedTokens, (50_000_000 + 3) / 4 + 4 + 3 + (5 + 3) / 4 + 4 + 3)
        // With a smaller line limit the same line is a problem, and the next line is still checked.
        var options = DatasetValidator.Options()
        options.maxLineBytes = 1 << 20
        let limited = try DatasetValidator(options).validate(path: path)
        XCTAssertEqual(limited.renderedProblems, ["\(path):1: line is \(50_000_070) bytes, longer than the limit of 1 MiB for one row"])
        XCTAssertEqual(limited.rows, 2)
    }

    func testCountsAndEstimates() throws {
        let text = [
            Self.body(#"{"messages":[{"role":"system","content":"12345678"},{"role":"user","content":[{"type":"text","text":"abcd"}]}]}"#, id: "1"),
            Self.body(#"{"messages":[{"role":"user","content":"x"}]}"#, id: "2"),
        ].joined(separator: "\n") + "\n"
        let report = try validate("counts.jsonl", text)
        XCTAssertTrue(report.valid)
        XCTAssertEqual(report.format, .chat)
        XCTAssertEqual(report.rows, 2)
        XCTAssertEqual(report.messages, 3)
        // Row 1: 12 text bytes -> 3, 2 messages -> 8, row -> 3. Row 2: 1 byte -> 1, 1 message -> 4, row -> 3.
        XCTAssertEqual(report.estimatedTokens, 14 + 8)
        XCTAssertEqual(report.averageTurnCount, 1.5)

        let completion = try validate("completion.jsonl", Self.body(#"{"prompt_token_ids":[5,6,7]}"#) + "\n")
        XCTAssertEqual(completion.format, .completion)
        XCTAssertEqual(completion.estimatedTokens, 3)
    }

    func testKeepsTwentyProblemsCountsAllAndCanStopEarly() throws {
        let text = (1...50).map { _ in "nope" }.joined(separator: "\n")
        let report = try validate("many.jsonl", text)
        XCTAssertEqual(report.problemCount, 50)
        XCTAssertEqual(report.problems.count, 20)
        XCTAssertEqual(report.problems.map(\.line), Array(1...20))
        XCTAssertEqual(report.firstProblem, Problem(line: 1, reason: "invalid JSON at byte 1: invalid literal (expected true, false or null)"))
        XCTAssertFalse(report.stoppedEarly)

        let stopped = try validate("many.jsonl", text, .init(stopAfterProblems: 3))
        XCTAssertEqual(stopped.problemCount, 3)
        XCTAssertEqual(stopped.rows, 3)
        XCTAssertTrue(stopped.stoppedEarly)
    }

    func testSummaryAndJSON() throws {
        let path = try write("ok.jsonl", Self.row("a") + "\n" + Self.row("b") + "\n")
        var report = try DatasetValidator().validate(path: path)
        report.seconds = 0.0123
        XCTAssertEqual(report.summary, "\(path): valid: 2 rows, 148 B, CHAT, ~18 estimated tokens, 0.012 s")
        let json = report.json
        XCTAssertEqual(json["valid"], .bool(true))
        XCTAssertEqual(json["rows"]?.int64Value, 2)
        XCTAssertEqual(json["bytes"]?.int64Value, 148)
        XCTAssertEqual(json["format"]?.stringValue, "CHAT")
        XCTAssertEqual(json["problems"], .array([]))
        // The JSON form is valid JSON that parses back to itself.
        XCTAssertEqual(try JSONValue(parsing: json.compactText), json)

        let bad = try write("bad.jsonl", "[]\n")
        var badReport = try DatasetValidator().validate(path: bad)
        badReport.seconds = 12.34
        XCTAssertEqual(badReport.summary, "\(bad): invalid: 1 problem in 1 row, 3 B, 12.3 s")
        XCTAssertEqual(badReport.json["problems"], .array([.object([("line", .int(1)), ("reason", .string("a row must be a JSON object, not an array"))])]))
        XCTAssertEqual(badReport.json["problemCount"]?.int64Value, 1)
    }

    func testReadErrorsAreThrownNotReported() {
        XCTAssertThrowsError(try DatasetValidator().validate(path: directory.appendingPathComponent("missing.jsonl").path)) { error in
            guard case let .cannotOpen(_, code, reason)? = error as? DatasetReadError else { return XCTFail("\(error)") }
            XCTAssertEqual(code, ENOENT)
            XCTAssertEqual(reason, "No such file or directory")
        }
    }

    func testValidatesFromADescriptor() throws {
        let path = try write("fd.jsonl", Self.row("a") + "\n")
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let report = try DatasetValidator().validate(fileDescriptor: fd, displayName: "<stdin>")
        XCTAssertTrue(report.valid)
        XCTAssertEqual(report.file, "<stdin>")
    }

    /// Random rows through the validator must never crash and must keep `problems` within the kept limit.
    func testRandomBytesNeverCrash() {
        var rng = SplitMix(seed: 7)
        let pieces = [Self.row("x"), "{", "}", "[", "]", "\"", "\\", "\n", "\r\n", ",", ":", "\u{FEFF}", "é", "\u{0}", "1e5", "null",
                      #""custom_id""#, #""body""#, #""messages""#, #""role""#, #""content""#, #""prompt_token_ids""#]
        var invalid = 0
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 12) { text += pieces[Int(rng.next() % UInt64(pieces.count))] }
            let report = DatasetValidator().validate(bytes: Array(text.utf8), displayName: "r")
            XCTAssertLessThanOrEqual(report.problems.count, 20)
            XCTAssertEqual(report.valid, report.problemCount == 0)
            if !report.valid { invalid += 1 }
        }
        XCTAssertGreaterThan(invalid, 100)
    }
}
