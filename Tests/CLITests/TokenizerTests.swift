// The tokenizer: after a flag that takes a value, a dash then a digit is that value, not a cluster of flags.
@testable import BatchCLI
import XCTest

final class TokenizerTests: XCTestCase {
    func testDashDigitIsAValue() {
        for value in ["-5m", "-0.5", "-1", "-.5", "-3x"] {
            var tokenizer = Tokenizer(["--timeout", value])
            XCTAssertEqual(tokenizer.next(), .long("timeout", attached: nil))
            XCTAssertTrue(tokenizer.nextIsValue(), value)
            XCTAssertEqual(tokenizer.takeValue(), value)
            XCTAssertNil(tokenizer.next())
        }
    }

    func testFlagsAndDashAreStillFlagsAndValues() {
        for (arg, isValue) in [("-q", false), ("--quiet", false), ("-", true), ("x", true), ("-qo", false)] {
            var tokenizer = Tokenizer(["--timeout", arg])
            _ = tokenizer.next()
            XCTAssertEqual(tokenizer.nextIsValue(), isValue, arg)
        }
    }
}
