// Issue #11 over https://: the built batchctl against nginx serving a certificate of a CA made by the test,
// in front of a real `batchctl server`. Without the CA the command fails clearly and at once; with it (flag or
// any of the environment variables OpenSSL, Go and curl honour) everything works, with the User-Agent.
import Foundation
import XCTest

final class RealInternetTLSTests: XCTestCase {
    var gateway: LocalServer!
    var front: TLSFront!

    override func setUpWithError() throws {
        gateway = try LocalServer()
        front = try TLSFront(proxyingTo: gateway.url)
    }

    override func tearDown() {
        front?.stop()
        gateway?.stop()
        front = nil
        gateway = nil
    }

    /// batchctl against the TLS front, with a clean network environment (no CA settings of this machine).
    func cli(_ args: [String], env: [String: String] = [:], timeout: Double = 60) -> Harness.Result {
        Harness.run(["--server", front.url, "-a", "local", "--api-key", "k"] + args, env: Harness.networkEnvironment(env), timeout: timeout)
    }

    func testAnUntrustedCertificateFailsClearlyAndIsNotRetried() {
        let r = cli(["dataset", "list"])
        XCTAssertEqual(r.status, 1, "a certificate problem is not 'gateway unavailable' (7): exit 1\n\(r.err)")
        let err = r.err.lowercased()
        XCTAssertTrue(err.contains("certificate"), "the message names the certificate problem:\n\(r.err)")
        XCTAssertTrue(err.contains("127.0.0.1"), "the message names the host:\n\(r.err)")
        XCTAssertTrue(r.err.contains("--cacert") || r.err.contains("SSL_CERT_FILE"), "the message says how to trust a private CA:\n\(r.err)")
        XCTAssertEqual(Harness.retryNotes(r.err).count, 0, "a certificate error is not retried:\n\(r.err)")
        _ = Harness.wait(timeout: 2) { !front.failedHandshakes.isEmpty }
        XCTAssertEqual(front.failedHandshakes.count, 1, "one handshake, refused once:\n\(front.failedHandshakes.joined(separator: "\n"))")
        XCTAssertEqual(front.accessLog().count, 0, "no request got through")
    }

    func testTrustingTheCAWithSSL_CERT_FILE() {
        let r = cli(["dataset", "list"], env: ["SSL_CERT_FILE": front.authority.certificate])
        XCTAssertEqual(r.status, 0, r.err)
    }

    func testTrustingTheCAWithTheCacertFlag() {
        let r = cli(["--cacert", front.authority.certificate, "dataset", "list"])
        XCTAssertEqual(r.status, 0, r.err)
    }

    func testTrustingTheCAWithCURL_CA_BUNDLE() {
        let r = cli(["dataset", "list"], env: ["CURL_CA_BUNDLE": front.authority.certificate])
        XCTAssertEqual(r.status, 0, r.err)
    }

    func testTrustingTheCAWithSSL_CERT_DIR() {
        let r = cli(["dataset", "list"], env: ["SSL_CERT_DIR": front.authority.certificateDirectory])
        XCTAssertEqual(r.status, 0, r.err)
    }

    func testCreateAndGetADatasetThroughTLS() throws {
        let file = Harness.temporaryDirectory("input") + "/input.jsonl"
        _ = FileManager.default.createFile(atPath: file, contents: Data(RealInternetTests.rows.utf8))
        var r = cli(["--cacert", front.authority.certificate, "dataset", "create", "tls-one", file])
        XCTAssertEqual(r.status, 0, r.err)
        r = cli(["--cacert", front.authority.certificate, "dataset", "get", "tls-one", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        XCTAssertEqual(json?["state"] as? String, "READY", r.out)
        XCTAssertEqual(json?["exampleCount"] as? String, "3", r.out)
        XCTAssertTrue(front.accessLog(waitingFor: 3).contains { $0.uri.hasSuffix("/datasets/tls-one:upload") && $0.status == 200 },
                      "the upload went through the TLS front")
    }

    func testEveryRequestOverHTTPSCarriesTheUserAgent() {
        let r = cli(["--cacert", front.authority.certificate, "dataset", "list"])
        XCTAssertEqual(r.status, 0, r.err)
        let entries = front.accessLog(waitingFor: 1)
        XCTAssertFalse(entries.isEmpty, "nginx logged the request")
        for entry in entries { UserAgent.check(entry.userAgent, "https \(entry.method) \(entry.uri)") }
    }

    func testAPaginatedListOverHTTPSUsesOneConnection() throws {
        for id in ["t1", "t2", "t3"] {
            let file = Harness.temporaryDirectory("input") + "/input.jsonl"
            _ = FileManager.default.createFile(atPath: file, contents: Data(RealInternetTests.rows.utf8))
            XCTAssertEqual(gateway.cli(["dataset", "create", id, file]).status, 0)
        }
        let r = cli(["--cacert", front.authority.certificate, "dataset", "list", "--page-size", "1", "-o", "name"])
        XCTAssertEqual(r.status, 0, r.err)
        let pages = front.accessLog(waitingFor: 3)
        XCTAssertGreaterThanOrEqual(pages.count, 3)
        XCTAssertEqual(Set(pages.map(\.connection)).count, 1, "one TLS connection (and one handshake) for every page: \(pages)")
    }
}
