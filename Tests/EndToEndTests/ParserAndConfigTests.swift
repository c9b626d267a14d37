// End to end: the parser's conventions, usage errors, help, dry-run and configuration precedence, observed
// through the built binary exactly as a user sees them.
import Foundation
import XCTest

final class ParserAndConfigTests: XCTestCase {
    func testHelpAndVersion() {
        var r = Harness.run(["--help"])
        XCTAssertEqual(r.status, 0)
        for word in ["dataset", "batch-inference-job", "server", "completion", "man", "version"] { XCTAssertTrue(r.out.contains(word), word) }
        r = Harness.run(["help", "dataset", "create"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.out.contains("Usage:\n  batchctl dataset create DATASET_ID [FILE]"), r.out)
        XCTAssertTrue(r.out.contains("--display-name NAME"), r.out)
        r = Harness.run(["dataset", "--help"])
        XCTAssertTrue(r.out.contains("validate") && r.out.contains("download"), r.out)
        r = Harness.run(["bij", "create", "-h"])
        XCTAssertTrue(r.out.contains("--continue-from JOB"), r.out)
        r = Harness.run(["--version"])
        XCTAssertTrue(r.out.hasPrefix("batchctl "), r.out)
        XCTAssertEqual(Harness.run(["version"]).out, r.out)
    }

    func testUsageErrorsSuggestAndExit2() {
        var r = Harness.run(["dataset", "lst"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("did you mean 'list'?") && r.err.contains("--help"), r.err)
        r = Harness.run(["bij", "list", "--outptu", "json"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("did you mean '--output'?"), r.err)
        r = Harness.run(["bij", "create", "--max-tokens", "abc"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("--max-tokens"), r.err)
        r = Harness.run(["bij", "list", "-o", "yaml"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("text, table, wide, json, jsonl, name"), r.err)
        r = Harness.run(["bij", "create", "--max-job-duration", "forever"])
        XCTAssertTrue(r.status == 2 && r.err.contains("--max-job-duration"), r.err)
        r = Harness.run(["bij", "create", "--extra-body", "{nope"])
        XCTAssertTrue(r.status == 2 && r.err.contains("--extra-body") && r.err.contains("JSON"), r.err)
        r = Harness.run(["bij", "list", "--timeout"])
        XCTAssertTrue(r.status == 2 && r.err.contains("--timeout needs a value"), r.err)
        r = Harness.run(["dataset", "get", "UPPER", "-a", "acct"])
        XCTAssertTrue(r.status == 2 && r.err.contains("lowercase"), r.err)
        r = Harness.run(["frobnicate"])
        XCTAssertEqual(r.status, 2)
    }

    func testDryRunPrintsTheRequestInBothOrders() {
        for order in [["bij", "create"], ["create", "batch-inference-job"]] {
            let r = Harness.run(order + ["-m", "m", "-d", "ds", "--job-id", "j1", "--temperature", "0.5",
                                         "--extra-body", #"{"stop":["\n"]}"#, "--dry-run", "-a", "acct", "--api-key", "fw_secretsecret1234"])
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertTrue(r.out.hasPrefix("POST https://api.fireworks.ai/v1/accounts/acct/batchInferenceJobs?batchInferenceJobId=j1\n"), r.out)
            XCTAssertTrue(r.out.contains(#""inputDatasetId": "accounts/acct/datasets/ds""#), r.out)
            XCTAssertTrue(r.out.contains(#""temperature": 0.5"#), r.out)
            XCTAssertTrue(r.out.contains(#""extraBody": "{\"stop\":[\"\\n\"]}""#), r.out)
            XCTAssertFalse(r.out.contains("fw_secretsecret1234"), "the key is masked")
            XCTAssertTrue(r.out.contains("Authorization: Bearer fw_****1234"), r.out)
        }
    }

    /// An absurd --timeout is a usage error naming the limit (it used to trap in the socket code), a negative
    /// one says so (it used to read as flags -5 -m), and one below a second works.
    func testTimeoutDurationsAreCheckedAtTheCommandLine() {
        var r = Harness.run(["--timeout", "99999999999999999999s", "dataset", "list", "--server", "http://127.0.0.1:9"])
        XCTAssertEqual(r.status, 2, r.err)
        XCTAssertTrue(r.err.contains("invalid value '99999999999999999999s' for --timeout: must be at most 36500d (100 years)"), r.err)
        XCTAssertFalse(r.err.contains("Fatal error") || r.err.contains("Backtrace"), r.err)
        r = Harness.run(["--timeout", "99999999999999999999s", "dataset", "list", "--server", "http://127.0.0.1:9", "-a", "acct"])
        XCTAssertEqual(r.status, 2, "with an account the request would be sent: \(r.err)")

        r = Harness.run(["--timeout", "-5m", "dataset", "list", "--server", "http://127.0.0.1:9"])
        XCTAssertEqual(r.status, 2, r.err)
        XCTAssertTrue(r.err.contains("invalid value '-5m' for --timeout: must be positive"), r.err)
        XCTAssertFalse(r.err.contains("needs a value"), r.err)

        r = Harness.run(["--timeout", "0s", "dataset", "list", "--server", "http://127.0.0.1:9"])
        XCTAssertEqual(r.status, 2, r.err)
        XCTAssertTrue(r.err.contains("invalid value '0s' for --timeout: must be positive"), r.err)

        r = Harness.run(["--timeout", "300ms", "dataset", "list", "--server", "http://127.0.0.1:9", "-a", "acct", "--dry-run"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("GET http://127.0.0.1:9/v1/accounts/acct/datasets"), r.out)
    }

    func testFlagsAnywhereCombinedShortsAndLastWins() {
        var r = Harness.run(["-qo", "json", "dataset", "get", "x", "--dry-run", "-a", "a1"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("GET https://api.fireworks.ai/v1/accounts/a1/datasets/x"), r.out)
        r = Harness.run(["dataset", "get", "x", "--dry-run", "-a", "a1", "--account-id=a2"])
        XCTAssertTrue(r.out.contains("/accounts/a2/datasets/x"), "last occurrence wins: \(r.out)")
        r = Harness.run(["dataset", "get", "--dry-run", "-ojson", "-a", "a1", "--", "x"])
        XCTAssertEqual(r.status, 0, r.err)
    }

    /// flag > environment > profile file, for key, account and server.
    func testConfigurationPrecedence() throws {
        let home = Harness.temporaryDirectory("home")
        try FileManager.default.createDirectory(atPath: home + "/.fireworks/profiles/work", withIntermediateDirectories: true)
        try "# comment\n[fireworks]\napi_key = file_key_00001111\naccount_id=file-acct\napi_base = http://file.example:1\n"
            .write(toFile: home + "/.fireworks/auth.ini", atomically: true, encoding: .utf8)
        try "api_key = prof_key_22223333\naccount_id = prof-acct\n".write(toFile: home + "/.fireworks/profiles/work/auth.ini", atomically: true, encoding: .utf8)
        var env = Harness.cleanEnvironment(home: home)
        func dry(_ extra: [String] = []) -> String { Harness.run(["dataset", "get", "x", "--dry-run"] + extra, env: env).out }

        var out = dry()
        XCTAssertTrue(out.hasPrefix("GET http://file.example:1/v1/accounts/file-acct/datasets/x"), out)
        XCTAssertTrue(out.contains("fil****1111"), out)
        out = dry(["-p", "work"])
        XCTAssertTrue(out.contains("/accounts/prof-acct/") && out.contains("pro****3333"), out)

        env["FIREWORKS_API_KEY"] = "env_key_44445555"
        env["FIREWORKS_ACCOUNT_ID"] = "env-acct"
        env["FIREWORKS_BASE_URL"] = "http://env.example:2"
        out = dry()
        XCTAssertTrue(out.hasPrefix("GET http://env.example:2/v1/accounts/env-acct/datasets/x"), out)
        XCTAssertTrue(out.contains("env****5555"), out)

        out = dry(["--api-key", "flag_key_66667777", "-a", "flag-acct", "--server", "http://flag.example:3"])
        XCTAssertTrue(out.hasPrefix("GET http://flag.example:3/v1/accounts/flag-acct/datasets/x"), out)
        XCTAssertTrue(out.contains("fla****7777"), out)

        try "api_key\n".write(toFile: home + "/.fireworks/auth.ini", atomically: true, encoding: .utf8)
        let r = Harness.run(["dataset", "get", "x", "--dry-run"], env: Harness.cleanEnvironment(home: home))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains(".fireworks/auth.ini:1:"), "a malformed file names file and line: \(r.err)")
    }

    func testCancelAgainstFireworksSaysItIsNotSupported() {
        let r = Harness.run(["bij", "cancel", "my-job", "-a", "acct", "--api-key", "k"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("Fireworks has no cancel") && r.err.contains("bij delete my-job"), r.err)
    }

    func testAccountDiscoveredThroughVerifyApiKey() throws {
        let server = try LocalServer(["--account-id", "team-7"])
        let r = Harness.run(["--server", server.url, "--api-key", "k", "dataset", "list", "-o", "name"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(server.log.contains("GET /verifyApiKey 200"), server.log)
        XCTAssertTrue(server.log.contains("GET /v1/accounts/team-7/datasets 200"), server.log)
    }
}
