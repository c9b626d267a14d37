// Helpers for the engine tests: temp directories, reading output files, and real HTTP servers (nginx, Python).
import BatchHTTP
import XCTest
import Foundation
import BatchJSONL
@testable import BatchEngine

func makeTemporaryDirectory(_ name: String = "engine") throws -> String {
    let path = NSTemporaryDirectory() + "batchctl-\(name)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func writeLines(_ lines: [String], to path: String) throws {
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
}

/// `{"custom_id": "row-i", "body": {"messages": [{"role": "user", "content": text}]}}` rows.
func chatRows(_ count: Int, from first: Int = 1, text: (Int) -> String = { "hello number \($0)" }) -> [String] {
    (first..<first + count).map { i in
        JSONValue.object([
            ("custom_id", .string("row-\(i)")),
            ("body", .object([("messages", .array([.object([("role", .string("user")), ("content", .string(text(i)))])]))])),
        ]).compactText
    }
}

/// The JSON lines of a file (empty when it does not exist). Fails the test on a line that is not JSON.
func readJSONLines(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> [JSONValue] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { lineText in
        do { return try JSONValue(parsing: String(lineText)) } catch {
            XCTFail("\(path): not JSON: \(lineText.prefix(200))", file: file, line: line)
            return nil
        }
    }
}

func customIDs(_ lines: [JSONValue]) -> [String] { lines.compactMap { $0["custom_id"]?.stringValue } }

/// Options that keep tests fast: tiny backoff, quick flushes.
func fastOptions(attempts: Int = 4) -> RunnerOptions {
    var options = RunnerOptions()
    options.retry = RetryPolicy(maxAttempts: attempts, baseDelay: 0.01, maxDelay: 0.05)
    options.flushInterval = 0.02
    options.progressInterval = 0.05
    options.drainTimeout = 5
    return options
}

/// Pool options for tests whose retries wait 10 to 50 ms (`fastOptions`): an endpoint is taken out after 20 ms
/// without a success instead of a second, or a row could use up its attempts before.
func quickPoolOptions() -> PoolOptions {
    var options = PoolOptions()
    options.quietPeriod = 0.02
    return options
}

/// Pools made by `pooled`, shut down by `shutDownTestPools` in each test's tearDown (a pool's workers keep it alive).
nonisolated(unsafe) private var testPools: [InferencePool] = []
private let testPoolsLock = NSLock()

/// A pool of its own for one runner: `backend` at a fixed concurrency, as the tests before fleets had it.
func pooled(_ backend: InferenceBackend, concurrency: Int = 8, options: PoolOptions = quickPoolOptions()) -> InferencePool {
    let pool = InferencePool(concurrency: concurrency, backend: backend, options: options)
    testPoolsLock.lock(); testPools.append(pool); testPoolsLock.unlock()
    return pool
}

func shutDownTestPools() {
    testPoolsLock.lock()
    let pools = testPools
    testPools = []
    testPoolsLock.unlock()
    for pool in pools { pool.shutdown() }
}

/// A backend that waits before answering like EchoBackend, so that a test can stop a job halfway.
struct SlowEchoBackend: InferenceBackend {
    var delay: TimeInterval
    func complete(_ request: [UInt8]) -> InferenceResult {
        Thread.sleep(forTimeInterval: delay)
        return EchoBackend().complete(request)
    }
}

/// A backend that records every request it is sent.
final class RecordingBackend: InferenceBackend, @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [JSONValue] = []
    var recorded: [JSONValue] { lock.lock(); defer { lock.unlock() }; return requests }
    func complete(_ request: [UInt8]) -> InferenceResult {
        if let json = try? JSONValue(parsing: request) { lock.lock(); requests.append(json); lock.unlock() }
        return EchoBackend().complete(request)
    }
}

// MARK: real servers

/// Skips the test when a tool is missing, except in CI (`CI=true`), where a missing tool is a failure.
func requireTool(_ candidates: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    for path in candidates where FileManager.default.isExecutableFile(atPath: path) { return path }
    let names = candidates.map { ($0 as NSString).lastPathComponent }
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        for name in Set(names) {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
    }
    let message = "\(names[0]) is not installed (tried \(candidates.joined(separator: ", ")) and PATH); install it (apt-get install -y \(names[0] == "nginx" ? "nginx-light" : "python3")) to run this test"
    if ProcessInfo.processInfo.environment["CI"] == "true" {
        XCTFail(message, file: file, line: line)
        throw XCTSkip("failed: " + message)
    }
    throw XCTSkip(message)
}

func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

func waitForPort(_ port: Int, timeout: TimeInterval = 10) -> Bool {
    let until = Date(timeIntervalSinceNow: timeout)
    while Date() < until {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
        close(fd)
        if ok { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return false
}

/// A server process the test started; stopped when the test ends.
/// `@unchecked Sendable`: `process` is Foundation's Process, whose methods may be called from any thread; a test
/// kills or restarts a server from one helper thread while the job runs, never from two at once.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    init(executable: String, arguments: [String], port: Int) throws {
        self.port = port
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        guard waitForPort(port) else {
            stop()
            throw XCTSkip("\(executable) did not start listening on port \(port)")
        }
    }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    /// kill -9 of the server and its children (nginx's workers), as a crash or an OOM kill would.
    func kill9() {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        kill(pid, SIGKILL)
        for child in children.split(separator: " ").compactMap({ Int32($0) }) { kill(child, SIGKILL) }
        process.waitUntilExit()
        // The port is free once the children are gone too.
        let until = Date(timeIntervalSinceNow: 10)
        while Date() < until, children.split(separator: " ").contains(where: { kill(Int32($0) ?? 0, 0) == 0 }) { usleep(10_000) }
    }

    deinit { stop() }
}

/// The fixed answer nginx gives to every request.
let fixedCompletion = #"{"id":"chatcmpl-fixed","object":"chat.completion","created":1700000000,"model":"fixed","choices":[{"index":0,"message":{"role":"assistant","content":"fixed answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":2}}}"#

/// nginx on a free loopback port (or `port`) answering `fixedCompletion` to everything; with `accessLog`, one
/// line per request goes to that file.
func startNginx(in directory: String, port: Int? = nil, accessLog: String? = nil) throws -> ServerProcess {
    let nginx = try requireTool(["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"])
    let port = port ?? freePort()
    let config = """
    daemon off;
    master_process on;
    user root;
    worker_processes 1;
    pid \(directory)/nginx.pid;
    error_log stderr error;
    events { worker_connections 1024; }
    http {
        access_log \(accessLog ?? "off");
        client_body_temp_path \(directory)/body;
        proxy_temp_path \(directory)/proxy;
        fastcgi_temp_path \(directory)/fastcgi;
        uwsgi_temp_path \(directory)/uwsgi;
        scgi_temp_path \(directory)/scgi;
        keepalive_requests 100000;
        server {
            listen 127.0.0.1:\(port);
            location / { default_type application/json; return 200 '\(fixedCompletion)'; }
        }
    }
    """
    try config.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
    return try ServerProcess(executable: nginx, arguments: ["-p", directory, "-c", directory + "/nginx.conf", "-e", "stderr"], port: port)
}

/// A Python stdlib server whose answer depends on the first word of the last user message (`kind-n`) and on
/// how many times that message was seen. `GET /stats` returns `{message: [attempt times]}`; `GET /props`
/// returns `{"total_slots": S}` when started with a slot count S, and then more than S requests in flight at
/// once are answered 503 (`GET /rejected` counts them).
let faultServerScript = #"""
import email.utils, json, sys, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

attempts = {}
lock = threading.Lock()
slots = int(sys.argv[2]) if len(sys.argv) > 2 else 0
busy = [0]
rejected = [0]

def completion(text, content=None):
    return {"id": "chatcmpl-" + text, "object": "chat.completion", "created": 1700000000, "model": "fault",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content or ("re: " + text)}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7, "prompt_tokens_details": {"cached_tokens": 1}}}

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections are closed after 0.3 s, as uvicorn does after 5 s: the client must notice.
    timeout = 0.3
    def log_message(self, *args): pass

    def reply(self, status, obj, headers=(), pretty=False):
        body = json.dumps(obj, indent=2 if pretty else None).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers: self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.endswith("/props"):
            return self.reply(200, {"total_slots": slots}) if slots else self.reply(404, {"error": "no props"})
        if self.path.endswith("/rejected"):
            return self.reply(200, {"rejected": rejected[0]})
        with lock: stats = dict(attempts)
        self.reply(200, stats)

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        text = req["messages"][-1]["content"]
        with lock:
            attempts.setdefault(text, []).append(time.time())
            n = len(attempts[text])
            admitted = not slots or busy[0] < slots
            if admitted: busy[0] += 1
            else: rejected[0] += 1
        if not admitted:
            return self.reply(503, {"error": {"message": "all slots are busy"}})
        self.holding = bool(slots)
        try:
            self.answer(req, text, n)
        finally:
            self.release()

    def release(self):
        # A slot is free before its answer is sent, as in a real server: the client may send the next request
        # the moment it reads this one's answer.
        if getattr(self, "holding", False):
            self.holding = False
            with lock: busy[0] -= 1

    def answer(self, req, text, n):
        kind = text.split("-")[0]
        try:
            if kind == "slow":
                time.sleep(float(text.split("-")[1]) / 1000)
                self.release()
                return self.reply(200, completion(text))
            if kind == "once500" and n == 1:
                return self.reply(500, {"error": {"message": "internal error"}})
            if kind == "datelimited" and n == 1:
                return self.reply(429, {"error": {"message": "slow down"}}, [("Retry-After", email.utils.formatdate(time.time() + 3, usegmt=True))])
            if kind == "big":
                return self.reply(200, completion(text, "x" * (int(text.split("-")[1]) * 1024)))
            if kind == "flaky" and n <= 2:
                return self.reply(500 if n == 1 else 503, {"error": {"message": "overloaded"}})
            if kind == "limited" and n == 1:
                return self.reply(429, {"error": {"message": "slow down"}}, [("Retry-After", "1")])
            if kind == "stall" and n == 1:
                time.sleep(3)
                return self.reply(200, completion(text))
            if kind == "bad":
                return self.reply(400, {"error": {"message": "bad request: " + text}})
            if kind == "down":
                return self.reply(503, {"error": {"message": "model is loading"}})
            if kind == "chunked":
                body = json.dumps(completion(text)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(body), 50):
                    part = body[i:i + 50]
                    self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
                return
            if kind == "close":
                body = json.dumps(completion(text)).encode()
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + body)
                self.close_connection = True
                return
            if kind == "garbage":
                self.wfile.write(b"NONSENSE\r\n\r\n")
                self.close_connection = True
                return
            if kind == "notjson":
                body = b"hello"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if kind == "pretty":
                return self.reply(200, completion(text), pretty=True)
            if kind == "whoami":
                seen = {"auth": self.headers.get("Authorization"), "model": req.get("model"),
                        "max_tokens": req.get("max_tokens"), "first_role": req["messages"][0]["role"]}
                return self.reply(200, completion(text, json.dumps(seen)))
            return self.reply(200, completion(text))
        except (BrokenPipeError, ConnectionResetError):
            pass

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""#

/// The fault server on a free port (or `port`); with `slots`, it reports them at `/props` and answers 503
/// beyond them.
func startFaultServer(in directory: String, port: Int? = nil, slots: Int? = nil) throws -> ServerProcess {
    let python = try requireTool(["/usr/bin/python3", "/usr/local/bin/python3"])
    let script = directory + "/fault_server.py"
    try faultServerScript.write(toFile: script, atomically: true, encoding: .utf8)
    let port = port ?? freePort()
    return try ServerProcess(executable: python, arguments: [script, String(port)] + (slots.map { [String($0)] } ?? []), port: port)
}

/// `GET /stats` of the fault server: message -> times it was attempted.
func faultServerStats(_ server: ServerProcess) throws -> [String: [Double]] {
    let client = HTTPClient(configuration: HTTPClientConfiguration(userAgent: "tests", stallTimeout: 10))
    let json = try JSONValue(parsing: try client.send(HTTPClientRequest(.get, "http://127.0.0.1:\(server.port)/stats")).body)
    var out: [String: [Double]] = [:]
    for (key, value) in json.objectValue ?? [] { out[key] = (value.arrayValue ?? []).compactMap { $0.doubleValue } }
    return out
}
