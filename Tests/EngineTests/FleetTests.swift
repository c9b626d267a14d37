// Fleets of real HTTP servers: one killed mid-job and restarted, and a fault server answering 10% 500s and
// 10% 429s. The whole-fleet outage runs end to end (EndToEndTests/InferenceServerTests).
import XCTest
import BatchJSONL
@testable import BatchEngine

final class FleetTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("fleet") }

    override func tearDown() {
        shutDownTestPools()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var results: [JSONValue] { readJSONLines(directory + "/out/BIJOutputSet.jsonl") }
    var errors: [JSONValue] { readJSONLines(directory + "/out/error-data") }

    func lines(_ path: String) -> Int {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// nginx and a slower Python server share a job; nginx is killed with -9 after 300 rows and started again a
    /// second later on the same port. The job completes, nothing is in error-data, and both carried traffic.
    func testOneServerKilledMidJobAndRestarted() throws {
        let nginxDirectory = directory + "/nginx"
        try FileManager.default.createDirectory(atPath: nginxDirectory, withIntermediateDirectories: true)
        let nginx = try startNginx(in: nginxDirectory, accessLog: directory + "/nginx-1.log")
        let python = try startFaultServer(in: directory)
        defer { python.stop() }
        final class Box: @unchecked Sendable { var restarted: ServerProcess?; var killedAt = 0 }
        let box = Box()
        defer { nginx.stop(); box.restarted?.stop() }

        var poolOptions = PoolOptions()

        poolOptions.quietPeriod = 0.02  // the tests retry after 10 to 50 ms, not 0.5 s
        poolOptions.probeInitialDelay = 0.1
        poolOptions.probeMaxDelay = 0.5
        let pool = InferencePool(endpoints: [
            InferenceEndpoint(name: "nginx", backend: try OpenAICompatibleBackend(baseURL: nginx.baseURL, requestTimeout: 5, maxConnections: 4), concurrency: 4),
            InferenceEndpoint(name: "python", backend: try OpenAICompatibleBackend(baseURL: python.baseURL, requestTimeout: 5, maxConnections: 4), concurrency: 4),
        ], options: poolOptions)
        defer { pool.shutdown() }
        let rows = 3_000
        try writeLines(chatRows(rows) { "slow-5-\($0)" }, to: directory + "/in.jsonl")
        let spec = JobSpec(jobName: "fleet", model: "m", inputPath: directory + "/in.jsonl", outputDirectory: directory + "/out")
        let runner = JobRunner(spec: spec, pool: pool, options: fastOptions())
        var sawDown = false
        let logDirectory = directory
        let killer = Thread {
            while runner.counters.totalProcessedRequests < 300 { usleep(5_000) }
            box.killedAt = runner.counters.totalProcessedRequests
            nginx.kill9()
            Thread.sleep(forTimeInterval: 1)
            box.restarted = try? startNginx(in: nginxDirectory, port: nginx.port, accessLog: logDirectory + "/nginx-2.log")
        }
        killer.start()
        var final = JobCounters()
        let outcome = runner.run { counters in
            final = counters
            if pool.status()[0].health == .down { sawDown = true }
        }
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(errors.map(\.compactText).prefix(3), [], "no row is lost to the kill")
        XCTAssertEqual(Set(customIDs(results)).count, rows)
        XCTAssertEqual(final.successfullyProcessedRequests, rows)
        XCTAssertNotNil(box.restarted, "nginx started again")
        XCTAssertLessThan(box.killedAt, rows, "killed mid-job")
        XCTAssertTrue(sawDown, "the killed server was taken out")
        XCTAssertGreaterThan(lines(directory + "/nginx-1.log"), 0, "nginx carried traffic")
        XCTAssertGreaterThan(try faultServerStats(python).count, 0, "the Python server carried traffic")
        print("fleet: killed at \(box.killedAt) rows; nginx before \(lines(directory + "/nginx-1.log")), after restart \(lines(directory + "/nginx-2.log")) requests")
    }

    /// 10% of first answers are 500 and 10% are 429 with Retry-After: every row succeeds, each faulty one on its
    /// second attempt and the rest on their first.
    func testTenPercent500sAndTenPercent429sAllSucceed() throws {
        let server = try startFaultServer(in: directory)
        defer { server.stop() }
        let backend = try OpenAICompatibleBackend(baseURL: server.baseURL, requestTimeout: 5, maxConnections: 8)
        let pool = InferencePool(endpoints: [InferenceEndpoint(name: "faulty", backend: backend, concurrency: 8)])
        defer { pool.shutdown() }
        let rows = 400
        func kind(_ i: Int) -> String { i % 10 == 0 ? "once500" : i % 10 == 5 ? "limited" : "ok" }
        try writeLines(chatRows(rows) { "\(kind($0))-\($0)" }, to: directory + "/in.jsonl")
        let spec = JobSpec(jobName: "faults", model: "m", inputPath: directory + "/in.jsonl", outputDirectory: directory + "/out")
        var final = JobCounters()
        XCTAssertEqual(JobRunner(spec: spec, pool: pool, options: fastOptions()).run { final = $0 }, .completed)
        XCTAssertEqual(errors.count, 0)
        XCTAssertEqual(final.successfullyProcessedRequests, rows)
        let stats = try faultServerStats(server)
        for i in 1...rows {
            XCTAssertEqual(stats["\(kind(i))-\(i)"]?.count, kind(i) == "ok" ? 1 : 2, "attempts of row \(i)")
        }
        XCTAssertEqual(pool.status()[0].health, .healthy, "500s and 429s do not take a server out")
    }
}
