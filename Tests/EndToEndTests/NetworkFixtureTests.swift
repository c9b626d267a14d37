// The network fixtures themselves, checked with curl rather than batchctl, so that a failing real-internet test
// points at the client and not at its fixtures: the TLS front serves the test CA's certificate and proxies to
// the gateway; the scripted server answers in turn, redirects, drops, keeps connections alive and records.
import Foundation
import XCTest

final class NetworkFixtureTests: XCTestCase {
    func curl(_ args: [String], env: [String: String] = [:]) throws -> Harness.Result {
        let curl = try Harness.requireTool("curl")
        return Harness.runProgram(curl, ["-sS", "--max-time", "20"] + args, env: Harness.networkEnvironment(env), timeout: 30)
    }

    func testTheTLSFrontServesTheTestCAsCertificateAndProxiesToTheGateway() throws {
        let gateway = try LocalServer()
        let front = try TLSFront(proxyingTo: gateway.url)
        defer { front.stop(); gateway.stop() }
        let list = "/v1/accounts/local/datasets"

        var r = try curl(["--cacert", front.authority.certificate, "-A", "fixture-check/1", "-w", "\n%{http_code}", front.url + list])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasSuffix("\n200"), r.out)
        XCTAssertTrue(r.out.contains("\"datasets\""), "the gateway's answer, through nginx: \(r.out)")
        r = try curl(["--cacert", front.authority.certificate, "-o", "/dev/null", "https://localhost:\(front.port)" + list])
        XCTAssertEqual(r.status, 0, "the certificate covers localhost too: \(r.err)")
        r = try curl(["--cacert", front.authority.certificate, "-o", "/dev/null", "--capath", front.authority.certificateDirectory, front.url + list])
        XCTAssertEqual(r.status, 0, r.err)

        // The system store does not know the test CA: curl's "SSL certificate problem" (exit 60).
        r = try curl(["-o", "/dev/null", front.url + list])
        XCTAssertEqual(r.status, 60, r.err)
        XCTAssertTrue(r.err.contains("certificate"), r.err)
        XCTAssertTrue(Harness.wait(timeout: 2) { front.failedHandshakes.count == 1 }, front.errorLog)

        let log = front.accessLog(waitingFor: 3)
        XCTAssertEqual(log.count, 3, "the untrusted attempt never made a request")
        XCTAssertEqual(log.first?.userAgent, "fixture-check/1")
        XCTAssertEqual(log.first?.status, 200)
        XCTAssertEqual(log.first?.uri, list)

        // A streamed upload with no size limit goes through to the gateway.
        let big = Harness.temporaryDirectory("tls") + "/big.jsonl"
        let row = #"{"custom_id": "r", "body": {"messages": [{"role": "user", "content": "x"}]}}"# + "\n"
        _ = FileManager.default.createFile(atPath: big, contents: Data(String(repeating: row, count: 1).utf8))
        r = try curl(["--cacert", front.authority.certificate, "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                      "-H", "Content-Type: application/json", "-d", #"{"datasetId": "f1", "dataset": {"userUploaded": {}, "exampleCount": "1"}}"#,
                      front.url + list])
        XCTAssertEqual(r.out, "200", r.err)
        r = try curl(["--cacert", front.authority.certificate, "-o", "/dev/null", "-w", "%{http_code}", "-F", "file=@\(big)",
                      front.url + list + "/f1:upload"])
        XCTAssertEqual(r.out, "200", r.err)
    }

    func testTheScriptedServerAnswersInTurnThenPassesToTheUpstream() throws {
        let gateway = try LocalServer()
        let front = try ScriptedHTTPServer(upstream: gateway.url)
        defer { front.stop(); gateway.stop() }
        let list = "/v1/accounts/local/datasets"
        front.on("GET", list, .status(500), .status(502), .status(504, body: "slow", headers: ["Retry-After": "1"]))
        // One curl, four URLs: one keep-alive connection.
        let r = try curl(["-H", "Authorization: Bearer k", "-w", "%{http_code}\n", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
                          "-o", "/dev/null", front.url + list, front.url + list, front.url + list, front.url + list + "?pageSize=1"])
        XCTAssertEqual(r.out, "500\n502\n504\n200\n", r.err)
        let seen = front.requests("GET", list)
        XCTAssertEqual(seen.map(\.status), [500, 502, 504, 200])
        XCTAssertEqual(seen.map(\.note), [nil, nil, nil, "upstream"])
        XCTAssertEqual(seen.last?.target, list + "?pageSize=1")
        XCTAssertEqual(Set(seen.map(\.connection)).count, 1, "curl reused its connection")
        XCTAssertEqual(Set(seen.map(\.clientPort)).count, 1)
        XCTAssertEqual(seen.first?.headers["authorization"], "Bearer k")
        XCTAssertEqual(seen.first?.headers["user-agent"]?.hasPrefix("curl/"), true)
        XCTAssertEqual(seen.first?.version, "HTTP/1.1")
    }

    func testTheScriptedServerRedirectsDropsAndHangs() throws {
        let gateway = try LocalServer()
        let front = try ScriptedHTTPServer(upstream: gateway.url)
        defer { front.stop(); gateway.stop() }
        let list = "/v1/accounts/local/datasets"
        front.on("GET", "/moved", .redirect(302, to: "{upstream}\(list)"), repeatLast: true)
        front.on("GET", "/self", .redirect(307, to: "{self}\(list)"))
        front.on("GET", "/drop", .drop)
        front.on("GET", "/hang", .hang(30))

        var r = try curl(["-L", "-w", "\n%{http_code} %{num_redirects} %{url_effective}", front.url + "/moved"])
        XCTAssertTrue(r.out.contains("\"datasets\""), r.out)
        XCTAssertTrue(r.out.hasSuffix("\n200 1 \(gateway.url)\(list)"), r.out)
        r = try curl(["-L", "-o", "/dev/null", "-w", "%{http_code} %{url_effective}", front.url + "/self"])
        XCTAssertEqual(r.out, "200 \(front.url)\(list)", r.err)
        r = try curl(["-o", "/dev/null", front.url + "/drop"])
        XCTAssertEqual(r.status, 52, "an empty reply: \(r.err)")
        let (hung, seconds) = try Harness.timed { try curl(["-o", "/dev/null", "--max-time", "1", front.url + "/hang"]) }
        XCTAssertEqual(hung.status, 28, "no answer: curl times out \(hung.err)")
        XCTAssertLessThan(seconds, 5)

        XCTAssertEqual(front.requests("GET", "/moved").map(\.status), [302])
        XCTAssertEqual(front.requests("GET", "/drop").map(\.note), ["drop"])
        XCTAssertEqual(front.requests("GET", "/hang").map(\.note), ["hang"])
        // Without a rule or an upstream: 404.
        let bare = try ScriptedHTTPServer()
        defer { bare.stop() }
        r = try curl(["-o", "/dev/null", "-w", "%{http_code}", bare.url + "/anything"])
        XCTAssertEqual(r.out, "404", r.err)
    }
}
