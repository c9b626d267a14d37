// The OpenAI Batch API of the gateway, in process: routes, the error envelope and auth, multipart uploads with
// the purpose before or after the file, batch parameters, validation errors with lines, and the output lines.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation
@testable import BatchServer
import XCTest

final class OpenAIAPITests: XCTestCase {
    var directories: [String] = []

    override func tearDown() {
        for dir in directories { try? FileManager.default.removeItem(atPath: dir) }
        super.tearDown()
    }

    /// A gateway over a fresh data dir, not listening and with no job workers: jobs stay as created.
    func makeGateway(apiKey: String? = nil, account: String = "local") throws -> Gateway {
        let dir = NSTemporaryDirectory() + "batchctl-openai-\(UUID().uuidString.prefix(8))"
        directories.append(dir)
        var options = ServerOptions(dataDir: dir)
        options.quiet = true
        options.apiKey = apiKey
        options.openAIAccount = account
        return try LocalGatewayServer(options: options).gateway
    }

    func testFilesAndBatchesLandInTheOpenAIAccount() throws {
        let g = try makeGateway(account: "team-a")
        let id = try XCTUnwrap(try upload(g, Self.row("a")).1["id"]?.stringValue)
        XCTAssertNotNil(g.store.dataset("team-a", id))
        XCTAssertNil(g.store.dataset("local", id))
        let batch = try send(g, "POST", "/v1/batches",
                             body: Array(#"{"input_file_id": "\#(id)", "endpoint": "/v1/chat/completions", "completion_window": "24h"}"#.utf8)).1
        XCTAssertEqual(g.store.jobs("team-a").map { OpenAIIDs.batchID(jobID: $0.id) }, [batch["id"]?.stringValue ?? ""])
        XCTAssertThrowsError(try makeGateway(account: "Team_A")) { e in
            XCTAssertTrue("\(e)".contains("--openai-account"), "\(e)")
        }
    }

    func send(_ g: Gateway, _ method: String, _ target: String, body: [UInt8] = [], headers: HTTPHeaders = [:]) throws -> (Int, JSONValue) {
        let response = g.handle(try HTTPRequest(method: method, target: target, headers: headers, body: body))
        guard case .bytes(let bytes) = response.body else { return (response.status.code, .null) }
        return (response.status.code, try JSONValue(parsing: bytes))
    }

    func multipart(_ parts: [(name: String, filename: String?, value: String)]) -> (HTTPHeaders, [UInt8]) {
        let boundary = "----test-boundary-42"
        var text = ""
        for p in parts {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(p.name)\""
            if let f = p.filename { text += "; filename=\"\(f)\"\r\nContent-Type: application/jsonl" }
            text += "\r\n\r\n\(p.value)\r\n"
        }
        text += "--\(boundary)--\r\n"
        return (["Content-Type": "multipart/form-data; boundary=\(boundary)"], Array(text.utf8))
    }

    func upload(_ g: Gateway, _ content: String, purposeFirst: Bool = true, purpose: String = "batch") throws -> (Int, JSONValue) {
        let file = (name: "file", filename: Optional("rows.jsonl"), value: content)
        let purposePart = (name: "purpose", filename: String?.none, value: purpose)
        let (headers, body) = multipart(purposeFirst ? [purposePart, file] : [file, purposePart])
        return try send(g, "POST", "/v1/files", body: body, headers: headers)
    }

    static func row(_ id: String, _ model: String = "m") -> String {
        #"{"custom_id":"\#(id)","method":"POST","url":"/v1/chat/completions","body":{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}}"#
    }

    func error(_ answer: (Int, JSONValue)) -> (status: Int, message: String, type: String, param: String?, code: String?) {
        let e = answer.1["error"] ?? .null
        return (answer.0, e["message"]?.stringValue ?? "", e["type"]?.stringValue ?? "", e["param"]?.stringValue, e["code"]?.stringValue)
    }

    // MARK: routes

    func testRoutes() throws {
        func route(_ method: String, _ target: String) throws -> OpenAIRoute { try OpenAIRouter.route(HTTPRequest(method: method, target: target)) }
        XCTAssertEqual(try route("POST", "/v1/files"), .createFile)
        XCTAssertEqual(try route("GET", "/v1/files?purpose=batch"), .listFiles)
        XCTAssertEqual(try route("GET", "/v1/files/file-a"), .getFile(id: "file-a"))
        XCTAssertEqual(try route("HEAD", "/v1/files/file-a/content"), .fileContent(id: "file-a"))
        XCTAssertEqual(try route("DELETE", "/v1/files/file-a"), .deleteFile(id: "file-a"))
        XCTAssertEqual(try route("POST", "/v1/batches"), .createBatch)
        XCTAssertEqual(try route("GET", "/v1/batches?limit=2&after=batch_x"), .listBatches)
        XCTAssertEqual(try route("GET", "/v1/batches/batch_x"), .getBatch(id: "batch_x"))
        XCTAssertEqual(try route("POST", "/v1/batches/batch_x/cancel"), .cancelBatch(id: "batch_x"))
        for (method, target, status) in [("PUT", "/v1/files", 405), ("POST", "/v1/batches/b", 405), ("GET", "/v1/batches/b/cancel", 405),
                                         ("GET", "/v1/files/a/b", 404), ("GET", "/v1/batches/a/b/c", 404), ("GET", "/v1/files//content", 404)] {
            XCTAssertThrowsError(try route(method, target), "\(method) \(target)") { e in
                XCTAssertEqual((e as? OpenAIError)?.status, status, "\(method) \(target)")
            }
        }
        XCTAssertTrue(OpenAIRouter.claims(try HTTPRequest(method: "GET", target: "/v1/batches")))
        XCTAssertFalse(OpenAIRouter.claims(try HTTPRequest(method: "GET", target: "/v1/accounts/local/datasets")))
        XCTAssertFalse(OpenAIRouter.claims(try HTTPRequest(method: "GET", target: "/v1/filesystem")))
    }

    func testIDsMapBothWays() {
        XCTAssertEqual(OpenAIIDs.batchID(jobID: "batch-abc"), "batch_abc")
        XCTAssertEqual(OpenAIIDs.batchID(jobID: "job-abc"), "job-abc")
        XCTAssertEqual(OpenAIIDs.jobID(batchID: "batch_abc"), "batch-abc")
        XCTAssertEqual(OpenAIIDs.jobID(batchID: "job-abc"), "job-abc")
        XCTAssertNil(OpenAIIDs.jobID(batchID: "../x"))
        XCTAssertNil(OpenAIIDs.jobID(batchID: "Batch_ABC"))
        let job = OpenAIIDs.newJobID(), file = OpenAIIDs.newFileID()
        XCTAssertTrue(ResourceID.isValid(job) && ResourceID.isValid(file), "\(job) \(file)")
        XCTAssertEqual(OpenAIIDs.jobID(batchID: OpenAIIDs.batchID(jobID: job)), job)
    }

    // MARK: auth and errors

    func testKeysAreCheckedWithOpenAIsAnswers() throws {
        let g = try makeGateway(apiKey: "sk-right")
        var e = error(try send(g, "GET", "/v1/batches"))
        XCTAssertEqual(e.status, 401)
        XCTAssertTrue(e.message.hasPrefix("You didn't provide an API key"), e.message)
        e = error(try send(g, "GET", "/v1/files", headers: ["Authorization": "Bearer sk-wrong"]))
        XCTAssertEqual(e.status, 401)
        XCTAssertEqual(e.code, "invalid_api_key")
        let (status, body) = try send(g, "GET", "/v1/files", headers: ["Authorization": "Bearer sk-right"])
        XCTAssertEqual(status, 200)
        XCTAssertEqual(body["object"], .string("list"))
        // The Fireworks routes keep their own answers.
        let (fireworks, answer) = try send(g, "GET", "/v1/accounts/local/datasets", headers: ["Authorization": "Bearer sk-wrong"])
        XCTAssertEqual(fireworks, 403)
        XCTAssertEqual(answer["error"]?["code"], .string("UNAUTHORIZED"), "Fireworks' front-door envelope (issue 12)")
    }

    // MARK: files

    func testPurposeBeforeOrAfterTheFileAndRefusedPurposesLeaveNothing() throws {
        let g = try makeGateway()
        for first in [true, false] {
            let (status, file) = try upload(g, Self.row("a") + "\n\n" + Self.row("b"), purposeFirst: first)
            XCTAssertEqual(status, 200, "\(file)")
            XCTAssertEqual(file["purpose"], .string("batch"))
            XCTAssertEqual(file["filename"], .string("rows.jsonl"))
            let id = try XCTUnwrap(file["id"]?.stringValue)
            XCTAssertEqual(g.store.dataset("local", id)?.exampleCount, 2, "blank lines are not rows")
            XCTAssertEqual(g.store.dataset("local", id)?.state, DatasetState.ready)
        }
        for purpose in ["fine-tune", "assistants", ""] {
            let e = error(try upload(g, Self.row("a"), purposeFirst: false, purpose: purpose))
            XCTAssertEqual(e.status, 400, purpose)
            XCTAssertEqual(e.param, "purpose", purpose)
        }
        XCTAssertEqual(g.store.datasets("local").count, 2, "a refused upload stores no dataset")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: g.config.dataDir + "/openai/uploads")
        XCTAssertEqual(leftovers, [], "nor a staged file")
        XCTAssertEqual(error(try upload(g, "")).status, 400, "an empty file is refused")
        let (_, none) = try send(g, "POST", "/v1/files", body: Array("{}".utf8), headers: ["Content-Type": "application/json"])
        XCTAssertEqual(none["error"]?["type"], .string("invalid_request_error"))
    }

    // MARK: batches

    func testBatchParametersAreChecked() throws {
        let g = try makeGateway()
        let id = try XCTUnwrap(try upload(g, Self.row("a")).1["id"]?.stringValue)
        func create(_ body: String) throws -> (status: Int, message: String, type: String, param: String?, code: String?) {
            error(try send(g, "POST", "/v1/batches", body: Array(body.utf8), headers: ["Content-Type": "application/json"]))
        }
        let good = #""input_file_id": "\#(id)", "endpoint": "/v1/chat/completions", "completion_window": "24h""#
        XCTAssertEqual(try create(#"{\#(good), "priority": 1}"#).param, "priority")
        XCTAssertEqual(try create(#"{"endpoint": "/v1/chat/completions", "completion_window": "24h"}"#).code, "missing_required_parameter")
        XCTAssertEqual(try create(#"{"input_file_id": "\#(id)", "endpoint": "/v1/embeddings", "completion_window": "24h"}"#).param, "endpoint")
        XCTAssertEqual(try create(#"{"input_file_id": "\#(id)", "endpoint": "/v1/chat/completions", "completion_window": "48h"}"#).param, "completion_window")
        XCTAssertEqual(try create(#"{\#(good), "metadata": {"k": 1}}"#).param, "metadata.k")
        let many = (0..<17).map { #""k\#($0)": "v""# }.joined(separator: ",")
        XCTAssertEqual(try create(#"{\#(good), "metadata": {\#(many)}}"#).param, "metadata")
        let missing = try create(#"{"input_file_id": "file-nope", "endpoint": "/v1/chat/completions", "completion_window": "24h"}"#)
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(g.store.jobs("local").count, 0, "no refused create made a job")

        let (status, batch) = try send(g, "POST", "/v1/batches", body: Array(#"{\#(good), "metadata": {"team": "a"}}"#.utf8))
        XCTAssertEqual(status, 200, "\(batch)")
        XCTAssertEqual(batch["status"], .string("validating"))
        XCTAssertEqual(batch["model"], .string("m"))
        XCTAssertEqual(batch["metadata"], .object([("team", .string("a"))]))
        XCTAssertEqual(batch["request_counts"]?["total"], .int(1))
        let batchID = try XCTUnwrap(batch["id"]?.stringValue)
        let job = try XCTUnwrap(g.store.job("local", try XCTUnwrap(OpenAIIDs.jobID(batchID: batchID))))
        XCTAssertEqual(job.state, JobState.validating)
        XCTAssertEqual(job.model, "m")
        XCTAssertEqual(job.maxJobDuration, "86400s")
        XCTAssertTrue(job.outputDatasetId.hasPrefix("accounts/local/datasets/file-"), job.outputDatasetId)
        // The batch's record is on disk, for the next start of the gateway.
        let records = OpenAIBatchRecords(directory: g.config.dataDir + "/openai/batches")
        XCTAssertEqual(records.record("local", job)?.metadata, batch["metadata"])
        XCTAssertEqual(records.record("local", job)?.total, 1)
    }

    func testInvalidInputFailsTheBatchWithLineNumbers() throws {
        let g = try makeGateway()
        let lines = [Self.row("a"), #"{"custom_id": "b""#, Self.row("c", "other"), Self.row("a"), #"{"custom_id":"e","body":{"messages":[{"role":"user","content":"x"}]}}"#]
        let id = try XCTUnwrap(try upload(g, lines.joined(separator: "\n")).1["id"]?.stringValue)
        let (status, batch) = try send(g, "POST", "/v1/batches",
                                       body: Array(#"{"input_file_id": "\#(id)", "endpoint": "/v1/chat/completions", "completion_window": "24h"}"#.utf8))
        XCTAssertEqual(status, 200)
        XCTAssertEqual(batch["status"], .string("failed"))
        XCTAssertNotNil(batch["failed_at"]?.int64Value)
        let errors = try XCTUnwrap(batch["errors"]?["data"]?.arrayValue)
        XCTAssertEqual(errors.map { $0["line"]?.int64Value ?? 0 }, [2, 3, 4, 5])
        XCTAssertEqual(errors.map { $0["code"]?.stringValue ?? "" }, ["invalid_json_line", "mismatched_model", "duplicate_custom_id", "missing_required_parameter"])
        XCTAssertEqual(errors[1]["param"], .string("body.model"))
        let job = try XCTUnwrap(g.store.jobs("local").first)
        XCTAssertEqual(job.state, JobState.failed)
        XCTAssertTrue(job.status.message.hasPrefix("Dataset has a syntax error: invalid row on rows.jsonl:2: invalid JSON"), job.status.message)
        XCTAssertEqual(job.outputDatasetId, "", "a batch that never ran has no output")
    }

    func testErrorsOfAJobFailedOutsideTheAPIComeFromItsStatus() {
        XCTAssertEqual(OpenAIValidation.lineAndReason(in: "Dataset has a syntax error: invalid row on in.jsonl:12: duplicate custom_id \"a\"")?.0, 12)
        XCTAssertEqual(OpenAIValidation.lineAndReason(in: "Dataset has a syntax error: invalid row on a:b.jsonl:3: missing body")?.1, "missing body")
        XCTAssertNil(OpenAIValidation.lineAndReason(in: "cannot read the input dataset: 10:30 boom"))
    }

    /// The scheduler ends a job before it marks the output dataset READY: a batch seen ended already shows
    /// its files. A cancelled batch's error file holds its failed rows and, as `batch_cancelled`, the rows it never ran.
    func testAnEndedBatchShowsItsFilesAndTheRowsItNeverRan() throws {
        let g = try makeGateway()
        let input = try XCTUnwrap(try upload(g, [Self.row("a"), Self.row("b"), Self.row("c")].joined(separator: "\n")).1["id"]?.stringValue)
        let created = try send(g, "POST", "/v1/batches",
                               body: Array(#"{"input_file_id": "\#(input)", "endpoint": "/v1/chat/completions", "completion_window": "24h"}"#.utf8)).1
        let batchID = try XCTUnwrap(created["id"]?.stringValue)
        let jobID = try XCTUnwrap(OpenAIIDs.jobID(batchID: batchID))
        let output = try XCTUnwrap(ResourceName(try XCTUnwrap(g.store.job("local", jobID)).outputDatasetId, kind: .dataset)).id
        // What the engine leaves: one result, one failure, one row not run.
        let files = g.store.datasetFilesDir("local", output)
        try (#"{"custom_id":"a","response":{"id":"chatcmpl-a","object":"chat.completion","choices":[]}}"# + "\n")
            .write(toFile: files + "/BIJOutputSet.jsonl", atomically: true, encoding: .utf8)
        try (#"{"custom_id":"b","error":{"code":400,"message":"bad request"}}"# + "\n").write(toFile: files + "/error-data", atomically: true, encoding: .utf8)
        try g.store.updateJob("local", jobID) { j in
            j.state = JobState.cancelled
            var p = JobProgress()
            p.totalInputRequests = 3
            p.successfullyProcessedRequests = 1
            p.failedRequests = 1
            j.jobProgress = p
            j.lifecycle = j.lifecycle ?? JobLifecycle()
            j.lifecycle?.endTime = Timestamp.now()
        }
        XCTAssertEqual(g.store.dataset("local", output)?.state, DatasetState.uploading)

        let batch = try send(g, "GET", "/v1/batches/\(batchID)").1
        XCTAssertEqual(batch["status"], .string("cancelled"))
        XCTAssertEqual(batch["output_file_id"], .string(output))
        XCTAssertEqual(batch["error_file_id"], .string(output + "_errors"))
        XCTAssertEqual(batch["request_counts"], .object([("total", .int(3)), ("completed", .int(1)), ("failed", .int(2))]))
        XCTAssertNotNil(batch["cancelled_at"]?.int64Value)

        func content(_ id: String) throws -> [JSONValue] {
            let response = g.handle(try HTTPRequest(method: "GET", target: "/v1/files/\(id)/content"))
            XCTAssertEqual(response.status.code, 200)
            guard case .file(let region) = response.body else { XCTFail("not a file"); return [] }
            var bytes = [UInt8](repeating: 0, count: region.length)
            XCTAssertEqual(pread(region.file.fileDescriptor, &bytes, region.length, off_t(region.offset)), region.length)
            return try String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { try JSONValue(parsing: String($0)) }
        }
        XCTAssertEqual(try content(output).map { $0["custom_id"] }, [.string("a")])
        let errors = try content(output + "_errors")
        XCTAssertEqual(errors.map { $0["custom_id"] }, [.string("b"), .string("c")])
        XCTAssertEqual(errors[0]["response"]?["status_code"], .int(400))
        XCTAssertEqual(errors[1]["response"], .null)
        XCTAssertEqual(errors[1]["error"]?["code"], .string("batch_cancelled"))
        let listed = try send(g, "GET", "/v1/files?purpose=batch_output").1["data"]?.arrayValue ?? []
        XCTAssertEqual(Set(listed.compactMap { $0["id"]?.stringValue }), [output, output + "_errors"])
        XCTAssertEqual(error(try send(g, "DELETE", "/v1/files/\(output)_errors")).status, 400, "the error file goes with its output")
        XCTAssertEqual(try send(g, "DELETE", "/v1/files/\(output)").1["deleted"], .bool(true))
        XCTAssertEqual(error(try send(g, "GET", "/v1/files/\(output)_errors")).status, 404)
    }

    // MARK: output lines

    func render(_ line: String, result: Bool = true) -> JSONValue? {
        var out: [UInt8] = []
        let ok = Array(line.utf8).withUnsafeBytes { bytes -> Bool in
            result ? OpenAIOutputLines.result(bytes, batchID: "batch_x", into: &out)
                   : OpenAIOutputLines.error(bytes, batchID: "batch_x", into: &out) != nil
        }
        guard ok, out.last == 0x0A, out.dropLast().allSatisfy({ $0 != 0x0A }) else { return nil }
        return try? JSONValue(parsing: Array(out.dropLast()))
    }

    func testResultLinesInOpenAIsShape() throws {
        // The engine's exact form takes the fast path; the same row written otherwise is parsed; both agree.
        var engine: [UInt8] = Array(#"{"custom_id":"#.utf8)
        JSONValue.writeString("a \"quoted\" \\ id", to: &engine)
        engine += Array(#","response":{"id":"chatcmpl-1","choices":[{"message":{"content":"}"}}]}}"#.utf8)
        let fast = try XCTUnwrap(render(String(decoding: engine, as: UTF8.self)))
        let slow = try XCTUnwrap(render(#"{ "response" : {"id":"chatcmpl-1","choices":[{"message":{"content":"}"}}]}, "custom_id": "a \"quoted\" \\ id" }"#))
        XCTAssertEqual(fast, slow)
        XCTAssertEqual(fast["custom_id"], .string("a \"quoted\" \\ id"))
        XCTAssertEqual(fast["response"]?["status_code"], .int(200))
        XCTAssertEqual(fast["response"]?["body"]?["id"], .string("chatcmpl-1"))
        XCTAssertEqual(fast["error"], .null)
        XCTAssertEqual(fast.objectValue?.map(\.0), ["id", "custom_id", "response", "error"])
        let id = try XCTUnwrap(fast["id"]?.stringValue)
        XCTAssertTrue(id.hasPrefix("batch_req_") && id.count == 42, id)
        XCTAssertNil(render(#"{"custom_id":"x"}"#), "a line without a response is not a result")
        XCTAssertNil(render(#"{"custom_id":"x","response":"#), "a torn line is skipped")
    }

    func testErrorLinesCarryTheStatusAndAnError() throws {
        let line = try XCTUnwrap(render(#"{"custom_id":"r1","error":{"code":429,"message":"slow down"}}"#, result: false))
        XCTAssertEqual(line["response"]?["status_code"], .int(429))
        XCTAssertEqual(line["response"]?["body"]?["error"]?["type"], .string("rate_limit_error"))
        XCTAssertEqual(line["error"], .object([("code", .string("rate_limit_exceeded")), ("message", .string("slow down"))]))
        let anonymous = try XCTUnwrap(render(#"{"custom_id":null,"error":{"code":400,"message":"line 3: invalid JSON"},"line":3}"#, result: false))
        XCTAssertEqual(anonymous["custom_id"], .null)
        XCTAssertEqual(anonymous["error"]?["code"], .string("invalid_request"))
        var out: [UInt8] = []
        OpenAIOutputLines.unfinished(customID: "r9", expired: true, batchID: "batch_x", into: &out)
        let unfinished = try JSONValue(parsing: Array(out.dropLast()))
        XCTAssertEqual(unfinished["response"], .null)
        XCTAssertEqual(unfinished["error"]?["code"], .string("batch_expired"))
        XCTAssertEqual(OpenAIOutputLines.ids(batchID: "batch_x", key: Array(#""r9""#.utf8)).id, unfinished["id"]?.stringValue,
                       "the same row keeps its id")
    }
}
