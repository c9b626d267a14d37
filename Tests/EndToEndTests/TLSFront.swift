// A real TLS front for end-to-end tests: a throwaway certificate authority made with the `openssl` command, and
// nginx (Debian's nginx-light) on a free loopback port serving a certificate it signed for 127.0.0.1 and
// localhost, proxying everything to a local `batchctl server` with streaming bodies and forwarded headers.
//
//     let gateway = try LocalServer()
//     let front = try TLSFront(proxyingTo: gateway.url)
//     Harness.run(["--server", front.url, "--cacert", front.authority.certificate, ...], env: Harness.networkEnvironment())
//     front.accessLog(waitingFor: 1).map(\.userAgent)
import Foundation
import XCTest

/// A certificate authority that exists for one test run, and a server certificate it signed.
struct TestCertificateAuthority {
    let directory: String
    /// The CA certificate (PEM): what a client must trust (`--cacert`, `SSL_CERT_FILE`, `CURL_CA_BUNDLE`).
    var certificate: String { directory + "/ca.pem" }
    /// A directory holding only the CA certificate under its OpenSSL hash name (`SSL_CERT_DIR`).
    var certificateDirectory: String { directory + "/certs" }
    /// The server certificate (PEM), for `subjectAltName` IP:127.0.0.1 and DNS:localhost.
    var serverCertificate: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server.key" }

    /// Makes a CA and a server certificate valid for two days (P-256 keys, so it takes milliseconds).
    static func make(commonName: String = "batchctl test CA") throws -> TestCertificateAuthority {
        let openssl = try Harness.requireTool("openssl")
        let authority = TestCertificateAuthority(directory: Harness.temporaryDirectory("tls"))
        let dir = authority.directory
        try """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = \(commonName)
        [v3_ca]
        basicConstraints = critical,CA:TRUE
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash
        """.write(toFile: dir + "/ca.cnf", atomically: true, encoding: .utf8)
        try """
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature,keyEncipherment
        extendedKeyUsage = serverAuth
        subjectAltName = IP:127.0.0.1,DNS:localhost
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid,issuer
        """.write(toFile: dir + "/server.ext", atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run(openssl, ["req", "-x509", "-new"] + ec + ["-keyout", dir + "/ca.key", "-out", authority.certificate,
                                                          "-days", "2", "-config", dir + "/ca.cnf", "-extensions", "v3_ca"])
        try run(openssl, ["req", "-new"] + ec + ["-keyout", authority.serverKey, "-out", dir + "/server.csr",
                                                 "-subj", "/CN=127.0.0.1"])
        try run(openssl, ["x509", "-req", "-in", dir + "/server.csr", "-CA", authority.certificate, "-CAkey", dir + "/ca.key",
                          "-set_serial", "2", "-days", "2", "-extfile", dir + "/server.ext", "-out", authority.serverCertificate])
        let hash = try run(openssl, ["x509", "-hash", "-noout", "-in", authority.certificate]).trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.createDirectory(atPath: authority.certificateDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: authority.certificate, toPath: authority.certificateDirectory + "/\(hash).0")
        return authority
    }

    @discardableResult
    private static func run(_ openssl: String, _ args: [String]) throws -> String {
        let r = Harness.runProgram(openssl, args, timeout: 60)
        guard r.status == 0 else {
            throw NSError(domain: "TestCertificateAuthority", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey:
                "openssl \(args.joined(separator: " ")) failed (\(r.status)): \(r.err)"])
        }
        return r.out
    }
}

/// nginx terminating TLS on a free loopback port and proxying to `upstream` (an `http://127.0.0.1:PORT` URL).
final class TLSFront {
    /// One line of the access log.
    struct AccessLogEntry: Decodable {
        var method: String
        var uri: String
        var status: Int
        /// `$http_user_agent`: empty when the client sent none.
        var userAgent: String
        /// nginx's connection serial number: equal numbers mean one reused connection.
        var connection: Int
        var connectionRequests: Int
    }

    let authority: TestCertificateAuthority
    let upstream: String
    let directory: String
    private(set) var port = 0
    /// `https://127.0.0.1:PORT`, which the certificate covers (so does `https://localhost:PORT`).
    var url: String { "https://127.0.0.1:\(port)" }
    var accessLogPath: String { directory + "/access.log" }
    var errorLogPath: String { directory + "/error.log" }
    private var process: Process?

    /// Starts nginx in front of `upstream` with a certificate of `authority` (a new one when nil).
    init(proxyingTo upstream: String, authority: TestCertificateAuthority? = nil) throws {
        let nginx = try Harness.requireTool("nginx", package: "nginx-light")
        self.authority = try authority ?? TestCertificateAuthority.make()
        self.upstream = upstream
        directory = Harness.temporaryDirectory("nginx")
        // The port is chosen before nginx binds it, so another process can take it first: try a few.
        for _ in 0..<5 {
            let candidate = Harness.freePort()
            try configuration(port: candidate).write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: nginx)
            p.arguments = ["-p", directory, "-c", directory + "/nginx.conf", "-e", errorLogPath]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            if Harness.wait(timeout: 10, until: { !p.isRunning || Harness.accepts(port: candidate) }), p.isRunning {
                process = p
                port = candidate
                return
            }
            if p.isRunning { p.terminate() }
            p.waitUntilExit()
            if !errorLog.contains("Address already in use") { break }
        }
        throw NSError(domain: "TLSFront", code: 1, userInfo: [NSLocalizedDescriptionKey: "nginx did not start: \(errorLog)"])
    }

    deinit { stop() }

    /// SIGTERM (nginx's fast shutdown) and wait.
    func stop() {
        guard let p = process, p.isRunning else { return }
        p.terminate()
        p.waitUntilExit()
    }

    private func configuration(port: Int) -> String {
        let d = directory
        return """
        daemon off;
        master_process on;
        \(geteuid() == 0 ? "user root;" : "")
        worker_processes 1;
        pid \(d)/nginx.pid;
        error_log \(errorLogPath) info;
        events { worker_connections 256; }
        http {
            log_format e2e escape=json '{"method":"$request_method","uri":"$request_uri","status":$status,'
                                       '"userAgent":"$http_user_agent","connection":$connection,'
                                       '"connectionRequests":$connection_requests}';
            access_log \(accessLogPath) e2e;
            client_body_temp_path \(d)/body;
            proxy_temp_path \(d)/proxy;
            fastcgi_temp_path \(d)/fastcgi;
            uwsgi_temp_path \(d)/uwsgi;
            scgi_temp_path \(d)/scgi;
            server {
                listen 127.0.0.1:\(port) ssl;
                ssl_certificate \(authority.serverCertificate);
                ssl_certificate_key \(authority.serverKey);
                location / {
                    proxy_pass \(upstream);
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_set_header Host $http_host;
                    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                    proxy_set_header X-Forwarded-Proto $scheme;
                    proxy_set_header X-Forwarded-Host $http_host;
                    proxy_request_buffering off;
                    proxy_buffering off;
                    client_max_body_size 0;
                    proxy_read_timeout 600s;
                }
            }
        }
        """
    }

    var errorLog: String { (try? String(contentsOfFile: errorLogPath, encoding: .utf8)) ?? "" }

    /// The access log; nginx writes a line once a request is over, so this waits (up to `timeout`) for at least
    /// `count` lines.
    func accessLog(waitingFor count: Int = 0, timeout: Double = 3) -> [AccessLogEntry] {
        func read() -> [AccessLogEntry] {
            let text = (try? String(contentsOfFile: accessLogPath, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(AccessLogEntry.self, from: Data($0.utf8)) }
        }
        var entries = read()
        _ = Harness.wait(timeout: timeout) { entries = read(); return entries.count >= count }
        return entries
    }

    /// TLS handshakes the server saw fail (nginx logs each at level info), e.g. a client that does not trust
    /// the CA aborting with "unknown ca".
    var failedHandshakes: [Substring] {
        errorLog.split(separator: "\n").filter { $0.contains("SSL_do_handshake() failed") }
    }
}
