// Tests of OpenAICompatibleBackend and the runner against real HTTP servers: nginx, and a faulty Python server.
import XCTest
import BatchJSONL
@testable import BatchEngine

final class HTTPBackendTests: XCTestCase {
    var directory = ""
    var pool: InferencePool!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("http")
        pool = InferencePool(concurrency: 8)
    }

    override func tearDown() {
        pool.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var results: [JSONValue] { readJSONLines(directory + "/out/BIJOutputSet.jsonl") }
    var errors: [JSONValue] { readJSONLines(directory + "/out/error-data") }

    func run(_ rows: [String], backend: InferenceBackend, options: RunnerOptions = fastOptions(), systemPrompt: String? = nil,
             parameters: JSONValue? = nil) throws -> (JobOutcome, JobCounters) {
        try writeLines(rows, to: directory + "/in.jsonl")
        let spec = JobSpec(jobName: "accounts/a/batchInferenceJobs/http", model: "accounts/fireworks/models/llama-v3p1-8b-instruct",
                           inferenceParameters: parameters, systemPrompt: systemPrompt, inputPath: directory + "/in.jsonl",
                           outputDirectory: directory + "/out")
        var final = JobCounters()
        let outcome = JobRunner(spec: spec, backend: backend, pool: pool, options: options).run { final = $0 }
        return (outcome, final)
    }

    func testNginxHappyPathStoresResponsesAsReceived() throws {
        let nginx = try startNginx(in: directory)
        defer { nginx.stop() }
        let backend = try OpenAICompatibleBackend(baseURL: nginx.baseURL, requestTimeout: 5, maxConnections: 8)
        let (outcome, counters) = try run(chatRows(500), backend: backend)
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(Set(customIDs(results)).count, 500)
        XCTAssertEqual(results.count, 500)
        let raw = try String(contentsOfFile: directory + "/out/BIJOutputSet.jsonl", encoding: .utf8)
        XCTAssertTrue(raw.contains(#"{"custom_id":"row-17","response":"# + fixedCompletion + "}\n"), "the response is stored byte for byte")
        XCTAssertEqual(counters.successfullyProcessedRequests, 500)
        XCTAssertEqual(counters.inputTokens, 2_500)
        XCTAssertEqual(counters.outputTokens, 3_500)
        XCTAssertEqual(counters.cachedInputTokenCount, 1_000)
        XCTAssertEqual(counters.failedRequests, 0)
    }

    func testRetryableFaultsAreRetriedUntilTheySucceed() throws {
        let server = try startFaultServer(in: directory)
        defer { server.stop() }
        let backend = try OpenAICompatibleBackend(baseURL: server.baseURL, requestTimeout: 0.5, maxConnections: 8)
        let kinds = ["ok", "flaky", "limited", "stall", "chunked", "close", "pretty"]
        let rows = chatRows(kinds.count * 3) { i in "\(kinds[(i - 1) % kinds.count])-\(i)" }
        let (outcome, counters) = try run(rows, backend: backend)
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(errors.map(\.compactText), [])
        XCTAssertEqual(Set(customIDs(results)).count, rows.count)
        XCTAssertEqual(counters.successfullyProcessedRequests, rows.count)
        XCTAssertEqual(counters.inputTokens, 3 * rows.count)
        XCTAssertEqual(counters.cachedInputTokenCount, rows.count)

        let stats = try faultServerStats(server)
        for (message, times) in stats {
            let expected = ["flaky": 3, "limited": 2, "stall": 2][String(message.split(separator: "-")[0])] ?? 1
            XCTAssertEqual(times.count, expected, "attempts for \(message)")
            if message.hasPrefix("limited"), times.count == 2 {
                XCTAssertGreaterThanOrEqual(times[1] - times[0], 0.95, "Retry-After: 1 is honoured")
            }
        }
        XCTAssertEqual(stats.count, rows.count)
        let pretty = try XCTUnwrap(results.first { $0["custom_id"] == .string("row-7") })
        XCTAssertEqual(pretty["response"]?["id"], .string("chatcmpl-pretty-7"), "a multi-line response is kept on one line")
        let chunked = try XCTUnwrap(results.first { $0["custom_id"] == .string("row-5") })
        XCTAssertEqual(chunked["response"]?["id"], .string("chatcmpl-chunked-5"))
    }

    func testPermanentFailuresLandInErrorData() throws {
        let server = try startFaultServer(in: directory)
        defer { server.stop() }
        let backend = try OpenAICompatibleBackend(baseURL: server.baseURL, requestTimeout: 2, maxConnections: 8)
        let kinds = ["ok", "bad", "down"]
        let rows = chatRows(9) { i in "\(kinds[(i - 1) % 3])-\(i)" } + chatRows(2, from: 10) { i in ["garbage", "notjson"][i - 10] + "-\(i)" }
        let (outcome, counters) = try run(rows, backend: backend, options: fastOptions(attempts: 3))
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(customIDs(results).sorted(), ["row-1", "row-4", "row-7"])
        XCTAssertEqual(customIDs(errors).sorted(), ["row-10", "row-11", "row-2", "row-3", "row-5", "row-6", "row-8", "row-9"])
        let garbage = try XCTUnwrap(errors.first { $0["custom_id"] == .string("row-10") })
        XCTAssertEqual(garbage["error"]?["code"], .number("502"))
        XCTAssertEqual(garbage["error"]?["message"]?.stringValue?.contains("malformed status line"), true, garbage.compactText)
        let notJSON = try XCTUnwrap(errors.first { $0["custom_id"] == .string("row-11") })
        XCTAssertEqual(notJSON["error"]?["code"], .number("502"))
        let bad = try XCTUnwrap(errors.first { $0["custom_id"] == .string("row-5") })
        XCTAssertEqual(bad["error"]?["code"], .number("400"))
        XCTAssertEqual(bad["error"]?["message"], .string("bad request: bad-5"))
        let down = try XCTUnwrap(errors.first { $0["custom_id"] == .string("row-6") })
        XCTAssertEqual(down["error"]?["code"], .number("503"))
        XCTAssertEqual(down["error"]?["message"], .string("model is loading"))
        XCTAssertEqual(counters.successfullyProcessedRequests, 3)
        XCTAssertEqual(counters.failedRequests, 8)
        XCTAssertEqual(counters.totalProcessedRequests, 11)
        XCTAssertEqual(counters.outputRows, 3)
        let stats = try faultServerStats(server)
        XCTAssertEqual(stats["bad-5"]?.count, 1, "a 400 is not retried")
        XCTAssertEqual(stats["down-6"]?.count, 3, "a 503 is retried up to maxAttempts")
        XCTAssertEqual(stats["notjson-11"]?.count, 3, "a 200 that is not JSON is retried too")
    }

    func testRequestCarriesKeyMappedModelSystemPromptAndParameters() throws {
        let server = try startFaultServer(in: directory)
        defer { server.stop() }
        let backend = try OpenAICompatibleBackend(baseURL: server.baseURL + "/", apiKey: "sk-test", requestTimeout: 2, maxConnections: 2)
        var options = fastOptions()
        options.modelMap = try ModelMap(rules: ["llama-v3p1-8b-instruct=meta-llama/Llama-3.1-8B-Instruct"])
        let (outcome, _) = try run(chatRows(1) { _ in "whoami-1" }, backend: backend, options: options, systemPrompt: "Be brief.",
                                   parameters: .object([("maxTokens", .int(33))]))
        XCTAssertEqual(outcome, .completed)
        let content = try XCTUnwrap(results.first?["response"]?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue)
        let seen = try JSONValue(parsing: content)
        XCTAssertEqual(seen["auth"], .string("Bearer sk-test"))
        XCTAssertEqual(seen["model"], .string("meta-llama/Llama-3.1-8B-Instruct"))
        XCTAssertEqual(seen["max_tokens"], .number("33"))
        XCTAssertEqual(seen["first_role"], .string("system"))
    }

    func testUnreachableBackendFailsRowsWith503() throws {
        let backend = try OpenAICompatibleBackend(baseURL: "http://127.0.0.1:\(freePort())/v1", requestTimeout: 1, maxConnections: 4)
        let (outcome, counters) = try run(chatRows(3), backend: backend, options: fastOptions(attempts: 2))
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(errors.count, 3)
        XCTAssertEqual(errors.first?["error"]?["code"], .number("503"))
        XCTAssertEqual(errors.first?["error"]?["message"]?.stringValue?.contains("Connection refused"), true)
        XCTAssertEqual(counters.failedRequests, 3)
    }

    /// The server drops idle keep-alive connections; the next request must go out on a fresh one, not fail.
    func testConnectionsClosedWhileIdleAreReplaced() throws {
        let server = try startFaultServer(in: directory)
        defer { server.stop() }
        let backend = try OpenAICompatibleBackend(baseURL: server.baseURL, requestTimeout: 2, maxConnections: 1)
        let request = Array(#"{"model": "m", "messages": [{"role": "user", "content": "ok-1"}]}"#.utf8)
        for pause in [0.0, 0.6, 1.3] {
            Thread.sleep(forTimeInterval: pause)
            guard case let .success(body) = backend.complete(request) else { return XCTFail("request after \(pause) s idle failed") }
            XCTAssertEqual(try JSONValue(parsing: body)["id"], .string("chatcmpl-ok-1"))
        }
        XCTAssertEqual(try faultServerStats(server)["ok-1"]?.count, 3, "each request reached the server exactly once")
    }

    /// `https://` goes through libcurl; forced onto plain HTTP here, the same faults must give the same files.
    func testLibcurlTransportRetriesAndReportsLikeTheSocketClient() throws {
        let server = try startFaultServer(in: directory)
        defer { server.stop() }
        let backend = try OpenAICompatibleBackend(baseURL: server.baseURL, apiKey: "sk-session", requestTimeout: 2, maxConnections: 4,
                                                  forceLibcurl: true)
        let kinds = ["ok", "flaky", "bad", "chunked", "whoami"]
        let rows = chatRows(kinds.count) { i in "\(kinds[i - 1])-\(i)" }
        let (outcome, counters) = try run(rows, backend: backend)
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(customIDs(results).sorted(), ["row-1", "row-2", "row-4", "row-5"])
        XCTAssertEqual(errors.first?["error"]?["code"], .number("400"))
        XCTAssertEqual(errors.first?["error"]?["message"], .string("bad request: bad-3"))
        XCTAssertEqual(counters.failedRequests, 1)
        XCTAssertEqual(try faultServerStats(server)["flaky-2"]?.count, 3)
        let content = try XCTUnwrap(results.first { $0["custom_id"] == .string("row-5") }?["response"]?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue)
        XCTAssertEqual(try JSONValue(parsing: content)["auth"], .string("Bearer sk-session"))
    }

    func testBaseURLs() {
        for url in ["ftp://x", "not a url", "http:///v1", "http://h:99999/v1", "http://h/v1?x=1"] {
            XCTAssertThrowsError(try OpenAICompatibleBackend(baseURL: url), url)
        }
        XCTAssertNoThrow(try OpenAICompatibleBackend(baseURL: "https://api.fireworks.ai/inference/v1"))
        XCTAssertNoThrow(try OpenAICompatibleBackend(baseURL: "http://localhost:11434/v1/"))
    }
}
