// Connection settings come from the global flags only: a command's own flag named like a global stays its own.
@testable import BatchCLI
import XCTest

final class SettingsTests: XCTestCase {
    func settings(_ line: [String]) throws -> Settings {
        let global = GlobalArguments(FlagReader(try Parser.parse(line)))
        return try Settings.resolve(global, environment: [:], home: "/nonexistent")
    }

    func testTimeoutFromTheGlobalFlagInSeconds() throws {
        XCTAssertEqual(try settings(["dataset", "list", "--timeout", "300ms"]).timeout, 0.3)
        XCTAssertEqual(try settings(["dataset", "list", "--timeout", "2m"]).timeout, 120)
        XCTAssertEqual(try settings(["dataset", "list"]).timeout, 60)
        XCTAssertEqual(try settings(["bij", "wait", "j", "--timeout", "2h"]).timeout, 7200, "--timeout is per request everywhere, bij wait included")
        XCTAssertEqual(try settings(["bij", "wait", "j", "--wait-timeout", "2h"]).timeout, 60, "--wait-timeout is not the request timeout")
    }

    func testServerKeyIsNotTheClientKey() throws {
        let s = try settings(["server", "--api-key", "server-key", "-a", "acct"])
        XCTAssertNil(s.apiKey)
        XCTAssertNil(s.accountID)
        let client = try settings(["dataset", "list", "--api-key", "client-key", "-a", "acct"])
        XCTAssertEqual(client.apiKey, "client-key")
        XCTAssertEqual(client.apiKeySource, "--api-key")
        XCTAssertEqual(client.accountID, "acct")
    }
}
