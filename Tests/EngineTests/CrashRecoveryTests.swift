// kill -9 of a process running a job, at random points, again and again: no row is lost or written twice.
import XCTest
import BatchJSONL
@testable import BatchEngine

private let crashDirectoryVariable = "BATCHCTL_ENGINE_CRASH_DIR"
private let crashRows = 4_000

final class CrashRecoveryTests: XCTestCase {
    func testKillNineAtRandomPointsThenResumeWritesEveryRowExactlyOnce() throws {
        // The test binary runs itself, filtered to the child below, and kills it.
        let executable = ProcessInfo.processInfo.arguments[0]
        guard executable.hasSuffix(".xctest") || executable.contains("PackageTests"), FileManager.default.isExecutableFile(atPath: executable) else {
            throw XCTSkip("cannot re-run the test binary from \(executable)")
        }
        let directory = try makeTemporaryDirectory("crash")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try writeLines(chatRows(crashRows), to: directory + "/in.jsonl")

        var progressSeen: [Int] = []
        for round in 0..<6 {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: executable)
            child.arguments = ["EngineTests.CrashRecoveryChild/testRunJobUntilKilled"]
            child.environment = ProcessInfo.processInfo.environment.merging([crashDirectoryVariable: directory]) { $1 }
            child.standardOutput = FileHandle.nullDevice
            child.standardError = FileHandle.nullDevice
            try child.run()
            // Wait until the child has begun writing, then kill it at a random point of its work.
            let until = Date(timeIntervalSinceNow: 10)
            let before = (try? FileManager.default.attributesOfItem(atPath: directory + "/out/.batchctl-checkpoint.json")[.modificationDate] as? Date) ?? nil
            while Date() < until, child.isRunning {
                let now = (try? FileManager.default.attributesOfItem(atPath: directory + "/out/.batchctl-checkpoint.json")[.modificationDate] as? Date) ?? nil
                if now != nil && now != before { break }
                Thread.sleep(forTimeInterval: 0.01)
            }
            Thread.sleep(forTimeInterval: Double.random(in: 0.0...0.3))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            XCTAssertEqual(child.terminationReason, .uncaughtSignal, "round \(round): the child finished before it was killed")
            progressSeen.append(readJSONLines(directory + "/out/BIJOutputSet.jsonl").count)
        }
        XCTAssertGreaterThan(progressSeen.last ?? 0, 0, "the killed runs made progress: \(progressSeen)")
        XCTAssertLessThan(progressSeen.last ?? crashRows, crashRows, "the killed runs did not finish the job: \(progressSeen)")

        let pool = InferencePool(concurrency: 8)
        defer { pool.shutdown() }
        let spec = JobSpec(jobName: "crash", model: "echo", inputPath: directory + "/in.jsonl", outputDirectory: directory + "/out")
        var final = JobCounters()
        XCTAssertEqual(JobRunner(spec: spec, pool: pool, options: fastOptions()).run { final = $0 }, .completed)
        let ids = customIDs(readJSONLines(directory + "/out/BIJOutputSet.jsonl"))
        XCTAssertEqual(ids.count, crashRows, "every row exactly once (progress after each kill: \(progressSeen))")
        XCTAssertEqual(Set(ids).count, crashRows)
        XCTAssertEqual(readJSONLines(directory + "/out/error-data").count, 0)
        XCTAssertEqual(final.successfullyProcessedRequests, crashRows, "the checkpointed counters agree with the files")
        XCTAssertEqual(final.outputRows, crashRows)
        XCTAssertEqual(final.inputTokens, 3 * crashRows)
    }
}

/// Not a test of its own: the job that CrashRecoveryTests runs in a child process and kills.
final class CrashRecoveryChild: XCTestCase {
    func testRunJobUntilKilled() throws {
        guard let directory = ProcessInfo.processInfo.environment[crashDirectoryVariable] else {
            throw XCTSkip("runs only as the child process of CrashRecoveryTests")
        }
        let pool = InferencePool(concurrency: 8, backend: SlowEchoBackend(delay: 0.004))
        var options = fastOptions()
        options.flushInterval = 0.005
        options.flushRows = 64
        let spec = JobSpec(jobName: "crash", model: "echo", inputPath: directory + "/in.jsonl", outputDirectory: directory + "/out")
        _ = JobRunner(spec: spec, pool: pool, options: options).run()
    }
}
