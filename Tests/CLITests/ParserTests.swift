// The parser's handling of duration values: sub-second values work, and zero, negative and absurd ones are
// usage errors that say what is wrong, whatever flag they are given to.
@testable import BatchCLI
import XCTest

final class ParserTests: XCTestCase {
    func usageError(_ line: [String], file: StaticString = #filePath, lineNumber: UInt = #line) -> String? {
        do {
            _ = try Parser.parse(line)
            XCTFail("\(line) parsed", file: file, line: lineNumber)
            return nil
        } catch let CLIError.usage(message, _) {
            return message
        } catch {
            XCTFail("\(line): \(error)", file: file, line: lineNumber)
            return nil
        }
    }

    func testTimeoutBelowASecond() throws {
        let invocation = try Parser.parse(["--timeout", "300ms", "dataset", "list"])
        XCTAssertEqual(GlobalArguments(FlagReader(invocation)).timeout, .milliseconds(300))
        let attached = try Parser.parse(["dataset", "list", "--timeout=0.25s"])
        XCTAssertEqual(GlobalArguments(FlagReader(attached)).timeout, .milliseconds(250))
    }

    func testAbsurdDurationIsAUsageErrorGivingTheLimit() {
        XCTAssertEqual(usageError(["--timeout", "99999999999999999999s", "dataset", "list"]),
                       "invalid value '99999999999999999999s' for --timeout: must be at most 36500d (100 years)")
        XCTAssertEqual(usageError(["bij", "wait", "j", "--interval", "40000d"]),
                       "invalid value '40000d' for --interval: must be at most 36500d (100 years)")
    }

    func testNegativeDurationSaysMustBePositiveNotNeedsAValue() {
        XCTAssertEqual(usageError(["--timeout", "-5m", "dataset", "list"]), "invalid value '-5m' for --timeout: must be positive")
        XCTAssertEqual(usageError(["dataset", "list", "--timeout", "-5m"]), "invalid value '-5m' for --timeout: must be positive")
        XCTAssertEqual(usageError(["bij", "create", "--max-job-duration", "-1h"]), "invalid value '-1h' for --max-job-duration: must be positive")
    }

    func testZeroDurationIsRefused() {
        XCTAssertEqual(usageError(["--timeout", "0s", "dataset", "list"]), "invalid value '0s' for --timeout: must be positive")
        XCTAssertEqual(usageError(["server", "--request-timeout", "0ms"]), "invalid value '0ms' for --request-timeout: must be positive")
    }

    func testMalformedDurationAndMissingValueKeepTheirMessages() {
        XCTAssertEqual(usageError(["dataset", "list", "--timeout", "soon"]),
                       "invalid value 'soon' for --timeout: expected a duration like 30s, 2m, 1h30m or 300ms")
        XCTAssertEqual(usageError(["dataset", "list", "--timeout"]), "flag --timeout needs a value (DURATION)")
        XCTAssertEqual(usageError(["dataset", "list", "--timeout", "--quiet"]), "flag --timeout needs a value (DURATION)")
    }
}
