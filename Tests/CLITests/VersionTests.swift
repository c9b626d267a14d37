// The version line and `version -o json` from a build's stamp, stamped or not.
@testable import BatchCLI
import BatchJSONL
import XCTest

final class VersionTests: XCTestCase {
    let stamped = BuildStamp(commit: "4a515bd6624f", date: "2026-12-01", swiftVersion: "6.3.1")

    func testEmptyStampFieldsAreUnknown() {
        XCTAssertEqual(BuildStamp(commit: "", date: "", swiftVersion: ""), BuildStamp())
        XCTAssertNil(BuildStamp(commit: "").commit)
    }

    func testLineNamesTheCommitAndDateWhenStamped() {
        let prefix = "batchctl \(BuildInfo.version) (\(BuildInfo.platform)/\(BuildInfo.arch), \(BuildInfo.configuration) build"
        XCTAssertEqual(BuildInfo.line(BuildStamp()), prefix + ")")
        XCTAssertEqual(BuildInfo.line(stamped), prefix + ", commit 4a515bd6624f, 2026-12-01)")
    }

    func testJSONOfAStampedBuild() throws {
        let json = BuildInfo.json(stamped, https: (true, ""))
        XCTAssertEqual(json["version"]?.stringValue, BuildInfo.version)
        XCTAssertEqual(json["gitCommit"]?.stringValue, "4a515bd6624f")
        XCTAssertEqual(json["buildDate"]?.stringValue, "2026-12-01")
        XCTAssertEqual(json["swiftVersion"]?.stringValue, "6.3.1")
        XCTAssertEqual(json["httpsAvailable"], .bool(true))
        XCTAssertNil(json["httpsUnavailableReason"], "no reason when https works")
    }

    func testJSONOfAPlainBuildAndWithoutLibcurl() {
        let json = BuildInfo.json(BuildStamp(), https: (false, "https:// needs libcurl (Debian package libcurl4)"))
        XCTAssertEqual(json["gitCommit"], .null)
        XCTAssertEqual(json["buildDate"], .null)
        XCTAssertEqual(json["swiftVersion"]?.stringValue, BuildInfo.compilerVersion, "the compiler's own version, as #if compiler knows it")
        XCTAssertEqual(json["httpsAvailable"], .bool(false))
        XCTAssertEqual(json["httpsUnavailableReason"]?.stringValue, "https:// needs libcurl (Debian package libcurl4)")
    }
}
