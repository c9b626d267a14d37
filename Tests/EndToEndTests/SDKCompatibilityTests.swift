// End to end: the official Fireworks Python SDK (fireworks-ai from PyPI) drives the local gateway unchanged.
import Foundation
import XCTest

final class SDKCompatibilityTests: XCTestCase {
    static let script = #"""
# The official Fireworks SDK against the local gateway: datasets and a batch job, unchanged but for base_url.
import json, sys, time, tempfile, os, urllib.request
from fireworks import Fireworks

base = sys.argv[1]
c = Fireworks(api_key="any-key", account_id="local", base_url=base)
rows = [{"custom_id": f"q{i}", "body": {"messages": [{"role": "user", "content": f"hello {i}"}]}} for i in range(3)]
path = os.path.join(tempfile.mkdtemp(), "input.jsonl")
with open(path, "w") as f:
    f.write("\n".join(json.dumps(r) for r in rows) + "\n")

d = c.datasets.create(dataset_id="sdk-input", dataset={"user_uploaded": {}, "example_count": "3", "format": "CHAT"})
print("created", d.name, d.state)
with open(path, "rb") as f:
    up = c.datasets.upload("sdk-input", file=f)
print("uploaded", up)
d = c.datasets.get("sdk-input")
assert d.state == "READY", d
print("listed", [x.name for x in c.datasets.list()])

job = c.batch_inference_jobs.create(batch_inference_job_id="sdk-job", model="accounts/fireworks/models/llama-v3p1-8b-instruct",
                                    input_dataset_id="accounts/local/datasets/sdk-input",
                                    inference_parameters={"max_tokens": 8, "temperature": 0.1})
print("job", job.name, job.state)
for _ in range(100):
    job = c.batch_inference_jobs.get("sdk-job")
    if job.state in ("JOB_STATE_COMPLETED", "JOB_STATE_FAILED"):
        break
    time.sleep(0.1)
assert job.state == "JOB_STATE_COMPLETED", job
print("progress", job.job_progress)
print("jobs", [j.name for j in c.batch_inference_jobs.list()])
out = job.output_dataset_id.split("/")[-1]
urls = c.datasets.get_download_endpoint(out)
print("download keys", sorted(urls.filename_to_signed_urls))
body = urllib.request.urlopen(urls.filename_to_signed_urls[f"dataset/{out}/BIJOutputSet.jsonl"]).read().decode()
assert len(body.strip().split("\n")) == 3
c.batch_inference_jobs.delete("sdk-job")
c.datasets.delete("sdk-input")
print("SDK flow OK")
"""#

    func testOfficialSDKFlow() throws {
        let python = try Harness.requireTool("python3")
        let probe = Harness.runProgram(python, ["-c", "import fireworks"])
        if probe.status != 0 {
            let message = "the fireworks-ai package is not installed (pip install fireworks-ai); .ci/run installs it"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message) }
            throw XCTSkip(message)
        }
        let server = try LocalServer()
        let path = Harness.temporaryDirectory("sdk") + "/sdk_flow.py"
        try Self.script.write(toFile: path, atomically: true, encoding: .utf8)
        let r = Harness.runProgram(python, [path, server.url], timeout: 120)
        XCTAssertEqual(r.status, 0, r.out + r.err + server.log.suffix(2000))
        XCTAssertTrue(r.out.contains("SDK flow OK"), r.out + r.err)
    }
}
