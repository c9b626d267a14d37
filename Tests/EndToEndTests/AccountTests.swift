// End to end: whoami and set-api-key as firectl has them, and what --local sends and checks (#13 items 1, 13).
import Foundation
import XCTest

final class AccountTests: XCTestCase {
    func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? NSNumber)?.intValue ?? -1
    }

    func testSetAPIKeyThenWhoamiInAnEmptyHome() throws {
        let server = try LocalServer()
        let home = Harness.temporaryDirectory("home")
        let env = Harness.cleanEnvironment(home: home)
        var r = Harness.run(["set-api-key", "fw_abcdefgh12345678"], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "", "the key is not data to print")
        let file = home + "/.fireworks/auth.ini"
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), "api_key = fw_abcdefgh12345678\n")
        XCTAssertEqual(mode(file), 0o600, "auth.ini is 0600")
        XCTAssertEqual(mode(home + "/.fireworks"), 0o700, "~/.fireworks is 0700")
        XCTAssertEqual(r.err, "saved the API key fw_****5678 as api_key in \(file)\n")

        // No account anywhere: whoami asks the gateway, and says where each setting came from.
        r = Harness.run(["--server", server.url, "whoami"], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, """
            Account: local (from GET /verifyApiKey)
            API key: fw_****5678 (from \(file))
            Gateway: \(server.url) (from --server)
            Data dir: \(server.dataDir)
            Key check: accepted by GET /verifyApiKey (account local)

            """)
        r = Harness.run(["--server", server.url, "whoami", "-o", "json"], env: env.merging(["FIREWORKS_ACCOUNT_ID": "team"]) { $1 })
        XCTAssertEqual(r.status, 0, r.err)
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(json["account"] as? String, "team")
        XCTAssertEqual(json["accountSource"] as? String, "FIREWORKS_ACCOUNT_ID")
        XCTAssertEqual(json["apiKey"] as? String, "fw_****5678")
        XCTAssertEqual(json["apiKeySource"] as? String, file)
        XCTAssertEqual(json["gatewaySource"] as? String, "--server")
        XCTAssertEqual(json["keyAccepted"] as? Bool, true)
        XCTAssertFalse(r.out.contains("abcdefgh"), "the key is never printed")
    }

    func testSetAPIKeyKeepsOtherLinesReadsStdinAndWritesProfiles() throws {
        let home = Harness.temporaryDirectory("home")
        let env = Harness.cleanEnvironment(home: home)
        try FileManager.default.createDirectory(atPath: home + "/.fireworks", withIntermediateDirectories: true)
        let file = home + "/.fireworks/auth.ini"
        try "# mine\naccount_id = acme\napi_key = old-key-0000\nsomething_else = 1\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        var r = Harness.run(["set-api-key", "-"], env: env, stdin: "fw_fromstdin9999\n")
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), "# mine\naccount_id = acme\napi_key = fw_fromstdin9999\nsomething_else = 1\n")
        XCTAssertEqual(mode(file), 0o600)

        r = Harness.run(["-p", "work", "set-api-key", "fw_workkey77777", "-o", "json"], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        let profileFile = home + "/.fireworks/profiles/work/auth.ini"
        XCTAssertEqual(try String(contentsOfFile: profileFile, encoding: .utf8), "api_key = fw_workkey77777\n")
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(json["file"] as? String, profileFile)
        XCTAssertEqual(json["apiKey"] as? String, "fw_****7777")
        r = Harness.run(["-p", "work", "whoami", "--server", "http://127.0.0.1:1", "-a", "x", "--dry-run"], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("Authorization: Bearer fw_****7777"), "the profile's key is the one used: \(r.out)")

        r = Harness.run(["set-api-key", "has space"], env: env)
        XCTAssertEqual(r.status, 2, r.err)
        r = Harness.run(["set-api-key", "-"], env: env, stdin: "\n")
        XCTAssertEqual(r.status, 2, r.err)
        XCTAssertTrue(r.err.contains("the API key is empty"), r.err)
    }

    func testWhoamiWithARefusedKeyExitsFour() throws {
        let server = try LocalServer(["--api-key", "right-key-1234"])
        let r = server.cli(["whoami", "--api-key", "wrong-key-98765"])
        XCTAssertEqual(r.status, 4, r.err)
        XCTAssertTrue(r.out.contains("API key: wro****8765 (from --api-key)"), r.out)
        XCTAssertTrue(r.out.contains("Key check: refused by GET /verifyApiKey"), r.out)
    }

    // MARK: --local

    func testLocalSendsNoFireworksKeyAndRefusesWhatIsNotABatchctlGateway() throws {
        // Something else on the local port: a plain HTTP server that records what it is sent.
        let other = try ScriptedHTTPServer()
        let env = ["BATCHCTL_LOCAL_URL": other.url, "FIREWORKS_API_KEY": "fw_secret_user_key_4242"]
        let r = Harness.run(["--local", "dataset", "list"], env: Harness.cleanEnvironment().merging(env) { $1 })
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("what answers at \(other.url) is not a batchctl gateway (Server: "), r.err)
        XCTAssertFalse(other.requests().isEmpty, "it was probed")
        for request in other.requests() {
            XCTAssertNil(request.headers["authorization"], "--local never sends the Fireworks key: \(request.target)")
        }
    }

    func testLocalNamesAForeignDataDirAndShowsNoKey() throws {
        let server = try LocalServer()
        let home = Harness.temporaryDirectory("home")
        var env = Harness.cleanEnvironment(home: home)
        env["BATCHCTL_LOCAL_URL"] = server.url
        env["FIREWORKS_API_KEY"] = "fw_secret_user_key_4242"
        var r = Harness.run(["--local", "dataset", "list"], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("note: the local gateway at \(server.url) serves data dir \(server.dataDir), not yours (\(home)/.local/share/batchctl)"), r.err)
        r = Harness.run(["--local", "--dry-run", "dataset", "list"], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertFalse(r.out.contains("Authorization"), "no key goes to the local gateway: \(r.out)")
        r = Harness.run(["--local", "whoami"], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("API key: none (--local sends no Fireworks key)"), r.out)
        XCTAssertTrue(r.out.contains("Account: local (from --local)"), r.out)

        // The gateway says what it is on every answer, errors included.
        let head = Harness.runProgram(try Harness.requireTool("curl"), ["-sS", "-D", "-", "-o", "/dev/null", server.url + "/v1/accounts/local/datasets/nope"])
        XCTAssertTrue(head.out.lowercased().contains("server: batchctl/"), head.out)
    }
}
