// InferenceStub: an OpenAI-compatible /v1/chat/completions server in Python (standard library) that a test
// puts behind `batchctl server --backend openai`, for what the echo model cannot do: fail some rows, and be slow.
//
// A row whose last message is `fail-CODE ...` is answered with HTTP CODE (a status that is not retried, such
// as 400 or 422, fails the row); every answer waits `delay` seconds first.
import Foundation
import XCTest

final class InferenceStub {
    private let process = Process()
    let directory: String
    private(set) var port = 0
    /// For `--inference-url`.
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    init(delay: Double = 0) throws {
        let python = try Harness.requireTool("python3")
        directory = Harness.temporaryDirectory("stub")
        let script = directory + "/stub.py"
        try Self.source.write(toFile: script, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, directory, String(delay)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let portFile = directory + "/port"
        guard Harness.wait(timeout: 15, until: { FileManager.default.fileExists(atPath: portFile) || !process.isRunning }),
              let text = try? String(contentsOfFile: portFile, encoding: .utf8), let n = Int(text) else {
            stop()
            throw NSError(domain: "InferenceStub", code: 1, userInfo: [NSLocalizedDescriptionKey: "the inference stub did not start"])
        }
        port = n
    }

    /// `batchctl server` flags that run jobs on this stub, one request at a time when `serial`.
    func serverArguments(serial: Bool = false) -> [String] {
        ["--backend", "openai", "--inference-url", baseURL] + (serial ? ["--concurrency", "1"] : [])
    }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    deinit { stop() }

    static let source = #"""
import json, os, sys, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

state, delay = sys.argv[1], float(sys.argv[2])

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        text = req["messages"][-1]["content"]
        if delay > 0:
            time.sleep(delay)
        try:
            if text.startswith("fail-"):
                code = int(text.split()[0].split("-")[1])
                return self.reply(code, {"error": {"message": "refused: " + text, "type": "invalid_request_error"}})
            return self.reply(200, {"id": "chatcmpl-stub", "object": "chat.completion", "created": 1700000000, "model": req.get("model", ""),
                                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "re: " + text}, "finish_reason": "stop"}],
                                    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})
        except (BrokenPipeError, ConnectionResetError):
            pass

ThreadingHTTPServer.daemon_threads = True
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(state, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(state, "port.tmp"), os.path.join(state, "port"))
server.serve_forever()
"""#
}
