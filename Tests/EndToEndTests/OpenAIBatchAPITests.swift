// End to end: the official `openai` Python SDK (from PyPI) and curl drive the local gateway's OpenAI Batch API
// (`/v1/files`, `/v1/batches`), and the same work is seen through the Fireworks API with batchctl.
import Foundation
import XCTest

/// A tiny OpenAI-compatible inference server (Python standard library) on a free port. The answer depends on
/// the last user message: `fail ...` is refused with 400, `slow ...` takes 3 s, anything else is answered
/// `re: <message>` at once, with the model the request named.
final class InferenceFixture {
    static let script = #"""
import json, sys, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

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
        try:
            if text.startswith("fail"):
                return self.reply(400, {"error": {"message": "scripted failure: " + text}})
            if text.startswith("slow"):
                time.sleep(3)
            self.reply(200, {"id": "chatcmpl-fixture", "object": "chat.completion", "created": 1700000000, "model": req.get("model"),
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": "re: " + text}, "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}})
        except (BrokenPipeError, ConnectionResetError):
            pass

ThreadingHTTPServer.daemon_threads = True
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
"""#

    let process = Process()
    private(set) var url = ""

    init() throws {
        let python = try Harness.requireTool("python3")
        let dir = Harness.temporaryDirectory("inference")
        try Self.script.write(toFile: dir + "/server.py", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [dir + "/server.py", dir + "/port"]
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, process.isRunning {
            if let text = try? String(contentsOfFile: dir + "/port", encoding: .utf8), let port = Int(text) {
                url = "http://127.0.0.1:\(port)/v1"
                return
            }
            usleep(20_000)
        }
        throw NSError(domain: "InferenceFixture", code: 1, userInfo: [NSLocalizedDescriptionKey: "the inference fixture did not start"])
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }
}

final class OpenAIBatchAPITests: XCTestCase {
    static let apiKey = "sk-local-test"

    /// The SDK flow. Every object is parsed by the SDK and checked again with its pydantic model in strict mode,
    /// with no field the model does not know. Prints one JSON summary line for the Swift side.
    static let script = #"""
import json, os, sys, tempfile, time
import openai
from openai import OpenAI
from openai.types import Batch, FileObject, FileDeleted

base, key = sys.argv[1], sys.argv[2]
c = OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
tmp = tempfile.mkdtemp()
MODEL = "test-model"

def strict(model, raw):
    """The raw JSON is exactly what the SDK type describes: known fields only, each of its declared type."""
    unknown = set(raw) - set(model.model_fields)
    assert not unknown, f"{model.__name__} has unknown fields {unknown}: {raw}"
    return model.model_validate(raw, strict=True)

def retrieve_batch(batch_id):
    r = c.batches.with_raw_response.retrieve(batch_id)
    b = r.parse()
    assert isinstance(b, Batch)
    assert strict(Batch, r.http_response.json()) == b
    return b

def retrieve_file(file_id):
    r = c.files.with_raw_response.retrieve(file_id)
    f = r.parse()
    assert isinstance(f, FileObject)
    assert strict(FileObject, r.http_response.json()) == f
    return f

def write(name, rows):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return path

def row(cid, text, model=MODEL):
    return {"custom_id": cid, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": 16}}

def upload(path):
    with open(path, "rb") as f:
        r = c.files.with_raw_response.create(file=f, purpose="batch")
    f = r.parse()
    strict(FileObject, r.http_response.json())
    return f

def wait(batch_id, until, timeout=120):
    deadline = time.time() + timeout
    while True:
        b = retrieve_batch(batch_id)
        if until(b) or time.time() > deadline:
            return b
        time.sleep(0.2)

TERMINAL = ("completed", "failed", "expired", "cancelled")
def lines(file_id):
    text = c.files.content(file_id).text
    return [json.loads(l) for l in text.splitlines() if l.strip()]

summary = {}

# 1. Files: upload, retrieve, list.
ok = [row(f"ok-{i}", f"hello {i}") for i in range(6)]
failing = [row(f"fail-{i}", f"fail {i}") for i in range(2)]
path = write("input.jsonl", ok[:3] + failing[:1] + ok[3:] + failing[1:])
f = upload(path)
assert f.object == "file" and f.purpose == "batch" and f.status == "processed", f
assert f.bytes == os.path.getsize(path) and f.filename == "input.jsonl", f
assert f.id.startswith("file-"), f
assert retrieve_file(f.id) == f
assert f.id in [x.id for x in c.files.list(purpose="batch")]
assert f.id not in [x.id for x in c.files.list(purpose="batch_output")]
assert c.files.content(f.id).read() == open(path, "rb").read()

# 2. A batch to completed, with failed rows.
r = c.batches.with_raw_response.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h",
                                       metadata={"run": "e2e"})
b = r.parse()
strict(Batch, r.http_response.json())
assert b.id.startswith("batch_") and b.status in ("validating", "in_progress", "finalizing", "completed"), b
assert b.metadata == {"run": "e2e"} and b.input_file_id == f.id and b.endpoint == "/v1/chat/completions", b
assert b.completion_window == "24h" and b.expires_at > b.created_at, b
b = wait(b.id, lambda b: b.status in TERMINAL)
assert b.status == "completed", b
assert b.request_counts.total == 8 and b.request_counts.completed == 6 and b.request_counts.failed == 2, b.request_counts
assert b.model == MODEL and b.completed_at and b.finalizing_at and b.in_progress_at, b
assert b.usage.input_tokens == 12 and b.usage.output_tokens == 18 and b.usage.total_tokens == 30, b.usage
assert b.output_file_id and b.error_file_id and b.output_file_id != b.error_file_id, b
assert b.errors is None and b.failed_at is None, b
summary["batch"] = b.id
summary["output_file"] = b.output_file_id

out = lines(b.output_file_id)
assert len(out) == 6, out
by_id = {l["custom_id"]: l for l in out}
assert set(by_id) == {f"ok-{i}" for i in range(6)}, by_id.keys()
for cid, l in by_id.items():
    assert set(l) == {"id", "custom_id", "response", "error"}, l
    assert l["id"].startswith("batch_req_") and l["error"] is None, l
    resp = l["response"]
    assert resp["status_code"] == 200 and resp["request_id"].startswith("req_"), l
    body = openai.types.chat.ChatCompletion.model_validate(resp["body"])
    assert body.choices[0].message.content == "re: hello " + cid.split("-")[1], body
    assert body.model == MODEL, "the model of the rows' body.model reached the backend"
assert len({l["id"] for l in out}) == 6

errs = lines(b.error_file_id)
assert sorted(l["custom_id"] for l in errs) == ["fail-0", "fail-1"], errs
for l in errs:
    assert l["response"]["status_code"] == 400, l
    assert "scripted failure" in l["response"]["body"]["error"]["message"], l
    assert l["error"]["code"] == "invalid_request" and "scripted failure" in l["error"]["message"], l

of = retrieve_file(b.output_file_id)
assert of.purpose == "batch_output" and of.bytes == len(c.files.content(b.output_file_id).read()), of
ef = retrieve_file(b.error_file_id)
assert ef.purpose == "batch_output" and ef.bytes == len(c.files.content(b.error_file_id).read()), ef
assert {b.output_file_id, b.error_file_id} <= {x.id for x in c.files.list(purpose="batch_output")}

# 3. A bad input file: the batch fails, its errors name the lines.
bad_path = write("bad.jsonl", [row("a", "hello"), '{"custom_id": "b", "body": ', row("c", "hello", model="other-model")])
bad = upload(bad_path)
fb = c.batches.create(input_file_id=bad.id, endpoint="/v1/chat/completions", completion_window="24h")
fb = wait(fb.id, lambda b: b.status in TERMINAL)
assert fb.status == "failed" and fb.failed_at, fb
errors = {e.line: e for e in fb.errors.data}
assert fb.errors.object == "list" and set(errors) == {2, 3}, fb.errors
assert errors[2].code == "invalid_json_line", errors[2]
assert errors[3].code == "mismatched_model" and errors[3].param == "body.model" and "other-model" in errors[3].message, errors[3]
assert fb.output_file_id is None and fb.error_file_id is None, fb
summary["failed_batch"] = fb.id

# 4. Listing across pages.
made = [c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h").id for _ in range(3)]
first = c.batches.list(limit=2)
assert len(first.data) == 2 and first.has_more is True, first
pages, page = 1, first
while page.has_next_page():
    page = page.get_next_page()
    pages += 1
seen = [x.id for x in c.batches.list(limit=2)]
assert pages >= 3 and len(seen) == len(set(seen)) and set(made + [b.id, fb.id]) <= set(seen), (pages, seen)
assert seen[:3] == made[::-1], "newest first"
raw = c.batches.with_raw_response.list(limit=2).http_response.json()
assert raw["object"] == "list" and raw["first_id"] == raw["data"][0]["id"] and raw["last_id"] == raw["data"][-1]["id"], raw
for item in raw["data"]:
    strict(Batch, item)
for m in made:
    wait(m, lambda b: b.status in TERMINAL)
files_asc = [x.id for x in c.files.list(limit=1, order="asc")]
files_desc = [x.id for x in c.files.list(order="desc")]
assert files_asc == files_desc[::-1] and f.id in files_asc and len(files_asc) >= 6, (files_asc, files_desc)

# 5. Cancel a slow batch: it ends cancelled, the rows it finished are kept, the others are in its error file.
slow_rows = [row(f"fast-{i}", f"hello fast {i}") for i in range(4)] + [row(f"slow-{i}", f"slow {i}") for i in range(12)]
slow = upload(write("slow.jsonl", slow_rows))
sb = c.batches.create(input_file_id=slow.id, endpoint="/v1/chat/completions", completion_window="24h")
sb = wait(sb.id, lambda b: b.request_counts.completed >= 4 or b.status in TERMINAL, timeout=60)
assert sb.status == "in_progress", sb
cb = c.batches.cancel(sb.id)
assert cb.status in ("cancelling", "cancelled") and cb.cancelling_at, cb
cb = wait(sb.id, lambda b: b.status in TERMINAL)
assert cb.status == "cancelled" and cb.cancelled_at and cb.cancelling_at, cb
kept = lines(cb.output_file_id)
kept_ids = {l["custom_id"] for l in kept}
assert {f"fast-{i}" for i in range(4)} <= kept_ids and len(kept_ids) < 16, kept_ids
dropped = lines(cb.error_file_id)
assert all(l["error"]["code"] == "batch_cancelled" and l["response"] is None for l in dropped), dropped
assert kept_ids | {l["custom_id"] for l in dropped} == {r["custom_id"] for r in slow_rows}, (kept_ids, dropped)
assert cb.request_counts.total == 16 and cb.request_counts.completed == len(kept), cb.request_counts
assert cb.request_counts.completed + cb.request_counts.failed == 16, cb.request_counts
try:
    c.batches.cancel(cb.id)
    raise AssertionError("cancel of an ended batch succeeded")
except openai.ConflictError as e:
    assert e.status_code == 409 and e.body["message"], e.body
summary["cancelled_batch"] = cb.id

# 6. Errors where OpenAI raises them.
def raises(cls, call, status):
    try:
        call()
    except cls as e:
        assert e.status_code == status, (cls, e.status_code)
        err = e.response.json()["error"]
        assert set(err) == {"message", "type", "param", "code"} and err["message"], err
        return err
    raise AssertionError(f"{cls.__name__} not raised")

raises(openai.NotFoundError, lambda: c.files.retrieve("file-doesnotexist"), 404)
raises(openai.NotFoundError, lambda: c.files.content("file-doesnotexist"), 404)
raises(openai.NotFoundError, lambda: c.batches.retrieve("batch_doesnotexist"), 404)
raises(openai.NotFoundError, lambda: c.batches.cancel("batch_doesnotexist"), 404)
raises(openai.NotFoundError, lambda: c.batches.create(input_file_id="file-doesnotexist", endpoint="/v1/chat/completions", completion_window="24h"), 404)
err = raises(openai.AuthenticationError, lambda: OpenAI(base_url=base + "/v1", api_key="wrong", max_retries=0).batches.list(), 401)
assert err["code"] == "invalid_api_key", err
raises(openai.AuthenticationError, lambda: OpenAI(base_url=base + "/v1", api_key="wrong", max_retries=0).files.create(file=open(path, "rb"), purpose="batch"), 401)
err = raises(openai.BadRequestError, lambda: c.files.create(file=open(path, "rb"), purpose="fine-tune"), 400)
assert err["param"] == "purpose", err
err = raises(openai.BadRequestError, lambda: c.batches.create(input_file_id=f.id, endpoint="/v1/embeddings", completion_window="24h"), 400)
assert err["param"] == "endpoint" and "/v1/chat/completions" in err["message"], err
raises(openai.BadRequestError, lambda: c.batches.create(input_file_id=b.output_file_id, endpoint="/v1/chat/completions", completion_window="24h"), 400)

# 7. Delete a file.
d = c.files.delete(bad.id)
assert isinstance(d, FileDeleted) and d.deleted and d.id == bad.id, d
raises(openai.NotFoundError, lambda: c.files.retrieve(bad.id), 404)
summary["input_file"] = f.id
summary["slow_file"] = slow.id
print("SUMMARY " + json.dumps(summary))
print("OpenAI SDK flow OK")
"""#

    func requireOpenAISDK(_ python: String) throws {
        let probe = Harness.runProgram(python, ["-c", "import openai"])
        if probe.status != 0 {
            let message = "the openai package is not installed (pip install openai); .ci/run installs it"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message) }
            throw XCTSkip(message)
        }
    }

    func object(_ text: String) throws -> [String: Any] {
        guard let o = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw NSError(domain: "test", code: 1, userInfo: [NSLocalizedDescriptionKey: "not an object: \(text)"])
        }
        return o
    }

    func testOfficialOpenAISDKDrivesTheGateway() throws {
        let python = try Harness.requireTool("python3")
        try requireOpenAISDK(python)
        let inference = try InferenceFixture()
        // Two requests at a time, so that a batch of slow rows is still running when it is cancelled.
        let server = try LocalServer(["--backend", "openai", "--inference-url", inference.url, "--api-key", Self.apiKey,
                                      "--concurrency", "2"])
        let path = Harness.temporaryDirectory("openai-sdk") + "/openai_flow.py"
        try Self.script.write(toFile: path, atomically: true, encoding: .utf8)
        let r = Harness.runProgram(python, [path, server.url, Self.apiKey], timeout: 300)
        XCTAssertEqual(r.status, 0, r.out + r.err + server.log.suffix(3000))
        XCTAssertTrue(r.out.contains("OpenAI SDK flow OK"), r.out + r.err)
        guard let line = r.out.split(separator: "\n").first(where: { $0.hasPrefix("SUMMARY ") }) else { return }
        let summary = try object(String(line.dropFirst(8)))
        let batch = try XCTUnwrap(summary["batch"] as? String)
        let outputFile = try XCTUnwrap(summary["output_file"] as? String)
        let inputFile = try XCTUnwrap(summary["input_file"] as? String)

        // The same batch through the Fireworks API: job batch-X of account local, its output dataset the output file.
        let jobID = "batch-" + batch.dropFirst("batch_".count)
        let key = ["--api-key", Self.apiKey]
        var cli = server.cli(key + ["bij", "get", jobID, "-o", "json"])
        XCTAssertEqual(cli.status, 0, cli.err)
        let job = try object(cli.out)
        XCTAssertEqual(job["state"] as? String, "JOB_STATE_COMPLETED")
        XCTAssertEqual(job["model"] as? String, "test-model")
        XCTAssertEqual(job["inputDatasetId"] as? String, "accounts/local/datasets/\(inputFile)")
        XCTAssertEqual(job["outputDatasetId"] as? String, "accounts/local/datasets/\(outputFile)")
        let progress = try XCTUnwrap(job["jobProgress"] as? [String: Any])
        XCTAssertEqual(progress["successfullyProcessedRequests"] as? Int, 6)
        XCTAssertEqual(progress["failedRequests"] as? Int, 2)

        let failed = try object(server.cli(key + ["bij", "get", "batch-" + (summary["failed_batch"] as! String).dropFirst(6), "-o", "json"]).out)
        XCTAssertEqual(failed["state"] as? String, "JOB_STATE_FAILED")
        XCTAssertTrue(((failed["status"] as? [String: Any])?["message"] as? String ?? "").contains(":2: invalid JSON"), "\(failed)")
        let cancelled = try object(server.cli(key + ["bij", "get", "batch-" + (summary["cancelled_batch"] as! String).dropFirst(6), "-o", "json"]).out)
        XCTAssertEqual(cancelled["state"] as? String, "JOB_STATE_CANCELLED")

        // The uploaded file is a dataset of the account.
        cli = server.cli(key + ["dataset", "get", inputFile, "-o", "json"])
        XCTAssertEqual(cli.status, 0, cli.err)
        let dataset = try object(cli.out)
        XCTAssertEqual(dataset["state"] as? String, "READY")
        XCTAssertEqual(dataset["exampleCount"] as? String, "8")
        XCTAssertEqual(dataset["displayName"] as? String, "input.jsonl")

        // Its results in the Fireworks format, unchanged by the OpenAI view of them.
        let dir = Harness.temporaryDirectory("openai-download")
        cli = server.cli(key + ["dataset", "download", outputFile, "--output-dir", dir])
        XCTAssertEqual(cli.status, 0, cli.err)
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/dataset/\(outputFile)").sorted()
        XCTAssertEqual(files, ["BIJOutputSet.jsonl", "error-data"], "the OpenAI renderings are not part of the dataset")
        let results = try String(contentsOfFile: "\(dir)/dataset/\(outputFile)/BIJOutputSet.jsonl", encoding: .utf8)
            .split(separator: "\n").map { try object(String($0)) }
        XCTAssertEqual(Set(results.compactMap { $0["custom_id"] as? String }), Set((0..<6).map { "ok-\($0)" }))
        XCTAssertTrue(results.allSatisfy { Set($0.keys) == ["custom_id", "response"] }, "\(results)")
        let errors = try String(contentsOfFile: "\(dir)/dataset/\(outputFile)/error-data", encoding: .utf8)
            .split(separator: "\n").map { try object(String($0)) }
        XCTAssertEqual(Set(errors.compactMap { $0["custom_id"] as? String }), ["fail-0", "fail-1"])
        XCTAssertEqual(errors.compactMap { ($0["error"] as? [String: Any])?["code"] as? Int }, [400, 400])
    }

    /// A Fireworks job whose window runs out: the OpenAI API shows it `expired`, its unrun rows `batch_expired`.
    func testExpiredJobSeenThroughTheOpenAIAPI() throws {
        let inference = try InferenceFixture()
        let server = try LocalServer(["--backend", "openai", "--inference-url", inference.url, "--concurrency", "1",
                                      "--min-job-duration", "1s"])
        let file = Harness.temporaryDirectory("openai-expire") + "/rows.jsonl"
        let rows = ["fast", "slow", "slow", "slow", "slow"].enumerated().map { i, kind in
            #"{"custom_id": "r\#(i)", "body": {"model": "m", "messages": [{"role": "user", "content": "\#(kind) \#(i)"}]}}"#
        }
        try (rows.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let upload = try object(try curl(["-X", "POST", server.url + "/v1/files", "-F", "purpose=batch", "-F", "file=@\(file)"]).out)
        let fileID = try XCTUnwrap(upload["id"] as? String)
        let created = try object(try curl(["-X", "POST", server.url + "/v1/accounts/local/batchInferenceJobs?batchInferenceJobId=short-window",
                                           "-H", "Content-Type: application/json",
                                           "-d", #"{"model": "m", "inputDatasetId": "accounts/local/datasets/\#(fileID)", "maxJobDuration": "4s"}"#]).out)
        XCTAssertEqual(created["name"] as? String, "accounts/local/batchInferenceJobs/short-window")

        var batch: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(60)
        repeat {
            usleep(200_000)
            batch = try object(try curl([server.url + "/v1/batches/short-window"]).out)
        } while !["expired", "completed", "failed", "cancelled"].contains(batch["status"] as? String ?? "") && Date() < deadline
        XCTAssertEqual(batch["status"] as? String, "expired", "\(batch)")
        XCTAssertNotNil(batch["expired_at"] as? Int)
        XCTAssertEqual(batch["input_file_id"] as? String, fileID)
        let counts = try XCTUnwrap(batch["request_counts"] as? [String: Int])
        XCTAssertEqual(counts["total"], 5)
        XCTAssertEqual((counts["completed"] ?? 0) + (counts["failed"] ?? 0), 5)
        let errorFile = try XCTUnwrap(batch["error_file_id"] as? String, "\(batch)")
        let lines = try curl([server.url + "/v1/files/\(errorFile)/content"]).out.split(separator: "\n").map { try object(String($0)) }
        XCTAssertFalse(lines.isEmpty)
        XCTAssertEqual(lines.count, counts["failed"])
        for line in lines {
            XCTAssertTrue(line["response"] is NSNull, "\(line)")
            XCTAssertEqual((line["error"] as? [String: Any])?["code"] as? String, "batch_expired", "\(line)")
        }
        XCTAssertFalse(lines.contains { $0["custom_id"] as? String == "r0" }, "the row that ran is not in the error file")
    }

    func curl(_ args: [String]) throws -> Harness.Result {
        let path = try Harness.requireTool("curl")
        return Harness.runProgram(path, ["-sS"] + args)
    }

    /// The raw endpoints with curl: multipart upload, a batch to completed, content with Range, the error envelope.
    func testRawEndpointsWithCurl() throws {
        let server = try LocalServer(["--api-key", Self.apiKey])
        let auth = ["-H", "Authorization: Bearer \(Self.apiKey)"]
        let file = Harness.temporaryDirectory("openai-curl") + "/batch input.jsonl"
        try ((0..<3).map { #"{"custom_id": "c\#($0)", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "echo", "messages": [{"role": "user", "content": "one two three"}]}}"# }
            .joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)

        // A purpose other than batch is refused before anything is stored; the purpose may follow the file part.
        var r = try curl(auth + ["-w", "\n%{http_code}", server.url + "/v1/files", "-F", "file=@\(file)", "-F", "purpose=assistants"])
        XCTAssertTrue(r.out.hasSuffix("\n400"), r.out)
        let refused = try object(String(r.out.dropLast(4)))
        XCTAssertEqual((refused["error"] as? [String: Any])?["param"] as? String, "purpose")
        XCTAssertEqual((refused["error"] as? [String: Any])?["type"] as? String, "invalid_request_error")
        let none = try object(try curl(auth + [server.url + "/v1/files"]).out)
        XCTAssertEqual((none["data"] as? [Any])?.count, 0)
        XCTAssertEqual(none["has_more"] as? Bool, false)

        r = try curl(auth + [server.url + "/v1/files", "-F", "file=@\(file)", "-F", "purpose=batch"])
        let upload = try object(r.out)
        let fileID = try XCTUnwrap(upload["id"] as? String, r.out)
        XCTAssertEqual(upload["filename"] as? String, "batch input.jsonl", "the name as uploaded")
        XCTAssertEqual(upload["bytes"] as? Int, try Data(contentsOf: URL(fileURLWithPath: file)).count)

        r = try curl(auth + [server.url + "/v1/batches", "-H", "Content-Type: application/json",
                             "-d", #"{"input_file_id": "\#(fileID)", "endpoint": "/v1/chat/completions", "completion_window": "24h"}"#])
        var batch = try object(r.out)
        let batchID = try XCTUnwrap(batch["id"] as? String, r.out)
        let deadline = Date().addingTimeInterval(60)
        while batch["status"] as? String != "completed", Date() < deadline {
            usleep(100_000)
            batch = try object(try curl(auth + [server.url + "/v1/batches/\(batchID)"]).out)
        }
        XCTAssertEqual(batch["status"] as? String, "completed", "\(batch)")
        XCTAssertTrue(batch["error_file_id"] is NSNull, "no failed rows, no error file")
        let output = try XCTUnwrap(batch["output_file_id"] as? String)
        let whole = try curl(auth + [server.url + "/v1/files/\(output)/content"]).out
        XCTAssertEqual(whole.split(separator: "\n").count, 3)
        XCTAssertTrue(whole.hasPrefix(#"{"id":"batch_req_"#), whole)

        // Range: the bytes asked for, 206 and Content-Range over the whole rendering.
        r = try curl(auth + ["-i", "-H", "Range: bytes=5-24", server.url + "/v1/files/\(output)/content"])
        XCTAssertTrue(r.out.hasPrefix("HTTP/1.1 206"), r.out)
        XCTAssertTrue(r.out.contains("Content-Range: bytes 5-24/\(whole.utf8.count)"), r.out)
        XCTAssertTrue(r.out.hasSuffix(String(decoding: Array(whole.utf8)[5...24], as: UTF8.self)), r.out)
        r = try curl(auth + ["-I", server.url + "/v1/files/\(fileID)/content"])
        XCTAssertTrue(r.out.contains("Content-Length: \(upload["bytes"] as? Int ?? -1)"), r.out)

        // The key: missing and wrong both 401 in OpenAI's envelope.
        for header in [[], ["-H", "Authorization: Bearer wrong"]] {
            r = try curl(header + ["-w", "\n%{http_code}", server.url + "/v1/batches"])
            XCTAssertTrue(r.out.hasSuffix("\n401"), r.out)
            let error = try XCTUnwrap(try object(String(r.out.dropLast(4)))["error"] as? [String: Any])
            XCTAssertEqual(Set(error.keys), ["message", "type", "param", "code"])
        }
        r = try curl(auth + ["-w", "\n%{http_code}", "-X", "DELETE", server.url + "/v1/batches/\(batchID)"])
        XCTAssertTrue(r.out.hasSuffix("\n405"), r.out)
        r = try curl(auth + ["-w", "\n%{http_code}", server.url + "/v1/files/\(fileID)/nothing"])
        XCTAssertTrue(r.out.hasSuffix("\n404"), r.out)
    }
}
