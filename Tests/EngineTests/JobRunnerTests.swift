// Tests of JobRunner with the echo backend: results, counters, resume after a crash, cancel, expiry, continuation.
import XCTest
import BatchJSONL
@testable import BatchEngine

final class JobRunnerTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory()
    }

    override func tearDown() {
        shutDownTestPools()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func spec(input: String, output: String = "out", parameters: JSONValue? = nil, systemPrompt: String? = nil,
              skip: CustomIDSet = [], deadline: Date? = nil) -> JobSpec {
        JobSpec(jobName: "accounts/a/batchInferenceJobs/test", model: "accounts/fireworks/models/echo",
                inferenceParameters: parameters, systemPrompt: systemPrompt, inputPath: directory + "/" + input,
                outputDirectory: directory + "/" + output, skipCustomIDs: skip, deadline: deadline)
    }

    var results: [JSONValue] { readJSONLines(directory + "/out/BIJOutputSet.jsonl") }
    var errors: [JSONValue] { readJSONLines(directory + "/out/error-data") }

    func testThreeRowsGiveThreeResultsAndCounters() throws {
        try writeLines(chatRows(3), to: directory + "/in.jsonl")
        var reports: [JobCounters] = []
        let outcome = JobRunner(spec: spec(input: "in.jsonl"), pool: pooled(EchoBackend()), options: fastOptions())
            .run { reports.append($0) }
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(customIDs(results).sorted(), ["row-1", "row-2", "row-3"])
        XCTAssertEqual(errors.count, 0)
        let response = results.first { $0["custom_id"] == .string("row-2") }?["response"]
        XCTAssertEqual(response?["choices"]?.arrayValue?.first?["message"]?["content"], .string("hello number 2"))
        XCTAssertEqual(response?["model"], .string("echo"), "the model map strips accounts/*/models/")
        let final = try XCTUnwrap(reports.last)
        XCTAssertEqual(final.totalInputRequests, 3)
        XCTAssertEqual(final.totalProcessedRequests, 3)
        XCTAssertEqual(final.successfullyProcessedRequests, 3)
        XCTAssertEqual(final.failedRequests, 0)
        XCTAssertEqual(final.outputRows, 3)
        XCTAssertEqual(final.inputTokens, 9, "three words a row")
        XCTAssertEqual(final.outputTokens, 9)
        XCTAssertEqual(final.cachedInputTokenCount, 0)
        XCTAssertEqual(final.percent, 100)
        XCTAssertEqual(reports.first?.totalInputRequests, 3, "the first report comes before any row ran")
        XCTAssertEqual(reports.first?.totalProcessedRequests, 0)
        for report in reports { XCTAssertEqual(report.successfullyProcessedRequests + report.failedRequests, report.totalProcessedRequests) }
    }

    func testParametersSystemPromptAndNReachTheBackend() throws {
        try writeLines(chatRows(2, text: { "a b c d e f \($0)" }) + [#"{"custom_id": "own", "body": {"messages": [{"role": "user", "content": "x y z"}], "max_tokens": 1, "n": 1}}"#],
                       to: directory + "/in.jsonl")
        let backend = RecordingBackend()
        let parameters = try JSONValue(parsing: #"{"maxTokens": 3, "n": 2, "extraBody": "{\"seed\": 42}"}"#)
        let outcome = JobRunner(spec: spec(input: "in.jsonl", parameters: parameters, systemPrompt: "You are terse."),
                                pool: pooled(backend), options: fastOptions()).run()
        XCTAssertEqual(outcome, .completed)
        let requests = backend.recorded
        XCTAssertEqual(requests.count, 3)
        for request in requests {
            XCTAssertEqual(request["model"], .string("echo"))
            XCTAssertEqual(request["seed"], .number("42"))
            XCTAssertEqual(request["messages"]?.arrayValue?.first?["content"], .string("You are terse."))
        }
        let row1 = try XCTUnwrap(results.first { $0["custom_id"] == .string("row-1") }?["response"])
        XCTAssertEqual(row1["choices"]?.arrayValue?.count, 2, "n=2 gives two choices")
        XCTAssertEqual(row1["choices"]?.arrayValue?.last?["message"]?["content"], .string("a b c"))
        XCTAssertEqual(row1["choices"]?.arrayValue?.last?["finish_reason"], .string("length"))
        let own = try XCTUnwrap(results.first { $0["custom_id"] == .string("own") }?["response"])
        XCTAssertEqual(own["choices"]?.arrayValue?.count, 1, "the row's own n wins")
        XCTAssertEqual(own["choices"]?.arrayValue?.first?["message"]?["content"], .string("x"))
    }

    func testBadRowsFailAloneAndAreNotRepeatedOnResume() throws {
        try writeLines([chatRows(1)[0], #"{"custom_id": "nobody"}"#, "not json", "", chatRows(1, from: 2)[0]], to: directory + "/in.jsonl")
        XCTAssertEqual(JobRunner(spec: spec(input: "in.jsonl"), pool: pooled(EchoBackend()), options: fastOptions()).run(), .completed)
        XCTAssertEqual(customIDs(results).sorted(), ["row-1", "row-2"])
        XCTAssertEqual(errors.count, 2)
        XCTAssertEqual(errors.first { $0["custom_id"] == .string("nobody") }?["error"]?["code"], .number("400"))
        let noID = try XCTUnwrap(errors.first { $0["custom_id"] == .null })
        XCTAssertEqual(noID["line"], .number("3"))
        XCTAssertEqual(noID["error"]?["message"]?.stringValue?.hasPrefix("line 3: invalid JSON"), true)

        // A second run over the same directory finds every row done, even the one without a custom_id.
        var final = JobCounters()
        XCTAssertEqual(JobRunner(spec: spec(input: "in.jsonl"), pool: pooled(EchoBackend()), options: fastOptions()).run { final = $0 }, .completed)
        XCTAssertEqual(results.count, 2)
        XCTAssertEqual(errors.count, 2)
        XCTAssertEqual(final.totalInputRequests, 4)
        XCTAssertEqual(final.successfullyProcessedRequests, 2)
        XCTAssertEqual(final.failedRequests, 2)
    }

    /// A crash leaves rows past the checkpoint and a torn line; resuming cuts them and runs those rows again.
    func testResumeAfterACrashWritesEveryRowExactlyOnce() throws {
        try writeLines(chatRows(5), to: directory + "/first.jsonl")
        XCTAssertEqual(JobRunner(spec: spec(input: "first.jsonl"), pool: pooled(EchoBackend()), options: fastOptions()).run(), .completed)
        let checkpoint = try String(contentsOfFile: directory + "/out/.batchctl-checkpoint.json", encoding: .utf8)
        XCTAssertTrue(checkpoint.contains(#""successfullyProcessedRequests":5"#), checkpoint)

        // What a kill -9 between a write and its checkpoint leaves: a whole row and a torn one.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: directory + "/out/BIJOutputSet.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"custom_id":"row-7","response":{"id":"x"}}"#.utf8 + [0x0A]))
        handle.write(Data(#"{"custom_id":"row-8","respo"#.utf8))
        handle.closeFile()
        let errorHandle = try XCTUnwrap(FileHandle(forWritingAtPath: directory + "/out/error-data"))
        errorHandle.write(Data(#"{"custom_id":"row-9","error":{"code":500,"#.utf8))
        errorHandle.closeFile()

        try writeLines(chatRows(10), to: directory + "/in.jsonl")
        let runner = JobRunner(spec: spec(input: "in.jsonl"), pool: pooled(EchoBackend()), options: fastOptions())
        var final = JobCounters()
        XCTAssertEqual(runner.run { final = $0 }, .completed)
        let ids = customIDs(results)
        XCTAssertEqual(ids.count, 10, "\(ids)")
        XCTAssertEqual(Set(ids), Set((1...10).map { "row-\($0)" }))
        XCTAssertEqual(errors.count, 0)
        XCTAssertEqual(final.successfullyProcessedRequests, 10)
        XCTAssertEqual(final.outputRows, 10)
        XCTAssertEqual(final.totalInputRequests, 10)
        XCTAssertNotEqual(results.first { $0["custom_id"] == .string("row-7") }?["response"]?["id"], .string("x"),
                          "the uncheckpointed row-7 was cut and run again")
        XCTAssertEqual(try checkpointedCounters(inOutputDirectory: directory + "/out")?.successfullyProcessedRequests, 10)
        XCTAssertNil(try checkpointedCounters(inOutputDirectory: directory + "/nowhere"))
    }

    func testDamagedCheckpointFailsTheJobWithoutTouchingTheFiles() throws {
        try writeLines(chatRows(2), to: directory + "/in.jsonl")
        try FileManager.default.createDirectory(atPath: directory + "/out", withIntermediateDirectories: true)
        try "{\"version\":1,".write(toFile: directory + "/out/.batchctl-checkpoint.json", atomically: true, encoding: .utf8)
        let outcome = JobRunner(spec: spec(input: "in.jsonl"), pool: pooled(EchoBackend()), options: fastOptions()).run()
        guard case let .failed(message) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(message.contains("damaged checkpoint"), message)
        XCTAssertEqual(results.count, 0)
    }

    func testMissingInputFails() {
        let outcome = JobRunner(spec: spec(input: "absent.jsonl"), pool: pooled(EchoBackend()), options: fastOptions()).run()
        guard case let .failed(message) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(message.contains("absent.jsonl"), message)
    }

    /// Stopped halfway, a job keeps exactly the rows it finished; a new runner finishes the rest.
    func testCancelKeepsFinishedRowsAndResumeFinishesTheJob() throws {
        try writeLines(chatRows(300), to: directory + "/in.jsonl")
        let runner = JobRunner(spec: spec(input: "in.jsonl"), pool: pooled(SlowEchoBackend(delay: 0.01)), options: fastOptions())
        var final = JobCounters()
        // Cancel as soon as some rows are durable: the whole job needs at least 300 x 10 ms / 8 workers.
        XCTAssertEqual(runner.run { final = $0; if $0.totalProcessedRequests > 0 { runner.cancel() } }, .cancelled)
        let done = customIDs(results)
        XCTAssertGreaterThan(done.count, 0)
        XCTAssertLessThan(done.count, 300)
        XCTAssertEqual(Set(done).count, done.count)
        XCTAssertEqual(final.successfullyProcessedRequests, done.count, "counters match the file")
        XCTAssertEqual(final.totalInputRequests, 300)
        XCTAssertEqual(errors.count, 0, "stopped rows are unfinished, not failed")

        XCTAssertEqual(JobRunner(spec: spec(input: "in.jsonl"), pool: pooled(EchoBackend()), options: fastOptions()).run(), .completed)
        XCTAssertEqual(customIDs(results).count, 300)
        XCTAssertEqual(Set(customIDs(results)).count, 300)
    }

    func testCancelBeforeRun() throws {
        try writeLines(chatRows(3), to: directory + "/in.jsonl")
        let runner = JobRunner(spec: spec(input: "in.jsonl"), pool: pooled(EchoBackend()), options: fastOptions())
        runner.cancel()
        XCTAssertEqual(runner.run(), .cancelled)
        XCTAssertEqual(results.count, 0)
    }

    func testDeadlineExpiresTheJobAndKeepsFinishedRows() throws {
        try writeLines(chatRows(400), to: directory + "/in.jsonl")
        let started = Date()
        // The whole job needs at least 400 x 20 ms / 8 workers = 1 s; the deadline cuts it at 0.4 s.
        let runner = JobRunner(spec: spec(input: "in.jsonl", deadline: Date(timeIntervalSinceNow: 0.4)),
                               pool: pooled(SlowEchoBackend(delay: 0.02)), options: fastOptions())
        var final = JobCounters()
        XCTAssertEqual(runner.run { final = $0 }, .expired)
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
        let done = customIDs(results)
        XCTAssertGreaterThan(done.count, 0)
        XCTAssertLessThan(done.count, 400)
        XCTAssertEqual(final.totalProcessedRequests, done.count)
        XCTAssertEqual(errors.count, 0)

        let past = JobRunner(spec: spec(input: "in.jsonl", deadline: Date(timeIntervalSinceNow: -1)), pool: pooled(EchoBackend()), options: fastOptions())
        XCTAssertEqual(past.run(), .expired)
        XCTAssertEqual(customIDs(results).count, done.count, "nothing is dispatched after the deadline")
    }

    func testContinuationSkipsRowsThatSucceededEarlierInTheChain() throws {
        try writeLines(chatRows(4), to: directory + "/in-a.jsonl")
        XCTAssertEqual(JobRunner(spec: spec(input: "in-a.jsonl", output: "job-a"), pool: pooled(EchoBackend()), options: fastOptions()).run(), .completed)
        try writeLines(chatRows(2, from: 5) + [#"{"custom_id": "row-7", "body": {"messages": []}, "x": 1}"#], to: directory + "/in-b.jsonl")
        XCTAssertEqual(JobRunner(spec: spec(input: "in-b.jsonl", output: "job-b"), pool: pooled(EchoBackend()), options: fastOptions()).run(), .completed)
        // A failed row of the chain is not a success: it runs again.
        try """
        {"custom_id":"row-8","error":{"code":500,"message":"boom"}}

        """.write(toFile: directory + "/job-b/error-data", atomically: false, encoding: .utf8)

        let skip = try succeededCustomIDs(inOutputDirectories: [directory + "/job-a", directory + "/job-b", directory + "/absent"])
        XCTAssertEqual(skip.count, 7)
        try writeLines(chatRows(10), to: directory + "/in.jsonl")
        var final = JobCounters()
        XCTAssertEqual(JobRunner(spec: spec(input: "in.jsonl", output: "out", skip: skip), pool: pooled(EchoBackend()), options: fastOptions()).run { final = $0 }, .completed)
        XCTAssertEqual(customIDs(results).sorted(), ["row-10", "row-8", "row-9"])
        XCTAssertEqual(final.totalInputRequests, 3)
        XCTAssertEqual(final.successfullyProcessedRequests, 3)
        XCTAssertEqual(final.percent, 100)
    }

    func testContinuationHelperReadsOnlyUpToTheCheckpoint() throws {
        try writeLines(chatRows(2), to: directory + "/in.jsonl")
        XCTAssertEqual(JobRunner(spec: spec(input: "in.jsonl"), pool: pooled(EchoBackend()), options: fastOptions()).run(), .completed)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: directory + "/out/BIJOutputSet.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"custom_id":"row-3","response":{}}"#.utf8 + [0x0A]))
        handle.closeFile()
        let ids = try succeededCustomIDs(inOutputDirectories: [directory + "/out"])
        XCTAssertEqual(ids.count, 2)
        XCTAssertFalse(ids.contains("row-3"))
    }

    func testEmptyInputCompletes() throws {
        try "\n\n".write(toFile: directory + "/in.jsonl", atomically: true, encoding: .utf8)
        var final = JobCounters()
        XCTAssertEqual(JobRunner(spec: spec(input: "in.jsonl"), pool: pooled(EchoBackend()), options: fastOptions()).run { final = $0 }, .completed)
        XCTAssertEqual(final.totalInputRequests, 0)
        XCTAssertEqual(final.percent, 100)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/out/BIJOutputSet.jsonl"))
    }

    func testRowsAreStreamedThroughABoundedWindow() throws {
        try writeLines(chatRows(2_000), to: directory + "/in.jsonl")
        final class Peak: InferenceBackend, @unchecked Sendable {
            let lock = NSLock(); var current = 0; var peak = 0
            func complete(_ request: [UInt8]) -> InferenceResult {
                lock.lock(); current += 1; peak = max(peak, current); lock.unlock()
                defer { lock.lock(); current -= 1; lock.unlock() }
                return EchoBackend().complete(request)
            }
        }
        let backend = Peak()
        var options = fastOptions()
        options.window = 16
        XCTAssertEqual(JobRunner(spec: spec(input: "in.jsonl"), pool: pooled(backend), options: options).run(), .completed)
        XCTAssertEqual(Set(customIDs(results)).count, 2_000)
        XCTAssertLessThanOrEqual(backend.peak, 8, "never more requests in flight than the pool's concurrency")
    }

    /// A commit whose checkpoint cannot be written (a full disk, here a directory in its way) takes back the
    /// rows it appended: the files never hold rows the checkpoint does not count, even before a first checkpoint.
    func testAFailedCommitLeavesNoRowPastTheCheckpoint() throws {
        try writeLines(chatRows(50), to: directory + "/in.jsonl")
        let blocker = directory + "/out/" + OutputFiles.checkpoint
        var first = true
        let outcome = JobRunner(spec: spec(input: "in.jsonl"), pool: pooled(EchoBackend()), options: fastOptions()).run { _ in
            // Once the output directory is recovered, before any row: the checkpoint's place is taken.
            if first { first = false; try? FileManager.default.createDirectory(atPath: blocker + "/in-the-way", withIntermediateDirectories: true) }
        }
        guard case let .failed(message) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(message.contains("writing results"), message)
        let size = (try FileManager.default.attributesOfItem(atPath: directory + "/out/BIJOutputSet.jsonl")[.size] as? Int) ?? -1
        XCTAssertEqual(size, 0, "the rows of the failed commit were cut back off")
    }
}
