// Tests of OpenAICompatibleBackend and the runner against real HTTP servers: nginx, and a faulty Python server.
import XCTest
import BatchHTTP
import BatchJSONL
@testable import BatchEngine

final class HTTPBackendTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("http")
    }

    override func tearDown() {
        shutDownTestPools()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var results: [JSONValue] { readJSONLines(directory + "/out/BIJOutputSet.jsonl") }
    var errors: [JSONValue] { readJSONLines(directory + "/out/error-data") }

    /// Runs `rows` on `backend` alone. `circuit` false keeps the endpoint in however many failures come in a row,
    /// for tests that count every attempt of rows that fail on purpose.
    func run(_ rows: [String], backend: InferenceBackend, options: RunnerOptions = fastOptions(), systemPrompt: String? = nil,
             parameters: JSONValue? = nil, circuit: Bool = true, concurrency: Int = 8, poolOptions: PoolOptions = quickPoolOptions(),
             deadline: Date? = nil) throws -> (JobOutcome, JobCounters) {
        try writeLines(rows, to: directory + "/in.jsonl")
        let spec = JobSpec(jobName: "accounts/a/batchInferenceJobs/http", model: "accounts/fireworks/models/llama-v3p1-8b-instruct",
                           inferenceParameters: parameters, systemPrompt: systemPrompt, inputPath: directory + "/in.jsonl",
                           outputDirectory: directory + "/out", deadline: deadline)
        var pool = poolOptions
        if !circuit { pool.failureThreshold = Int.max }
        var final = JobCounters()
        let outcome = JobRunner(spec: spec, pool: pooled(backend, concurrency: concurrency, options: pool), options: options).run { final = $0 }
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
        let (outcome, counters) = try run(rows, backend: backend, circuit: false)
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
        let (outcome, counters) = try run(rows, backend: backend, options: fastOptions(attempts: 3), circuit: false)
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

    /// Nothing listens: the endpoint is taken out after a few refused connections and the rows wait (here until
    /// the job's deadline) instead of failing. The old engine put all of them in error-data with 503.
    func testUnreachableBackendMakesTheJobWaitInsteadOfFailingRows() throws {
        let backend = try OpenAICompatibleBackend(baseURL: "http://127.0.0.1:\(freePort())/v1", requestTimeout: 1, maxConnections: 4)
        var poolOptions = PoolOptions()
        poolOptions.quietPeriod = 0.02  // the tests retry after 10 to 50 ms, not 0.5 s
        poolOptions.probeInitialDelay = 0.05
        let (outcome, counters) = try run(chatRows(30), backend: backend, options: fastOptions(attempts: 2), poolOptions: poolOptions,
                                          deadline: Date(timeIntervalSinceNow: 1.5))
        XCTAssertEqual(outcome, .expired)
        XCTAssertEqual(errors.count, 0, errors.prefix(2).map(\.compactText).joined())
        XCTAssertEqual(counters.failedRequests, 0)
        XCTAssertFalse(backend.probe())
    }

    /// The circuit opens on refused connections and closes once the server is back on the same port; every
    /// row ends in the results.
    func testAServerThatComesBackFinishesTheJob() throws {
        let port = freePort()
        let backend = try OpenAICompatibleBackend(baseURL: "http://127.0.0.1:\(port)/v1", requestTimeout: 2, maxConnections: 4)
        var poolOptions = PoolOptions()
        poolOptions.quietPeriod = 0.02  // the tests retry after 10 to 50 ms, not 0.5 s
        poolOptions.probeInitialDelay = 0.05
        poolOptions.probeMaxDelay = 0.2
        let directory = self.directory
        // The server starts a second after the job.
        final class Box: @unchecked Sendable { var server: ServerProcess? }
        let box = Box()
        let starter = Thread { Thread.sleep(forTimeInterval: 1); box.server = try? startFaultServer(in: directory, port: port) }
        starter.start()
        defer { box.server?.stop() }
        let (outcome, counters) = try run(chatRows(40) { "slow-5-\($0)" }, backend: backend, options: fastOptions(attempts: 2),
                                          concurrency: 4, poolOptions: poolOptions)
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(errors.count, 0, errors.prefix(2).map(\.compactText).joined())
        XCTAssertEqual(counters.successfullyProcessedRequests, 40)
        XCTAssertNotNil(box.server, "the fault server started")
    }

    /// `Retry-After` as an HTTP date is honoured like a number of seconds.
    func testRetryAfterAsAnHTTPDate() throws {
        let server = try startFaultServer(in: directory)
        defer { server.stop() }
        let backend = try OpenAICompatibleBackend(baseURL: server.baseURL, requestTimeout: 5, maxConnections: 2)
        let (outcome, _) = try run(chatRows(1) { "datelimited-\($0)" }, backend: backend)
        XCTAssertEqual(outcome, .completed)
        let times = try XCTUnwrap(try faultServerStats(server)["datelimited-1"])
        XCTAssertEqual(times.count, 2)
        // The date has one-second resolution: three seconds ahead is at least two.
        XCTAssertGreaterThanOrEqual(times[1] - times[0], 1.95)
    }

    /// Rows waiting for a retry leave their place in the window: with four rows throttled for two seconds or more
    /// and a window of four, the other rows run during the wait (the old engine ran nothing until it ended).
    func testRowsWaitingForARetryLeaveTheWindowToOthers() throws {
        let server = try startFaultServer(in: directory)
        defer { server.stop() }
        let backend = try OpenAICompatibleBackend(baseURL: server.baseURL, requestTimeout: 5, maxConnections: 4)
        var options = fastOptions()
        options.window = 4
        let rows = chatRows(4) { "datelimited-\($0)" } + chatRows(60, from: 5) { "ok-\($0)" }
        let (outcome, counters) = try run(rows, backend: backend, options: options, concurrency: 4)
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(counters.successfullyProcessedRequests, 64)
        let stats = try faultServerStats(server)
        let retries = (1...4).compactMap { stats["datelimited-\($0)"]?.last }
        let others = (5...64).compactMap { stats["ok-\($0)"]?.first }
        XCTAssertEqual(retries.count, 4)
        XCTAssertEqual(others.count, 60)
        XCTAssertLessThan(others.max() ?? .infinity, retries.min() ?? 0, "every other row was sent before the throttled rows came back")
    }

    /// `--max-response-bytes`: a larger answer fails its row at once with a message that says so.
    func testAnAnswerOverTheLimitFailsItsRowWithoutRetries() throws {
        let server = try startFaultServer(in: directory)
        defer { server.stop() }
        let backend = try OpenAICompatibleBackend(baseURL: server.baseURL, requestTimeout: 5, maxConnections: 2, maxResponseBytes: 64 << 10)
        let (outcome, counters) = try run(chatRows(1) { "big-200-\($0)" } + chatRows(1, from: 2) { "big-16-\($0)" }, backend: backend)
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(counters.failedRequests, 1)
        XCTAssertEqual(customIDs(results), ["row-2"])
        let error = try XCTUnwrap(errors.first)
        XCTAssertEqual(error["custom_id"], .string("row-1"))
        XCTAssertEqual(error["error"]?["code"], .number("502"))
        XCTAssertEqual(error["error"]?["message"]?.stringValue?.contains("--max-response-bytes (64 KiB)"), true, error.compactText)
        XCTAssertEqual(try faultServerStats(server)["big-200-1"]?.count, 1, "not retried")
    }

    /// Sixteen 512 KiB answers at a time against a budget of 2 MiB: the bytes held never pass the budget (the
    /// answers announce their length), and every row still succeeds.
    func testAnswerBytesHeldAtOnceStayWithinTheBudget() throws {
        let server = try startFaultServer(in: directory)
        defer { server.stop() }
        let backend = try OpenAICompatibleBackend(baseURL: server.baseURL, requestTimeout: 20, maxConnections: 16)
        try writeLines(chatRows(32) { "big-512-\($0)" }, to: directory + "/in.jsonl")
        var poolOptions = PoolOptions()
        poolOptions.quietPeriod = 0.02  // the tests retry after 10 to 50 ms, not 0.5 s
        poolOptions.maxHeldResponseBytes = 2 << 20
        let pool = pooled(backend, concurrency: 16, options: poolOptions)
        let spec = JobSpec(jobName: "big", model: "m", inputPath: directory + "/in.jsonl", outputDirectory: directory + "/out")
        final class Peak: @unchecked Sendable { var value = 0; var stop = false }
        let peak = Peak()
        let sampler = Thread {
            while !peak.stop { peak.value = max(peak.value, pool.budget.heldBytes); usleep(200) }
        }
        sampler.start()
        let outcome = JobRunner(spec: spec, pool: pool, options: fastOptions()).run()
        peak.stop = true
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(results.count, 32)
        XCTAssertGreaterThan(peak.value, 512 << 10, "answers were accounted")
        XCTAssertLessThanOrEqual(peak.value, 2 << 20, "held \(peak.value) bytes")
        XCTAssertEqual(pool.budget.heldBytes, 0, "everything is given back once written")
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

    /// llama.cpp's `/props` `total_slots`, read from beside `/v1`: an adaptive endpoint starts there, so a
    /// server that answers 503 beyond its slots rejects few requests from the first one on.
    func testTheSlotCountOfPropsStartsTheLimit() throws {
        let server = try startFaultServer(in: directory, slots: 3)
        defer { server.stop() }
        let backend = try OpenAICompatibleBackend(baseURL: server.baseURL, requestTimeout: 5, maxConnections: 16)
        XCTAssertEqual(backend.reportedSlots(), 3)
        let plain = try startFaultServer(in: directory)
        defer { plain.stop() }
        XCTAssertNil(try OpenAICompatibleBackend(baseURL: plain.baseURL, requestTimeout: 5).reportedSlots(), "a 404 says nothing")

        let pool = InferencePool(endpoints: [InferenceEndpoint(name: "slots", backend: backend, concurrency: 16)], options: quickPoolOptions())
        defer { pool.shutdown() }
        try writeLines(chatRows(120) { "slow-20-\($0)" }, to: directory + "/in.jsonl")
        let spec = JobSpec(jobName: "props", model: "m", inputPath: directory + "/in.jsonl", outputDirectory: directory + "/out")
        XCTAssertTrue(eventually { pool.status()[0].health != .starting })
        XCTAssertEqual(pool.status()[0].limit, 3)
        XCTAssertEqual(pool.status()[0].reportedSlots, 3)
        XCTAssertEqual(JobRunner(spec: spec, pool: pool, options: fastOptions(attempts: 8)).run(), .completed)
        XCTAssertEqual(results.count, 120)
        let client = HTTPClient(configuration: HTTPClientConfiguration(userAgent: "tests", stallTimeout: 10))
        let rejected = try JSONValue(parsing: try client.send(HTTPClientRequest(.get, "http://127.0.0.1:\(server.port)/rejected")).body)["rejected"]?.int64Value
        // Starting at the ceiling of 16, the first burst alone would be 13 rejections.
        XCTAssertLessThan(try XCTUnwrap(rejected), 13, "rejected \(rejected ?? -1) of 120 rows' requests")
    }

    func testBaseURLs() {
        for url in ["ftp://x", "not a url", "http:///v1", "http://h:99999/v1", "http://h/v1?x=1"] {
            XCTAssertThrowsError(try OpenAICompatibleBackend(baseURL: url), url)
        }
        XCTAssertNoThrow(try OpenAICompatibleBackend(baseURL: "https://api.fireworks.ai/inference/v1"))
        XCTAssertNoThrow(try OpenAICompatibleBackend(baseURL: "http://localhost:11434/v1/"))
    }
}
