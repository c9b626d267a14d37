// End to end, issue 12: a local gateway self-hosted behind TLS (nginx with a certificate from a test CA made by
// openssl, the gateway started with --public-url https://127.0.0.1:PORT), driven by the official Fireworks Python
// SDK through every public method of client.datasets and client.batch_inference_jobs and the network helper of
// fireworks.lib, each answer checked against the SDK's pydantic types and the live shapes; and the same front
// carrying a whole batchctl flow.
import Foundation
import XCTest

final class TLSGatewayTests: XCTestCase {
    /// nginx terminating TLS in front of a gateway whose minted URLs point at nginx.
    struct Setup {
        let front: TLSFront
        let server: LocalServer
    }

    func setUpTLS(_ extra: [String] = []) throws -> Setup {
        var port = Harness.freePort()
        var front = try TLSFront(proxyingTo: "http://127.0.0.1:\(port)")
        // The gateway's port is not bound yet when nginx picks its own: should they meet, pick again.
        while front.port == port {
            front.stop()
            port = Harness.freePort()
            front = try TLSFront(proxyingTo: "http://127.0.0.1:\(port)")
        }
        let server = try LocalServer(["--public-url", front.url] + extra, port: port)
        return Setup(front: front, server: server)
    }

    static let sdkScript = #"""
# The official Fireworks SDK against a local gateway behind TLS: every public method of client.datasets and
# client.batch_inference_jobs, and fireworks.lib's upload_dataset_shards, each answer checked against the SDK's
# pydantic types and against the live shapes of gateway-api.md.
import json, os, re, sys, tempfile, time
from urllib.parse import urlsplit, parse_qs
import httpx
import fireworks
from fireworks import Fireworks, BadRequestError, PermissionDeniedError, NotFoundError, ConflictError
from fireworks.types import Dataset, BatchInferenceJob
from fireworks.types.dataset_upload_response import DatasetUploadResponse
from fireworks.types.dataset_get_upload_endpoint_response import DatasetGetUploadEndpointResponse
from fireworks.types.dataset_get_download_endpoint_response import DatasetGetDownloadEndpointResponse
from fireworks.lib.dataset_upload import upload_dataset_shards, count_dataset_examples

base, key = sys.argv[1], sys.argv[2]
assert base.startswith("https://"), base
print("fireworks-ai", fireworks.__version__)
c = Fireworks(api_key=key, account_id="local", base_url=base, max_retries=0)

# Every public method of the two resources is wrapped, so the end can check that each one was called.
public, called = set(), set()
for res_name in ("datasets", "batch_inference_jobs"):
    res = getattr(c, res_name)
    for name in dir(type(res)):
        if name.startswith("_") or name.startswith("with_"):
            continue
        if callable(getattr(res, name)):
            label = f"{res_name}.{name}"
            public.add(label)
            def wrap(fn, label=label):
                def inner(*a, **k):
                    called.add(label)
                    return fn(*a, **k)
                return inner
            setattr(res, name, wrap(getattr(res, name)))

# Fields live answers carry that the SDK's types do not declare (gateway-api.md §3 and §6).
LIVE_EXTRA = {
    Dataset: {"encryptionState"},
    BatchInferenceJob: {"expireTime", "lifecycle", "waitingOnCapacity", "maxJobDuration", "systemPrompt", "placement"},
    DatasetUploadResponse: set(), DatasetGetUploadEndpointResponse: set(), DatasetGetDownloadEndpointResponse: set(),
}
NANOS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$")

def checked(model, raw):
    """Validates `raw` (the JSON as sent) against the SDK's pydantic model; only the known live extras may remain."""
    obj = model.model_validate(raw)
    extra = set((obj.model_extra or {}).keys())
    assert extra <= LIVE_EXTRA[model], (model.__name__, extra - LIVE_EXTRA[model])
    for field in ("createTime", "updateTime", "expireTime"):
        if raw.get(field) is not None:
            assert NANOS.match(raw[field]), (field, raw[field])
    return obj

def raw(call, *a, **k):
    """Calls `call` through with_raw_response: the parsed object and the JSON exactly as the gateway sent it."""
    response = call(*a, **k)
    return response.parse(), response.http_response.json(), response.http_response

def check_dataset(raw_json):
    d = checked(Dataset, raw_json)
    assert raw_json["encryptionState"] == "ENCRYPTION_STATE_PLAINTEXT", raw_json
    assert raw_json["createdBy"] == "sdk@example.com", raw_json
    assert isinstance(raw_json["exampleCount"], str) and isinstance(raw_json["estimatedTokenCount"], str), raw_json
    return d

def check_job(raw_json):
    j = checked(BatchInferenceJob, raw_json)
    assert raw_json["createdBy"] == "sdk@example.com", raw_json
    for absent in ("lifecycle", "maxJobDuration", "placement", "inferenceParameters", "jobProgress"):
        assert absent in raw_json, absent   # present, null when unset
    return j

def signed(url):
    parts = urlsplit(url)
    q = parse_qs(parts.query)
    assert parts.scheme == "https" and base.endswith(parts.netloc), url
    for p in ("X-Goog-Algorithm", "X-Goog-Credential", "X-Goog-Date", "X-Goog-Expires", "X-Goog-SignedHeaders", "X-Goog-Signature"):
        assert p in q, (p, url)
    return q

raw_ds = c.datasets.with_raw_response
raw_jobs = c.batch_inference_jobs.with_raw_response
tmp = tempfile.mkdtemp()

# -- upload_dataset_shards: a directory of shards through the signed-URL path (it refuses non-https URLs)
shards = os.path.join(tmp, "shards")
os.mkdir(shards)
for s in range(3):
    with open(os.path.join(shards, f"part-{s}.jsonl"), "w") as f:
        for i in range(2):
            f.write(json.dumps({"custom_id": f"s{s}-{i}", "body": {"messages": [{"role": "user", "content": f"shard {s} row {i}"}]}}) + "\n")
count = count_dataset_examples(shards)
d, j, _ = raw(raw_ds.create, dataset_id="shards", dataset={"user_uploaded": {}, "example_count": str(count), "format": "CHAT"})
check_dataset(j)
assert j["state"] == "UPLOADING" and j["estimatedTokenCount"] == "0", j
upload_dataset_shards(c, "shards", shards)
d, j, _ = raw(raw_ds.get, "shards")
check_dataset(j)
assert j["state"] == "READY" and j["exampleCount"] == "6", j
assert int(j["estimatedTokenCount"]) > 0 and j["averageTurnCount"] == 1, j
print("upload_dataset_shards OK")

# -- get_upload_endpoint by hand, read_mask, and the signed PUT as GCS answers it
c.datasets.create(dataset_id="manual", dataset={"user_uploaded": {}, "example_count": "1"})
content = (json.dumps({"custom_id": "m1", "body": {"messages": [{"role": "user", "content": "manual"}]}}) + "\n").encode()
e, j, _ = raw(raw_ds.get_upload_endpoint, "manual", filename_to_size={"m.jsonl": str(len(content))}, read_mask="filename_to_signed_urls")
checked(DatasetGetUploadEndpointResponse, j)
url = e.filename_to_signed_urls["m.jsonl"]
q = signed(url)
assert q["X-Goog-SignedHeaders"] == ["content-type;host;x-goog-content-length-range"], q
with httpx.Client() as plain:
    bad = plain.put(url, content=content, headers={"Content-Type": "application/octet-stream", "X-Goog-Content-Length-Range": f"0,{len(content) + 10}"})
    assert bad.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in bad.text, (bad.status_code, bad.text)
    good = plain.put(url, content=content, headers={"Content-Type": "application/octet-stream", "X-Goog-Content-Length-Range": f"{len(content)},{len(content)}"})
    assert good.status_code == 200 and good.content == b"" and good.headers.get("ETag"), (good.status_code, good.text, good.headers)
    again = plain.put(url, content=content, headers={"Content-Type": "application/octet-stream", "X-Goog-Content-Length-Range": f"{len(content)},{len(content)}"})
    assert again.status_code == 412, (again.status_code, again.text)
    assert good.headers.get("Date"), good.headers
assert c.datasets.validate_upload("manual", body={}) == {}
assert c.datasets.get("manual").state == "READY"
print("signed PUT OK")

# -- upload (multipart, the direct path)
c.datasets.create(dataset_id="direct", dataset={"user_uploaded": {}, "example_count": "2", "format": "CHAT"})
path = os.path.join(tmp, "direct.jsonl")
with open(path, "w") as f:
    for i in range(2):
        f.write(json.dumps({"custom_id": f"d{i}", "body": {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": f"direct {i}"}]}}) + "\n")
with open(path, "rb") as f:
    up, j, _ = raw(raw_ds.upload, "direct", file=f)
checked(DatasetUploadResponse, j)
assert j["object"] == "file" and j["bytes"] == os.path.getsize(path) and j["id"] == "accounts/local/datasets/direct", j
d, j, _ = raw(raw_ds.get, "direct")
check_dataset(j)
assert j["averageTurnCount"] == 2, j

# -- read_mask on get and list
_, j, _ = raw(raw_ds.get, "direct", read_mask="name,state")
assert j == {"name": "accounts/local/datasets/direct", "state": "READY"}, j
_, j, _ = raw(raw_ds.list, read_mask="name")
assert all(set(item) == {"name"} for item in j["datasets"]), j

# -- update: every field the SDK sends; the immutable ones refused with the gateway's own message
d, j, _ = raw(raw_ds.update, "direct", display_name="Direct", example_count="2", format="CHAT", external_url="gs://bucket/direct.jsonl",
              source_job_name="accounts/local/batchInferenceJobs/none", user_uploaded={})
check_dataset(j)
assert (j["displayName"], j["externalUrl"], j["sourceJobName"]) == ("Direct", "gs://bucket/direct.jsonl", "accounts/local/batchInferenceJobs/none"), j
for field, value in (("transformed", {"source_dataset_id": "x"}), ("splitted", {"source_dataset_id": "x"}),
                     ("evaluation_result", {"evaluation_job_id": "x"}), ("eval_protocol", {})):
    try:
        c.datasets.update("direct", **{field: value})
        raise AssertionError(f"update {field} was accepted")
    except BadRequestError as err:
        assert err.status_code == 400 and "cannot be changed" in str(err.body), err.body

# -- create from a source dataset
d, j, _ = raw(raw_ds.create, dataset_id="copy", dataset={"display_name": "copy"}, source_dataset_id="accounts/local/datasets/shards")
check_dataset(j)
assert j["state"] == "READY" and j["exampleCount"] == "6" and j["transformed"]["sourceDatasetId"] == "accounts/local/datasets/shards", j

# -- list: pagination with page_size=1, filters, order_by as the SDK spells it
page = c.datasets.list(page_size=1, order_by="name")
first = page.datasets
assert len(first) == 1 and page.next_page_token, page
names = [x.name for x in c.datasets.list(page_size=1, order_by="name")]
assert names == sorted(names) and len(names) == 4, names
assert [x.name for x in c.datasets.list(filter='display_name = "copy"')] == ["accounts/local/datasets/copy"]
assert [x.name for x in c.datasets.list(filter="example_count > 5 AND state = READY", order_by="created_time desc")] == \
    ["accounts/local/datasets/copy", "accounts/local/datasets/shards"]
try:
    c.datasets.list(page_size=2, page_token=page.next_page_token)
    raise AssertionError("a page token was accepted for another query")
except BadRequestError as err:
    assert err.status_code == 400, err
print("datasets OK")

# -- batch inference jobs: presence, placement, continuation, lineage
j1, j, _ = raw(raw_jobs.create, batch_inference_job_id="sdk-job", model="accounts/fireworks/models/llama-v3p1-8b-instruct",
               input_dataset_id="accounts/local/datasets/shards", inference_parameters={"temperature": 0, "max_tokens": 16},
               extra_body={"placement": {"region": "US_IOWA_1"}})
check_job(j)
assert j["inferenceParameters"] == {"maxTokens": 16, "temperature": 0}, j["inferenceParameters"]
assert j["placement"] == {"region": "US_IOWA_1"} and j["lifecycle"] is None and j["maxJobDuration"] is None, j
for _ in range(600):
    job = c.batch_inference_jobs.get("sdk-job")
    if job.state in ("JOB_STATE_COMPLETED", "JOB_STATE_FAILED"):
        break
    time.sleep(0.1)
_, j, _ = raw(raw_jobs.get, "sdk-job")
check_job(j)
assert j["state"] == "JOB_STATE_COMPLETED" and j["jobProgress"]["successfullyProcessedRequests"] == 6, j
assert j["lifecycle"]["endTime"], j
_, j, _ = raw(raw_jobs.get, "sdk-job", read_mask="state")
assert j == {"state": "JOB_STATE_COMPLETED"}, j
j2, j, _ = raw(raw_jobs.create, batch_inference_job_id="sdk-job-2", continued_from_job_name="accounts/local/batchInferenceJobs/sdk-job")
check_job(j)
assert j["continuedFromJobName"] == "accounts/local/batchInferenceJobs/sdk-job" and j["placement"] == {"region": "US_IOWA_1"}, j
for _ in range(600):
    if c.batch_inference_jobs.get("sdk-job-2").state == "JOB_STATE_COMPLETED":
        break
    time.sleep(0.1)
jobs = [x.name for x in c.batch_inference_jobs.list(page_size=1, order_by="created_time")]
assert jobs == ["accounts/local/batchInferenceJobs/sdk-job", "accounts/local/batchInferenceJobs/sdk-job-2"], jobs
assert [x.name for x in c.batch_inference_jobs.list(filter='continued_from_job_name != ""')] == ["accounts/local/batchInferenceJobs/sdk-job-2"]
_, j, _ = raw(raw_jobs.list, read_mask="name,state")
assert all(set(x) == {"name", "state"} for x in j["batchInferenceJobs"]), j
out1 = c.batch_inference_jobs.get("sdk-job").output_dataset_id.split("/")[-1]
out2 = c.batch_inference_jobs.get("sdk-job-2").output_dataset_id.split("/")[-1]
e, j, _ = raw(raw_ds.get_download_endpoint, out2, download_lineage=True, read_mask="filename_to_signed_urls")
checked(DatasetGetDownloadEndpointResponse, j)
keys = sorted(e.filename_to_signed_urls)
assert f"dataset/{out1}/BIJOutputSet.jsonl" in keys, keys
with httpx.Client() as plain:
    for k, u in e.filename_to_signed_urls.items():
        signed(u)
        r = plain.get(u)
        assert r.status_code == 200 and r.headers.get("ETag"), (k, r.status_code, r.text)
        if k.endswith("BIJOutputSet.jsonl") and out1 in k:
            assert len(r.text.strip().split("\n")) == 6, r.text
print("jobs OK")

# -- the error classes
try:
    c.datasets.create(dataset_id="Bad_Id", dataset={"user_uploaded": {}, "example_count": "1"})
    raise AssertionError("bad id accepted")
except BadRequestError as err:
    assert err.status_code == 400 and err.body["code"] == 3, err.body
try:
    c.datasets.create(dataset_id="copy", dataset={"user_uploaded": {}, "example_count": "1"})
    raise AssertionError("duplicate accepted")
except ConflictError as err:
    assert err.status_code == 409 and err.body["code"] == 6, err.body
try:
    c.datasets.get("missing")
    raise AssertionError("missing found")
except NotFoundError as err:
    assert err.status_code == 404 and err.body["code"] == 5, err.body
wrong = Fireworks(api_key="wrong-key", account_id="local", base_url=base, max_retries=0)
try:
    wrong.datasets.list()
    raise AssertionError("wrong key accepted")
except PermissionDeniedError as err:
    assert err.status_code == 403 and err.body["error"]["code"] == "UNAUTHORIZED" and err.body["error"]["type"] == "error", err.body
    assert "request_id" in err.response.json(), err.response.text
print("errors OK")

# -- delete
assert c.batch_inference_jobs.delete("sdk-job-2") == {}
assert c.datasets.delete("manual") == {}
missing = sorted(public - called)
assert not missing, f"public SDK methods never called: {missing}"
print("covered", sorted(called))
print("SDK behind TLS OK")
"""#

    func testOfficialSDKThroughEveryMethodBehindTLS() throws {
        let python = try Harness.requireTool("python3")
        if Harness.runProgram(python, ["-c", "import fireworks, httpx"]).status != 0 {
            let message = "the fireworks-ai package is not installed (pip install fireworks-ai); .ci/run installs it"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message) }
            throw XCTSkip(message)
        }
        let setup = try setUpTLS(["--api-key", "sdk-key", "--created-by", "sdk@example.com"])
        let script = Harness.temporaryDirectory("sdk") + "/sdk_tls.py"
        try Self.sdkScript.write(toFile: script, atomically: true, encoding: .utf8)
        var env = Harness.cleanEnvironment()
        // How a client trusts a private CA: Python's ssl (and httpx) read SSL_CERT_FILE.
        env["SSL_CERT_FILE"] = setup.front.authority.certificate
        let r = Harness.runProgram(python, [script, setup.front.url, "sdk-key"], env: env, timeout: 240)
        XCTAssertEqual(r.status, 0, r.out + r.err + "\n--- gateway log\n" + setup.server.log.suffix(3000))
        XCTAssertTrue(r.out.contains("SDK behind TLS OK"), r.out + r.err)
        let puts = setup.front.accessLog(waitingFor: 1).filter { $0.method == "PUT" && $0.uri.hasPrefix("/storage/") }
        XCTAssertGreaterThanOrEqual(puts.count, 3, "the shards went over TLS through the front")
    }

    /// The nginx block of README's "Behind TLS", run as written but for the certificate, the ports and the paths.
    func testTheReadmesNginxConfigurationWorks() throws {
        let nginx = try Harness.requireTool("nginx", package: "nginx-light")
        let readme = try String(contentsOf: Harness.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let block = try XCTUnwrap(readme.components(separatedBy: "```nginx\n").dropFirst().first?.components(separatedBy: "```").first,
                                  "README.md has an nginx block")
        let authority = try TestCertificateAuthority.make()
        let gatewayPort = Harness.freePort()
        var frontPort = Harness.freePort()
        while frontPort == gatewayPort { frontPort = Harness.freePort() }
        let server = try LocalServer(["--public-url", "https://127.0.0.1:\(frontPort)", "--api-key", "k"], port: gatewayPort)
        var site = block
        for (from, to) in [("listen 443 ssl;", "listen 127.0.0.1:\(frontPort) ssl;"), ("server_name batch.example.com;", "server_name 127.0.0.1;"),
                           ("/etc/ssl/batch.example.com.pem", authority.serverCertificate), ("/etc/ssl/batch.example.com.key", authority.serverKey),
                           ("http://127.0.0.1:8700", "http://127.0.0.1:\(gatewayPort)")] {
            XCTAssertTrue(site.contains(from), "the README block has \(from)")
            site = site.replacingOccurrences(of: from, with: to)
        }
        let dir = Harness.temporaryDirectory("readme-nginx")
        let conf = """
        daemon off;
        \(geteuid() == 0 ? "user root;" : "")
        pid \(dir)/nginx.pid;
        error_log \(dir)/error.log;
        events { worker_connections 64; }
        http {
            access_log \(dir)/access.log;
            client_body_temp_path \(dir)/body;
            proxy_temp_path \(dir)/proxy;
            fastcgi_temp_path \(dir)/fastcgi;
            uwsgi_temp_path \(dir)/uwsgi;
            scgi_temp_path \(dir)/scgi;
        \(site)
        }
        """
        try conf.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: nginx)
        process.arguments = ["-p", dir, "-c", dir + "/nginx.conf", "-e", dir + "/error.log"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        XCTAssertTrue(Harness.wait(timeout: 10) { Harness.accepts(port: frontPort) }, (try? String(contentsOfFile: dir + "/error.log", encoding: .utf8)) ?? "")

        let file = Harness.temporaryDirectory("in") + "/r.jsonl"
        try (#"{"custom_id": "r1", "body": {"messages": [{"role": "user", "content": "readme"}]}}"# + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let base = ["--server", "https://127.0.0.1:\(frontPort)", "--cacert", authority.certificate, "--api-key", "k", "-a", "local"]
        var env = Harness.networkEnvironment()
        env["BATCHCTL_DIRECT_UPLOAD_LIMIT"] = "1"
        var r = Harness.run(base + ["dataset", "create", "readme", file], env: env)
        XCTAssertEqual(r.status, 0, r.err + server.log.suffix(1500))
        let out = Harness.temporaryDirectory("out")
        r = Harness.run(base + ["dataset", "download", "readme", "--output-dir", out], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try String(contentsOfFile: out + "/dataset/readme/r.jsonl", encoding: .utf8).count, try String(contentsOfFile: file, encoding: .utf8).count)
    }

    func testTheCLIFlowBehindTLS() throws {
        let setup = try setUpTLS(["--api-key", "cli-key"])
        let env = Harness.networkEnvironment()
        func cli(_ args: [String], extra: [String: String] = [:]) -> Harness.Result {
            var e = env
            for (k, v) in extra { e[k] = v }
            return Harness.run(["--server", setup.front.url, "--cacert", setup.front.authority.certificate, "--api-key", "cli-key", "-a", "local"] + args,
                               env: e, timeout: 180)
        }
        let rows = (1...4).map { #"{"custom_id": "t\#($0)", "body": {"messages": [{"role": "user", "content": "tls \#($0)"}]}}"# }.joined(separator: "\n") + "\n"
        let file = Harness.temporaryDirectory("in") + "/tls.jsonl"
        try rows.write(toFile: file, atomically: true, encoding: .utf8)

        var r = cli(["dataset", "create", "direct", file, "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains(#""state": "READY""#), r.out)
        r = cli(["dataset", "create", "signed", file, "-o", "json"], extra: ["BATCHCTL_DIRECT_UPLOAD_LIMIT": "1"])
        XCTAssertEqual(r.status, 0, r.err + setup.server.log.suffix(2000))
        XCTAssertTrue(r.out.contains(#""encryptionState": "ENCRYPTION_STATE_PLAINTEXT""#), r.out)
        let log = setup.front.accessLog(waitingFor: 1)
        XCTAssertEqual(log.filter { $0.method == "PUT" && $0.uri.hasPrefix("/storage/accounts/local/datasets/signed/tls.jsonl?X-Goog-") }.map(\.status), [200],
                       "the signed PUT went to the https front: \(log.map { "\($0.method) \($0.uri.prefix(60)) \($0.status)" })")

        let out = Harness.temporaryDirectory("out")
        r = cli(["bij", "create", "--job-id", "tls-job", "-m", "echo", "-d", "signed", "--wait", "--download", out])
        XCTAssertEqual(r.status, 0, r.err)
        let written = (try? FileManager.default.subpathsOfDirectory(atPath: out)) ?? []
        let results = try XCTUnwrap(written.first { $0.hasSuffix("BIJOutputSet.jsonl") }, "\(written)")
        XCTAssertEqual(try String(contentsOfFile: out + "/" + results, encoding: .utf8).split(separator: "\n").count, 4)

        r = cli(["bij", "create", "--job-id", "tls-job-2", "--continue-from", "tls-job", "--wait", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        let continued = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let output2 = try XCTUnwrap((continued["outputDatasetId"] as? String)?.split(separator: "/").last.map(String.init))
        let lineage = Harness.temporaryDirectory("lineage")
        r = cli(["dataset", "download", output2, "--download-lineage", "--output-dir", lineage])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("/dataset/\(results.split(separator: "/")[1])/BIJOutputSet.jsonl"), "the first job's results come with the lineage: \(r.out)")
        XCTAssertTrue(setup.front.failedHandshakes.isEmpty, "\(setup.front.failedHandshakes)")
    }
}
