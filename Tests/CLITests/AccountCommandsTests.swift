// set-api-key's edit of auth.ini: the api_key line replaced in place, every other line kept.
@testable import BatchCLI
import XCTest

final class AccountCommandsTests: XCTestCase {
    func testReplacingAPIKeyKeepsOtherLines() {
        XCTAssertEqual(AccountCommands.replacingAPIKey(in: "", with: "k1"), "api_key = k1\n")
        XCTAssertEqual(AccountCommands.replacingAPIKey(in: "account_id = a", with: "k1"), "account_id = a\napi_key = k1\n")
        XCTAssertEqual(AccountCommands.replacingAPIKey(in: "[fireworks]\n# api_key = commented\n  api_key=old\naccount_id = a\napi_key = dup\n", with: "k2"),
                       "[fireworks]\n# api_key = commented\napi_key = k2\naccount_id = a\n")
        XCTAssertEqual(AccountCommands.replacingAPIKey(in: "api_base = x\n\n", with: "k3"), "api_base = x\n\napi_key = k3\n")
    }

    func testErrorTallyCountsCodes() throws {
        let path = NSTemporaryDirectory() + "tally-\(getpid()).jsonl"
        let lines = [#"{"custom_id":"a","error":{"code":400,"message":"bad a"}}"#, #"{"custom_id":"b","error":{"code":400,"message":"bad b"}}"#,
                     #"{"custom_id":"c","error":{"code":"INVALID_ARGUMENT","message":"x"}}"#, "not json",
                     #"{"custom_id":"d","error":{"code":503,"message":"down"}}"#, #"{"custom_id":"e","error":{"code":503,"message":"down"}}"#,
                     #"{"custom_id":"f","error":{"code":503,"message":"down"}}"#]
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let tally = try XCTUnwrap(ErrorTally(path: path))
        XCTAssertEqual(tally.commonest(3), [ErrorTally.Entry(code: "503", count: 3, example: "down"),
                                            ErrorTally.Entry(code: "400", count: 2, example: "bad a"),
                                            ErrorTally.Entry(code: "INVALID_ARGUMENT", count: 1, example: "x")])
    }
}
