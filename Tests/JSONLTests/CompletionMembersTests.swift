// Tests of CompletionMembers: usage and the number of choices of a chat completion, found without a JSON tree.
import XCTest
@testable import BatchJSONL

final class CompletionMembersTests: XCTestCase {
    func scan(_ text: String) -> CompletionMembers? { Array(text.utf8).withUnsafeBytes { CompletionMembers.scan($0) } }

    func testFindsUsageAndCountsChoices() throws {
        let text = #"{"id":"x","choices":[{"index":0,"message":{"content":"a \"usage\": [1]"}},{"index":1}],"usage":{"prompt_tokens":5,"completion_tokens":7}}"#
        let members = try XCTUnwrap(scan(text))
        XCTAssertEqual(members.choices, 2)
        let usage = try XCTUnwrap(members.usage)
        XCTAssertEqual(String(decoding: Array(text.utf8)[usage], as: UTF8.self), #"{"prompt_tokens":5,"completion_tokens":7}"#)
        XCTAssertFalse(members.spansLines)
    }

    func testAnswersThatAreNotOneObject() {
        XCTAssertNil(scan("hello"))
        XCTAssertNil(scan("[1, 2]"))
        XCTAssertNil(scan(#"{"a": 1} {"b": 2}"#))
        XCTAssertNil(scan(#"{"a": }"#))
        XCTAssertNil(scan(""))
        XCTAssertEqual(scan("{}"), CompletionMembers())
        XCTAssertEqual(scan(#"{"choices": "none", "usage": null}"#)?.choices, 0)
        XCTAssertNil(scan(#"{"usage": [1]}"#)?.usage, "a usage that is not an object is ignored")
    }

    func testAPrettyPrintedAnswerSpansLines() {
        XCTAssertEqual(scan("{\n  \"choices\": [\n    {}\n  ]\n}\n")?.spansLines, true)
        XCTAssertEqual(scan("{\n  \"choices\": [\n    {}\n  ]\n}\n")?.choices, 1)
        XCTAssertEqual(scan(#"{"text": "one\nline"}"#)?.spansLines, false, "an escaped newline is inside a string")
    }
}
