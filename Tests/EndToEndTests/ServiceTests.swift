// End to end: the gateway under a service manager (systemd's Type=notify): READY=1 once the port accepts
// connections, STOPPING=1 on SIGTERM, over a real datagram socket as systemd's $NOTIFY_SOCKET; and
// `batchctl version -o json`, the facts a packaged binary reports about itself.
import BatchHTTP
import Foundation
import XCTest

/// The service manager's end of sd_notify: a bound datagram socket, a path or an abstract name (`@...`).
final class NotifySocket {
    let fd: Int32
    let name: String

    init(abstract: Bool) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        let unique = "batchctl-notify-\(getpid())-\(UUID().uuidString.prefix(8))"
        name = abstract ? "@" + unique : Harness.temporaryDirectory("notify") + "/" + unique
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard fd >= 0, bound == 0 else { throw NSError(domain: "NotifySocket", code: Int(errno)) }
    }

    /// The next datagram, or nil after `timeout` seconds.
    func receive(timeout: Double) -> String? {
        var time = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }

    deinit {
        close(fd)
        if !name.hasPrefix("@") { unlink(name) }
    }
}

final class ServiceTests: XCTestCase {
    /// Starts `batchctl server` with NOTIFY_SOCKET set: the first datagram says READY=1 and names the URL, and
    /// at that moment the port already accepts; SIGTERM brings STOPPING=1 and a clean exit.
    func checkReadiness(abstract: Bool) throws {
        let notify = try NotifySocket(abstract: abstract)
        let port = Harness.freePort()
        var env = Harness.cleanEnvironment()
        env["NOTIFY_SOCKET"] = notify.name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.binary)
        process.arguments = ["server", "--listen", "127.0.0.1:\(port)", "--data-dir", Harness.temporaryDirectory("data")]
        process.environment = env
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

        let ready = try XCTUnwrap(notify.receive(timeout: 60), "no notification within 60 s")
        XCTAssertTrue(Harness.accepts(port: port), "READY=1 came before the port accepted connections")
        let fields = ready.split(separator: "\n").map(String.init)
        XCTAssertTrue(fields.contains("READY=1"), ready)
        XCTAssertTrue(fields.contains("STATUS=listening on http://127.0.0.1:\(port)"), ready)

        // At once: systemd may stop the unit the moment it is ready, and the server must catch that SIGTERM.
        process.terminate()
        XCTAssertEqual(notify.receive(timeout: 60), "STOPPING=1", "SIGTERM right after READY=1 was not caught")
        XCTAssertTrue(Harness.wait(timeout: 60) { !process.isRunning }, "the server did not stop on SIGTERM")
        if !process.isRunning { XCTAssertEqual(process.terminationStatus, 0, "killed by the signal instead of stopping") }
    }

    // A few rounds each: a SIGTERM lost in the moment after READY=1 shows only sometimes.
    func testServerNotifiesReadinessOnASocketPath() throws { for _ in 0..<5 { try checkReadiness(abstract: false) } }

    func testServerNotifiesReadinessOnAnAbstractSocket() throws { for _ in 0..<5 { try checkReadiness(abstract: true) } }

    func testWithoutANotifySocketNothingIsSent() {
        XCTAssertFalse(ServiceNotification.notify("READY=1", environment: [:]))
        XCTAssertFalse(ServiceNotification.notify("READY=1", environment: ["NOTIFY_SOCKET": "relative/path"]))
    }

    func testVersionAsJSON() throws {
        let r = Harness.run(["version", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], r.out)
        let line = Harness.run(["--version"]).out
        XCTAssertEqual(object["version"] as? String, line.split(separator: " ")[1].description, "the version of --version")
        XCTAssertEqual(object["configuration"] as? String, "debug")
        XCTAssertEqual(object["httpsAvailable"] as? Bool, HTTPClient.httpsAvailability.available)
        XCTAssertTrue((object["swiftVersion"] as? String)?.hasPrefix("6.") ?? false, r.out)
        for key in ["gitCommit", "buildDate"] { XCTAssertTrue(object.keys.contains(key), "\(key) is there, null when unknown: \(r.out)") }
        XCTAssertEqual(Harness.run(["--version", "-o", "json"]).out, r.out, "--version honours -o too")
        XCTAssertEqual(Harness.run(["version", "-o", "jsonl"]).out.split(separator: "\n").count, 1)
    }
}
