// ScriptedHTTPServer: a small HTTP/1.1 server (Python standard library, keep-alive, Content-Length answers)
// started by a test on a free loopback port. It answers each request from a script the test writes (500, then
// 502, then 200 with a body; a redirect; a connection dropped or left hanging), passes what the script does
// not cover to an upstream server (a real `batchctl server`) keeping the Host header, so the URLs the gateway
// mints point back at the scripted server, and records every request (method, target, headers, client port,
// connection) before answering it.
//
//     let gateway = try LocalServer()
//     let front = try ScriptedHTTPServer(upstream: gateway.url)
//     front.on("GET", "/v1/accounts/local/datasets/d1", .status(500), .status(502))   // then the gateway answers
//     front.on("GET", prefix: "/storage/", .redirect(to: "{upstream}{target}"))
//     Harness.run(["--server", front.url, "-a", "local", "dataset", "get", "d1"], env: Harness.networkEnvironment())
//     front.requests("GET", "/v1/accounts/local/datasets/d1").map(\.status)            // [500, 502, 200]
import Foundation
import XCTest

final class ScriptedHTTPServer {
    /// One scripted answer. Text in `location`, `body` and header values may name `{upstream}` (the upstream
    /// base URL), `{self}` (this server's base URL) and `{target}` (the request's path and query).
    struct Answer {
        fileprivate var json: [String: Any]

        /// An answer with this status, body (JSON by default) and headers.
        static func status(_ code: Int, body: String = #"{"code": 13, "message": "scripted failure", "details": []}"#,
                           headers: [String: String] = [:]) -> Answer {
            Answer(json: ["status": code, "body": body, "headers": headers])
        }
        /// `code` with `Location: location`.
        static func redirect(_ code: Int = 302, to location: String) -> Answer {
            Answer(json: ["status": code, "location": location, "body": "", "headers": [String: String]()])
        }
        /// Whatever the upstream server answers.
        static var upstream: Answer { Answer(json: ["upstream": true]) }
        /// Reads the request and never answers (for `seconds`; then the connection is closed).
        static func hang(_ seconds: Double = 120) -> Answer { Answer(json: ["hang": seconds]) }
        /// Reads the request and closes the connection without a byte of answer.
        static var drop: Answer { Answer(json: ["drop": true]) }
    }

    /// A request as the server saw it. `status` is what it answered (0 for `hang` and `drop`).
    struct RecordedRequest: Decodable {
        var method: String
        /// Path and query, as sent.
        var target: String
        var path: String
        /// `HTTP/1.0` or `HTTP/1.1`.
        var version: String
        /// Lower-cased names.
        var headers: [String: String]
        var bodyLength: Int
        var clientPort: Int
        /// A number per TCP connection, from 1: equal numbers mean one reused connection.
        var connection: Int
        var status: Int
        /// When it arrived (seconds since 1970, the server's clock).
        var time: Double
        /// "upstream", "hang", "drop" or nil for a scripted answer.
        var note: String?
    }

    let directory: String
    let upstream: String?
    private(set) var port = 0
    var url: String { "http://127.0.0.1:\(port)" }
    private let process = Process()
    private var rules: [[String: Any]] = []
    /// Rule ids are never reused, so a rule added after `clearScript()` starts from its first answer.
    private var nextRuleID = 1

    /// Starts the server; `upstream` (e.g. `LocalServer.url`) answers whatever the script does not.
    init(upstream: String? = nil) throws {
        let python = try Harness.requireTool("python3")
        directory = Harness.temporaryDirectory("scripted")
        self.upstream = upstream
        let script = directory + "/scripted_server.py"
        try Self.source.write(toFile: script, atomically: true, encoding: .utf8)
        try writeScript()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, directory, upstream ?? ""]
        let log = directory + "/server.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        let portFile = directory + "/port"
        let started = Harness.wait(timeout: 15) { FileManager.default.fileExists(atPath: portFile) || !process.isRunning }
        guard started, let text = try? String(contentsOfFile: portFile, encoding: .utf8), let n = Int(text) else {
            stop()
            throw NSError(domain: "ScriptedHTTPServer", code: 1, userInfo: [NSLocalizedDescriptionKey:
                "the scripted server did not start: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")])
        }
        port = n
    }

    deinit { stop() }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    // MARK: the script

    /// Requests `method` (or "*") to exactly `path` (no query) get `answers` in turn; after them the next rule
    /// that matches, else the upstream (or 404 without one). With `repeatLast` the last answer is given forever.
    func on(_ method: String, _ path: String, _ answers: Answer..., repeatLast: Bool = false) {
        add(["method": method, "path": path], answers, repeatLast)
    }

    /// `on` with the answers as an array (a long script built by a loop).
    func on(_ method: String, _ path: String, answers: [Answer], repeatLast: Bool = false) {
        add(["method": method, "path": path], answers, repeatLast)
    }

    /// The same for every path that starts with `prefix`.
    func on(_ method: String, prefix: String, _ answers: Answer..., repeatLast: Bool = false) {
        add(["method": method, "prefix": prefix], answers, repeatLast)
    }

    /// Forgets every rule (the requests seen stay recorded).
    func clearScript() {
        rules.removeAll()
        try? writeScript()
    }

    private func add(_ match: [String: Any], _ answers: [Answer], _ repeatLast: Bool) {
        var rule = match
        rule["id"] = nextRuleID
        nextRuleID += 1
        rule["answers"] = answers.map(\.json)
        rule["repeat"] = repeatLast
        rules.append(rule)
        do { try writeScript() } catch { XCTFail("cannot write the script of \(directory): \(error)") }
    }

    /// Written whole and renamed into place: the server reloads it when it changes, keeping each rule's count.
    private func writeScript() throws {
        let data = try JSONSerialization.data(withJSONObject: rules)
        try data.write(to: URL(fileURLWithPath: directory + "/script.json"), options: .atomic)
    }

    // MARK: what was seen

    /// Every request so far, in the order they arrived.
    func requests() -> [RecordedRequest] {
        guard let text = try? String(contentsOfFile: directory + "/requests.jsonl", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            do { return try JSONDecoder().decode(RecordedRequest.self, from: Data(line.utf8)) } catch {
                XCTFail("unreadable request record \(line): \(error)")
                return nil
            }
        }
    }

    /// The requests with this method (or "*") and exactly this path.
    func requests(_ method: String, _ path: String) -> [RecordedRequest] {
        requests().filter { (method == "*" || $0.method == method) && $0.path == path }
    }

    /// The requests with this method (or "*") whose path starts with `prefix`.
    func requests(_ method: String, prefix: String) -> [RecordedRequest] {
        requests().filter { (method == "*" || $0.method == method) && $0.path.hasPrefix(prefix) }
    }

    /// The server, in Python (standard library only).
    static let source = #"""
import http.client, json, os, sys, threading, time, urllib.parse
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

# usage: scripted_server.py STATE_DIR [UPSTREAM_URL]
# STATE_DIR/script.json: the rules (rewritten by the test, reloaded when it changes);
# STATE_DIR/requests.jsonl: one line per request, written before it is answered;
# STATE_DIR/port: the port, written once listening.
state = sys.argv[1]
upstream = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
script_path = os.path.join(state, "script.json")
log_path = os.path.join(state, "requests.jsonl")
lock = threading.Lock()
rules, rules_stamp, used = [], None, {}
connections = [0]
own_base = [""]
HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length"}

def current_rules():
    global rules, rules_stamp
    try:
        st = os.stat(script_path)
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        return []
    if stamp != rules_stamp:
        with open(script_path) as f:
            rules = json.load(f)
        rules_stamp = stamp
    return rules

def pick(method, path):
    """The answer for this request: the next unused answer of the first rule that matches and is not spent."""
    with lock:
        for rule in current_rules():
            if rule.get("method", "*") not in ("*", method):
                continue
            if "path" in rule and rule["path"] != path:
                continue
            if "prefix" in rule and not path.startswith(rule["prefix"]):
                continue
            n = used.get(rule["id"], 0)
            answers = rule["answers"]
            if n < len(answers):
                used[rule["id"]] = n + 1
                return answers[n]
            if rule.get("repeat") and answers:
                used[rule["id"]] = n + 1
                return answers[-1]
        return {"upstream": True} if upstream else {"status": 404, "body": '{"code":5,"message":"Not Found","details":[]}'}

def expand(text, target):
    return text.replace("{upstream}", upstream or "").replace("{self}", own_base[0]).replace("{target}", target)

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are closed after this long

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        with lock:
            connections[0] += 1
            self.connection_id = connections[0]

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def record(self, status, body, note=None):
        path = urllib.parse.urlsplit(self.path).path
        entry = {"method": self.command, "target": self.path, "path": path, "version": self.request_version,
                 "headers": {k.lower(): v for k, v in self.headers.items()}, "bodyLength": len(body),
                 "clientPort": self.client_address[1], "connection": self.connection_id, "status": status, "time": time.time()}
        if note:
            entry["note"] = note
        line = json.dumps(entry) + "\n"
        with lock:
            with open(log_path, "a") as f:
                f.write(line)

    def send(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def handle_any(self):
        try:
            body = self.read_body()
            path = urllib.parse.urlsplit(self.path).path
            answer = pick(self.command, path)
            if answer.get("upstream"):
                return self.forward(body)
            if "hang" in answer:
                self.record(0, body, "hang")
                time.sleep(answer["hang"])
                self.close_connection = True
                return
            if answer.get("drop"):
                self.record(0, body, "drop")
                self.close_connection = True
                return
            status = answer.get("status", 200)
            headers = [(k, expand(v, self.path)) for k, v in answer.get("headers", {}).items()]
            if "location" in answer:
                headers.append(("Location", expand(answer["location"], self.path)))
            payload = expand(answer.get("body", ""), self.path).encode()
            if payload and not any(k.lower() == "content-type" for k, _ in headers):
                headers.append(("Content-Type", "application/json"))
            self.record(status, body)
            self.send(status, headers, payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def forward(self, body):
        """Passes the request to the upstream server, keeping Host so the URLs it mints point back here."""
        parts = urllib.parse.urlsplit(upstream)
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body if body or self.command in ("POST", "PUT", "PATCH") else None,
                     headers=headers)
        answer = conn.getresponse()
        payload = answer.read()
        conn.close()
        self.record(answer.status, body, "upstream")
        self.send(answer.status, [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP], payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.allow_reuse_address = True
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
own_base[0] = "http://127.0.0.1:%d" % server.server_address[1]
with open(os.path.join(state, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(state, "port.tmp"), os.path.join(state, "port"))
server.serve_forever()
"""#
}
