// RowMembers: the spans of custom_id, response, error and body in one row.
import BatchJSONL
import XCTest

final class RowMembersTests: XCTestCase {
    func scan(_ text: String) throws -> (RowMembers, [UInt8]) {
        let bytes = Array(text.utf8)
        return (try bytes.withUnsafeBytes { try RowMembers.scan($0) }, bytes)
    }

    func text(_ bytes: [UInt8], _ range: Range<Int>?) -> String? { range.map { String(decoding: bytes[$0], as: UTF8.self) } }

    func testFindsTheMembersAsWritten() throws {
        let (m, bytes) = try scan(#" {"x": [1, {"custom_id": "no"}], "custom_id": "a\u0062", "response": {"choices": []}, "error" : null, "body":{"k":1} } "#)
        XCTAssertEqual(text(bytes, m.response), #"{"choices": []}"#)
        XCTAssertNil(m.error, "null counts as absent")
        XCTAssertEqual(text(bytes, m.body), #"{"k":1}"#)
        XCTAssertTrue(m.customIDEscaped)
        let id = bytes.withUnsafeBytes { raw in m.withCustomID(in: raw) { String(decoding: $0, as: UTF8.self) } }
        XCTAssertEqual(id, "ab", "escapes are resolved")
        XCTAssertEqual(text(bytes, m.customID), #"a\u0062"#)
    }

    func testRejectsBadJSONAndIgnoresNonObjects() throws {
        XCTAssertThrowsError(try scan(#"{"custom_id": "a", "response": {"#))
        XCTAssertThrowsError(try scan(#"{"custom_id": "a"} x"#))
        let (m, _) = try scan("[1, 2]")
        XCTAssertNil(m.customID)
        let (n, _) = try scan(#"{"custom_id": 5, "error": {"code": 400}}"#)
        XCTAssertNil(n.customID, "a custom_id that is not a string is none")
        XCTAssertNotNil(n.error)
    }
}
