// Issue #11, "a client that behaves on the real internet", on the plain http:// path: the built batchctl talks
// to a real `batchctl server` through a ScriptedHTTPServer that injects what cloud front ends do (transient
// 5xx, Retry-After, redirects of signed URLs, dropped and silent connections) and records what the client sent.
import Foundation
import XCTest

/// What both real-internet test classes check about the `User-Agent` header.
enum UserAgent {
    /// `batchctl/<version> (<os>; <arch>)`, the version as `batchctl --version` prints it.
    static let pattern = #"^batchctl/\d+\.\d+\.\d+[^ ]* \(linux; (x86_64|aarch64|arm64)\)$"#

    /// The version of the built binary, from `batchctl --version` ("batchctl 0.1.0 (linux/x86_64, debug build)").
    static let version: String = {
        let words = Harness.run(["--version"]).out.split(separator: " ")
        return words.count > 1 ? String(words[1]) : "?"
    }()

    static func check(_ agent: String?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let agent, !agent.isEmpty else { return XCTFail("\(what): no User-Agent", file: file, line: line) }
        XCTAssertNotNil(agent.range(of: pattern, options: .regularExpression),
                        "\(what): User-Agent '\(agent)' is not batchctl/<version> (<os>; <arch>)", file: file, line: line)
        XCTAssertTrue(agent.hasPrefix("batchctl/\(version) "), "\(what): '\(agent)' does not carry the version \(version) of --version",
                      file: file, line: line)
    }
}

final class RealInternetTests: XCTestCase {
    var gateway: LocalServer!
    var front: ScriptedHTTPServer!

    static let rows = (1...3).map { i in
        #"{"custom_id": "row-\#(i)", "body": {"messages": [{"role": "user", "content": "question \#(i)"}]}}"#
    }.joined(separator: "\n") + "\n"

    static let datasetPath = "/v1/accounts/local/datasets"

    override func setUpWithError() throws {
        // The front comes first, so the gateway can mint its signed URLs for it (--public-url): they point at the
        // front, which passes them on, as a CDN or load balancer in front of storage would.
        let port = Harness.freePort()
        front = try ScriptedHTTPServer(upstream: "http://127.0.0.1:\(port)")
        gateway = try LocalServer(["--public-url", front.url], port: port)
    }

    override func tearDown() {
        front?.stop()
        gateway?.stop()
        front = nil
        gateway = nil
    }

    /// batchctl against the scripted front, with a clean network environment and a short backoff.
    func cli(_ args: [String], env: [String: String] = [:], timeout: Double = 60) -> Harness.Result {
        Harness.run(["--server", front.url, "-a", "local", "--api-key", "k"] + args, env: Harness.networkEnvironment(env), timeout: timeout)
    }

    func inputFile(_ text: String = rows) -> String {
        let path = Harness.temporaryDirectory("input") + "/input.jsonl"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    /// Creates dataset `id` at the gateway itself (not through the front), READY with `rows`.
    func makeDataset(_ id: String) throws {
        let r = gateway.cli(["dataset", "create", id, inputFile()])
        guard r.status == 0 else { throw NSError(domain: "RealInternetTests", code: 1, userInfo: [NSLocalizedDescriptionKey: "setup: \(r.err)"]) }
    }

    /// The files `dataset download` wrote under DIR/dataset/ID, by name.
    func downloaded(_ dir: String, _ id: String) -> [String: String] {
        let folder = dir + "/dataset/" + id
        var out: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            out[name] = try? String(contentsOfFile: folder + "/" + name, encoding: .utf8)
        }
        return out
    }

    // MARK: retries

    func testTransientAnswersToAGetAreRetriedUntilOneSucceeds() throws {
        try makeDataset("d1")
        front.on("GET", Self.datasetPath + "/d1", .status(500), .status(502), .status(504))
        let r = cli(["dataset", "get", "d1", "-o", "name"])
        XCTAssertEqual(r.status, 0, "500, 502 and 504 are transient: the GET is retried until the gateway answers\n\(r.err)")
        XCTAssertEqual(r.out, "accounts/local/datasets/d1\n")
        XCTAssertEqual(Harness.retryNotes(r.err).count, 3, "one note on stderr per retry:\n\(r.err)")
        XCTAssertEqual(front.requests("GET", Self.datasetPath + "/d1").map(\.status), [500, 502, 504, 200])
    }

    func testEachRetriableStatusAnsweredTwiceThenSuccessGivesTwoRetryNotes() throws {
        try makeDataset("d1")
        for status in [408, 429, 500, 502, 503, 504] {
            front.clearScript()
            front.on("GET", Self.datasetPath + "/d1", .status(status), .status(status))
            let before = front.requests("GET", Self.datasetPath + "/d1").count
            let r = cli(["dataset", "get", "d1", "-o", "name"])
            XCTAssertEqual(r.status, 0, "HTTP \(status) twice, then 200: \(r.err)")
            XCTAssertEqual(Harness.retryNotes(r.err).count, 2, "HTTP \(status) twice: two retry notes:\n\(r.err)")
            XCTAssertEqual(front.requests("GET", Self.datasetPath + "/d1").count - before, 3, "HTTP \(status): three attempts")
        }
    }

    func testAGetThatKeepsFailingEndsWithExit7AfterTheRetries() throws {
        front.on("GET", Self.datasetPath + "/d1", .status(500), repeatLast: true)
        let r = cli(["dataset", "get", "d1"])
        XCTAssertEqual(r.status, 7, "retries exhausted: exit 7 (gateway unavailable)\n\(r.err)")
        let attempts = front.requests("GET", Self.datasetPath + "/d1").count
        XCTAssertGreaterThan(attempts, 1, "a 500 on a GET is retried before giving up")
        XCTAssertLessThanOrEqual(attempts, 10, "the retries are bounded")
        XCTAssertEqual(Harness.retryNotes(r.err).count, attempts - 1, "a note for each retry:\n\(r.err)")
    }

    func testRetryAfterIsHonouredInSecondsAndAsAnHTTPDate() throws {
        try makeDataset("d1")
        let path = Self.datasetPath + "/d1"
        front.on("GET", path, .status(503, headers: ["Retry-After": "1"]))
        var r = cli(["dataset", "get", "d1", "-o", "name"])
        XCTAssertEqual(r.status, 0, r.err)
        var times = front.requests("GET", path).map(\.time)
        XCTAssertEqual(times.count, 2)
        if times.count == 2 { XCTAssertGreaterThanOrEqual(times[1] - times[0], 0.9, "Retry-After: 1 waits a second, not the 0.05 s backoff") }

        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let date = formatter.string(from: Date().addingTimeInterval(3))
        front.clearScript()
        front.on("GET", path, .status(503, headers: ["Retry-After": date]))
        r = cli(["dataset", "get", "d1", "-o", "name"])
        XCTAssertEqual(r.status, 0, r.err)
        times = Array(front.requests("GET", path).map(\.time).suffix(2))
        XCTAssertEqual(times.count, 2)
        if times.count == 2 { XCTAssertGreaterThanOrEqual(times[1] - times[0], 1.5, "Retry-After: \(date) (an HTTP date 3 s ahead) is waited for") }
    }

    func testAPostAnswered500IsNotRepeated() {
        front.on("POST", Self.datasetPath, .status(500))
        let r = cli(["dataset", "create", "d2", inputFile()])
        XCTAssertTrue([1, 7].contains(r.status), "a failed create fails: \(r.status) \(r.err)")
        XCTAssertEqual(front.requests("POST", Self.datasetPath).count, 1,
                       "a POST answered 500 may have been processed: it must not be sent again")
        XCTAssertEqual(Harness.retryNotes(r.err).count, 0, r.err)
    }

    func testAPostWhoseConnectionDroppedAfterTheRequestIsNotRepeated() {
        front.on("POST", Self.datasetPath, .drop)
        let r = cli(["dataset", "create", "d2", inputFile()])
        XCTAssertNotEqual(r.status, 0, r.err)
        XCTAssertEqual(front.requests("POST", Self.datasetPath).count, 1,
                       "the request was sent before the connection failed: it may have been processed")
    }

    func testAPostAnswered503Or429IsRetried() {
        for (status, id) in [(503, "d3"), (429, "d4")] {
            front.clearScript()
            front.on("POST", Self.datasetPath, .status(status))
            let r = cli(["dataset", "create", id, inputFile(), "-o", "name"])
            XCTAssertEqual(r.status, 0, "HTTP \(status) means the POST was not processed: it is retried\n\(r.err)")
            XCTAssertEqual(r.out, "accounts/local/datasets/\(id)\n")
            XCTAssertEqual(Harness.retryNotes(r.err).count, 1, "HTTP \(status): \(r.err)")
        }
        XCTAssertEqual(front.requests("POST", Self.datasetPath).count, 4)
    }

    func testAGetWhoseConnectionDroppedIsRetried() throws {
        try makeDataset("d1")
        front.on("GET", Self.datasetPath + "/d1", .drop)
        let r = cli(["dataset", "get", "d1", "-o", "name"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(Harness.retryNotes(r.err).count, 1, r.err)
        XCTAssertEqual(front.requests("GET", Self.datasetPath + "/d1").count, 2)
    }

    func testSignedURLTransfersAreRetriedOnTransientAnswers() throws {
        // The PUT of a signed URL is idempotent: retried on a 503. A signed download GET is retried on a 500.
        front.on("PUT", prefix: "/storage/", .status(503))
        var r = cli(["dataset", "create", "d5", inputFile()], env: ["BATCHCTL_DIRECT_UPLOAD_LIMIT": "1"])
        XCTAssertEqual(r.status, 0, "a 503 on the signed upload is retried\n\(r.err)")
        XCTAssertEqual(front.requests("PUT", prefix: "/storage/").map(\.status), [503, 200])
        XCTAssertEqual(Harness.retryNotes(r.err).count, 1, r.err)

        front.on("GET", prefix: "/storage/", .status(500))
        let dir = Harness.temporaryDirectory("download")
        r = cli(["dataset", "download", "d5", "--output-dir", dir])
        XCTAssertEqual(r.status, 0, "a 500 on the signed download is retried\n\(r.err)")
        XCTAssertEqual(front.requests("GET", prefix: "/storage/").map(\.status), [500, 200])
        XCTAssertEqual(Array(downloaded(dir, "d5").values), [Self.rows])
    }

    // MARK: redirects

    func testADownloadThatAnswers302ToTheRealSignedURLSucceeds() throws {
        try makeDataset("d1")
        // The gateway mints signed URLs for its --public-url, the front, which sends the client on to the same URL at
        // the gateway itself (the signature holds: it covers the host the URL was minted for, not the one asked).
        front.on("GET", prefix: "/storage/", .redirect(302, to: "{upstream}{target}"))
        let dir = Harness.temporaryDirectory("download")
        let r = cli(["dataset", "download", "d1", "--output-dir", dir])
        XCTAssertEqual(r.status, 0, "a 302 is followed for a GET (the docs use curl -L)\n\(r.err)")
        XCTAssertEqual(front.requests("GET", prefix: "/storage/").map(\.status), [302], "the signed URL was asked of the front")
        XCTAssertEqual(Array(downloaded(dir, "d1").values), [Self.rows], "the file arrived whole")
    }

    func testEveryRedirectStatusIsFollowedForADownload() throws {
        try makeDataset("d1")
        for status in [301, 303, 307, 308] {
            front.clearScript()
            front.on("GET", prefix: "/storage/", .redirect(status, to: "{upstream}{target}"))
            let dir = Harness.temporaryDirectory("download")
            let r = cli(["dataset", "download", "d1", "--output-dir", dir])
            XCTAssertEqual(r.status, 0, "HTTP \(status) is followed for a GET\n\(r.err)")
            XCTAssertEqual(Array(downloaded(dir, "d1").values), [Self.rows], "HTTP \(status)")
        }
    }

    func testAGatewayRedirectKeepsAuthorizationOnTheSameHostAndDropsItForAnother() throws {
        try makeDataset("d1")
        let path = Self.datasetPath + "/d1"
        front.on("GET", path, .redirect(307, to: "{self}\(path)"))
        var r = cli(["dataset", "get", "d1", "-o", "name"])
        XCTAssertEqual(r.status, 0, r.err)
        var seen = front.requests("GET", path)
        XCTAssertEqual(seen.map(\.status), [307, 200])
        XCTAssertEqual(seen.last?.headers["authorization"], "Bearer k", "same host: the key goes along")

        // localhost is another host name than 127.0.0.1, though the same server.
        front.clearScript()
        front.on("GET", path, .redirect(307, to: "http://localhost:\(front.port)\(path)"))
        r = cli(["dataset", "get", "d1", "-o", "name"])
        XCTAssertEqual(r.status, 0, r.err)
        seen = Array(front.requests("GET", path).suffix(2))
        XCTAssertEqual(seen.map(\.status), [307, 200])
        XCTAssertEqual(seen.first?.headers["authorization"], "Bearer k")
        XCTAssertEqual(seen.last?.headers["host"], "localhost:\(front.port)")
        XCTAssertNil(seen.last?.headers["authorization"], "another host: Authorization is dropped")
    }

    func testARedirectLoopEndsAfterTenRedirects() {
        let path = Self.datasetPath + "/d1"
        front.on("GET", path, .redirect(302, to: "{self}{target}"), repeatLast: true)
        let r = cli(["dataset", "get", "d1"], timeout: 30)
        XCTAssertNotEqual(r.status, 0, r.err)
        XCTAssertFalse([9, 15].contains(r.status), "ended by itself, not killed")
        let count = front.requests("GET", path).count
        XCTAssertTrue((10...11).contains(count), "redirects are followed up to 10 times, then it stops: \(count) requests\n\(r.err)")
    }

    func testASignedUploadIsNeverRedirected() {
        front.on("PUT", prefix: "/storage/", .redirect(307, to: "{upstream}{target}"))
        let r = cli(["dataset", "create", "d6", inputFile()], env: ["BATCHCTL_DIRECT_UPLOAD_LIMIT": "1"])
        XCTAssertNotEqual(r.status, 0, "a redirected signed PUT fails: \(r.err)")
        XCTAssertEqual(front.requests("PUT", prefix: "/storage/").count, 1, "the PUT is not sent again elsewhere")
    }

    // MARK: User-Agent

    func testEveryRequestOnThePlainPathCarriesTheUserAgent() {
        var r = cli(["dataset", "create", "d7", inputFile()])
        XCTAssertEqual(r.status, 0, r.err)
        r = cli(["dataset", "download", "d7", "--output-dir", Harness.temporaryDirectory("download")])
        XCTAssertEqual(r.status, 0, r.err)
        let seen = front.requests()
        XCTAssertTrue(seen.contains { $0.path.hasPrefix("/storage/") }, "the signed URL went through the front")
        XCTAssertTrue(seen.contains { $0.path.hasSuffix(":upload") }, "the upload went through the front")
        for request in seen { UserAgent.check(request.headers["user-agent"], "\(request.method) \(request.path)") }
    }

    // MARK: connections

    func testAPaginatedListUsesOneKeepAliveConnection() throws {
        for id in ["d1", "d2", "d3"] { try makeDataset(id) }
        let r = cli(["dataset", "list", "--page-size", "1", "-o", "name"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out.split(separator: "\n").count, 3, r.out)
        let pages = front.requests("GET", Self.datasetPath)
        XCTAssertGreaterThanOrEqual(pages.count, 3, "one request per page")
        XCTAssertEqual(Set(pages.map(\.version)), ["HTTP/1.1"])
        XCTAssertEqual(Set(pages.map(\.connection)).count, 1,
                       "every page over one connection (client ports \(pages.map(\.clientPort)))")
    }

    func testADownloadUsesOneConnectionForTheGatewayAndTheSignedURL() throws {
        try makeDataset("d1")
        let r = cli(["dataset", "download", "d1", "--output-dir", Harness.temporaryDirectory("download")])
        XCTAssertEqual(r.status, 0, r.err)
        let seen = front.requests()
        XCTAssertGreaterThanOrEqual(seen.count, 2, "the download endpoint, then the signed URL")
        XCTAssertEqual(Set(seen.map(\.connection)).count, 1,
                       "the signed URL is on the same host and port: the connection is reused (\(seen.map { "\($0.path) port \($0.clientPort)" }))")
    }

    // MARK: timeouts

    func testATimeoutBelowASecondEndsARequestThatIsNeverAnswered() {
        front.on("GET", Self.datasetPath, .hang(), repeatLast: true)
        let (r, seconds) = Harness.timed { cli(["--timeout", "300ms", "dataset", "list"], timeout: 20) }
        XCTAssertEqual(r.status, 7, "no answer within 300ms, after the retries: exit 7 (killed by the test's guard if 9)\n\(r.err)")
        XCTAssertLessThan(seconds, 10, "each attempt gives up after 300 ms")
        XCTAssertGreaterThanOrEqual(front.requests("GET", Self.datasetPath).count, 1)
    }

    func testAHugeTimeoutIsAUsageError() {
        let r = cli(["--timeout", "99999999999999999999s", "dataset", "list"], timeout: 30)
        XCTAssertEqual(r.status, 2, "a timeout too large to represent is refused as a usage error, not a crash\n\(r.err)")
        XCTAssertTrue(r.err.contains("timeout"), r.err)
        XCTAssertEqual(front.requests().count, 0, "nothing is sent")
    }
}
