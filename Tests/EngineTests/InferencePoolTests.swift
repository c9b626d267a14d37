// Tests of InferencePool: fairness between jobs, least outstanding requests, retries that avoid the endpoint
// they failed on, circuit breaking with probes, waiting on capacity, the slot count a server reports.
import XCTest
import BatchJSONL
@testable import BatchEngine

/// A backend whose answers a test decides: `answer` runs for each request; `up` is what `probe` says.
final class ScriptedBackend: InferenceBackend, @unchecked Sendable {
    // `calls`, `peak`, `current`, `upFlag` and `slots` are guarded by `lock`.
    private let lock = NSLock()
    private var calls = 0
    private var current = 0
    private var peakInFlight = 0
    private var upFlag = true
    private var slots: Int?
    let answer: @Sendable (_ request: [UInt8], _ up: Bool) -> InferenceResult

    init(slots: Int? = nil, answer: @escaping @Sendable (_ request: [UInt8], _ up: Bool) -> InferenceResult = { request, _ in EchoBackend().complete(request) }) {
        self.slots = slots
        self.answer = answer
    }

    var up: Bool {
        get { lock.lock(); defer { lock.unlock() }; return upFlag }
        set { lock.lock(); upFlag = newValue; lock.unlock() }
    }
    var callCount: Int { lock.lock(); defer { lock.unlock() }; return calls }
    var peak: Int { lock.lock(); defer { lock.unlock() }; return peakInFlight }

    func complete(_ request: [UInt8]) -> InferenceResult {
        lock.lock(); calls += 1; current += 1; peakInFlight = max(peakInFlight, current); let isUp = upFlag; lock.unlock()
        defer { lock.lock(); current -= 1; lock.unlock() }
        if !isUp { return .failure(InferenceFailure(status: 503, message: "connection refused", retryable: true, kind: .connection)) }
        return answer(request, isUp)
    }

    func probe() -> Bool { up }
    func reportedSlots() -> Int? { lock.lock(); defer { lock.unlock() }; return slots }
}

/// Echo after a pause.
func slowEcho(_ seconds: TimeInterval) -> @Sendable ([UInt8], Bool) -> InferenceResult {
    { request, _ in Thread.sleep(forTimeInterval: seconds); return EchoBackend().complete(request) }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: TimeInterval = 20, _ condition: () -> Bool) -> Bool {
    let until = Date(timeIntervalSinceNow: timeout)
    while Date() < until {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return condition()
}

final class InferencePoolTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("pool") }

    override func tearDown() {
        shutDownTestPools()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var results: [JSONValue] { readJSONLines(directory + "/out/BIJOutputSet.jsonl") }
    var errors: [JSONValue] { readJSONLines(directory + "/out/error-data") }

    func run(_ rows: Int, pool: InferencePool, options: RunnerOptions = fastOptions(), deadline: Date? = nil,
             progress: @escaping (JobRunner, JobCounters) -> Void = { _, _ in }) throws -> (JobOutcome, JobCounters) {
        try writeLines(chatRows(rows), to: directory + "/in.jsonl")
        let spec = JobSpec(jobName: "accounts/a/batchInferenceJobs/pool", model: "accounts/fireworks/models/echo",
                           inputPath: directory + "/in.jsonl", outputDirectory: directory + "/out", deadline: deadline)
        let runner = JobRunner(spec: spec, pool: pool, options: options)
        var final = JobCounters()
        let outcome = runner.run { counters in final = counters; progress(runner, counters) }
        return (outcome, final)
    }

    func request(_ tag: String, _ done: @escaping (String) -> Void) -> PoolRequest {
        PoolRequest(avoid: -1, body: { _ in Array(tag.utf8) }, done: { _, _, _, _ in done(tag) })
    }

    /// Two jobs queue at once; the workers alternate between them instead of draining the first.
    func testWorkersTakeFromJobsInTurn() {
        let gate = DispatchSemaphore(value: 0)
        let pool = pooled(ScriptedBackend { request, _ in
            if request == Array("gate".utf8) { gate.wait() }
            return .success(Array("{}".utf8))
        }, concurrency: 1)
        let done = DispatchSemaphore(value: 0)
        let lock = NSLock()
        var order: [String] = []
        let a = pool.addLane(), b = pool.addLane()
        XCTAssertTrue(pool.submit(request("gate") { _ in }, to: a))
        for i in 0..<10 {
            XCTAssertTrue(pool.submit(request("a\(i)") { tag in lock.lock(); order.append(tag); lock.unlock(); done.signal() }, to: a))
        }
        for i in 0..<10 {
            XCTAssertTrue(pool.submit(request("b\(i)") { tag in lock.lock(); order.append(tag); lock.unlock(); done.signal() }, to: b))
        }
        gate.signal()
        for _ in 0..<20 { done.wait() }
        XCTAssertEqual(Array(order.prefix(6)), ["b0", "a0", "b1", "a1", "b2", "a2"])
        pool.removeLane(a)
        XCTAssertFalse(pool.submit(request("late") { _ in }, to: a), "a removed lane takes no work")
    }

    func testDroppingQueuedWorkCountsIt() {
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let pool = pooled(ScriptedBackend { _, _ in started.signal(); gate.wait(); return .success(Array("{}".utf8)) }, concurrency: 1)
        let lane = pool.addLane()
        _ = pool.submit(request("first") { _ in }, to: lane)
        started.wait()
        for i in 0..<5 { _ = pool.submit(request("dropped\(i)") { _ in XCTFail("dropped work ran") }, to: lane) }
        XCTAssertEqual(pool.dropQueued(lane), 5)
        gate.signal()
    }

    /// A slow and a fast endpoint: the fast one, which drains its requests sooner, gets most of them.
    func testRequestsGoWhereFewestAreInFlight() throws {
        let slow = ScriptedBackend(answer: slowEcho(0.05)), fast = ScriptedBackend(answer: slowEcho(0.001))
        let pool = InferencePool(endpoints: [InferenceEndpoint(name: "slow", backend: slow, concurrency: 4, adaptive: false),
                                             InferenceEndpoint(name: "fast", backend: fast, concurrency: 4, adaptive: false)])
        defer { pool.shutdown() }
        let (outcome, counters) = try run(400, pool: pool)
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(counters.successfullyProcessedRequests, 400)
        XCTAssertGreaterThan(slow.callCount, 0, "both endpoints carry traffic")
        XCTAssertGreaterThan(fast.callCount, 3 * slow.callCount, "round robin would split evenly: fast \(fast.callCount), slow \(slow.callCount)")
        XCTAssertLessThanOrEqual(slow.peak, 4)
        XCTAssertLessThanOrEqual(fast.peak, 4)
    }

    /// A row that failed on one endpoint is retried on another: with two attempts and one endpoint that always
    /// answers 500, every row still succeeds.
    func testRetriesGoToAnotherEndpoint() throws {
        let broken = ScriptedBackend { _, _ in .failure(InferenceFailure(status: 500, message: "broken", retryable: true)) }
        let good = ScriptedBackend(answer: slowEcho(0.002))
        let pool = InferencePool(endpoints: [InferenceEndpoint(name: "broken", backend: broken, concurrency: 4, adaptive: false),
                                             InferenceEndpoint(name: "good", backend: good, concurrency: 4, adaptive: false)])
        defer { pool.shutdown() }
        let (outcome, counters) = try run(300, pool: pool, options: fastOptions(attempts: 2))
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(errors.map(\.compactText), [])
        XCTAssertEqual(counters.successfullyProcessedRequests, 300)
        XCTAssertGreaterThan(broken.callCount, 0)
    }

    /// The whole fleet goes down mid-job: no row fails, the job waits on capacity while nothing answers, the
    /// endpoint is probed with backoff, and the job finishes by itself once it answers again.
    func testAnOutageCostsTimeNotRows() throws {
        let backend = ScriptedBackend(answer: slowEcho(0.002))
        var options = PoolOptions()
        options.quietPeriod = 0.02  // the tests retry after 10 to 50 ms, not 0.5 s
        options.probeInitialDelay = 0.05
        options.probeMaxDelay = 0.2
        let pool = InferencePool(endpoints: [InferenceEndpoint(name: "only", backend: backend, concurrency: 8, adaptive: false)],
                                 options: options)
        defer { pool.shutdown() }
        var sawWaiting = false, sawDown = false
        let lock = NSLock()
        var downAt: Date?
        let (outcome, counters) = try run(600, pool: pool) { runner, counters in
            lock.lock(); defer { lock.unlock() }
            if downAt == nil, counters.totalProcessedRequests >= 100 { backend.up = false; downAt = Date() }
            if runner.isWaitingOnCapacity { sawWaiting = true }
            if pool.status().first?.health == .down { sawDown = true }
            // Down for a second, far longer than the retries of the old engine lasted.
            if let at = downAt, backend.up == false, Date().timeIntervalSince(at) > 1 { backend.up = true }
        }
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(errors.count, 0, "an outage fails no row: \(errors.prefix(3).map(\.compactText))")
        XCTAssertEqual(Set(customIDs(results)).count, 600)
        XCTAssertEqual(counters.successfullyProcessedRequests, 600)
        XCTAssertTrue(sawDown, "the endpoint was taken out")
        XCTAssertTrue(sawWaiting, "the job reported waiting on capacity")
        XCTAssertEqual(pool.status().first?.health, .healthy)
        XCTAssertFalse(pool.isWaitingOnCapacity)
    }

    /// Nothing ever answers: the job waits (dispatching nothing) until its deadline, and no row is failed.
    func testAJobWaitsForCapacityUntilItsDeadline() throws {
        let backend = ScriptedBackend()
        backend.up = false
        var options = PoolOptions()
        options.quietPeriod = 0.02  // the tests retry after 10 to 50 ms, not 0.5 s
        options.probeInitialDelay = 0.05
        let pool = InferencePool(endpoints: [InferenceEndpoint(name: "down", backend: backend, concurrency: 4, adaptive: false)],
                                 options: options)
        defer { pool.shutdown() }
        var callsWhileWaiting: Int?
        let (outcome, counters) = try run(50, pool: pool, deadline: Date(timeIntervalSinceNow: 1.5)) { runner, _ in
            if runner.isWaitingOnCapacity, callsWhileWaiting == nil { callsWhileWaiting = backend.callCount }
        }
        XCTAssertEqual(outcome, .expired)
        XCTAssertEqual(errors.count, 0)
        XCTAssertEqual(counters.failedRequests, 0)
        let calls = try XCTUnwrap(callsWhileWaiting, "the job reported waiting on capacity")
        XCTAssertEqual(backend.callCount, calls, "nothing is sent while every endpoint is down (probes excepted)")
        XCTAssertTrue(pool.outageMessage.contains("connection refused"), pool.outageMessage)
    }

    /// A request that fails every time on a server that is otherwise up (the probe answers) still ends in
    /// error-data: the circuit's trial request pays an attempt, so such a row cannot hold a job for ever.
    func testARowThatAlwaysFailsStillFailsWhenTheCircuitOpens() throws {
        let backend = ScriptedBackend { _, _ in .failure(InferenceFailure(status: 503, message: "model is loading", retryable: true)) }
        var options = PoolOptions()
        options.quietPeriod = 0.02  // the tests retry after 10 to 50 ms, not 0.5 s
        options.failureThreshold = 2
        options.probeInitialDelay = 0.02
        options.probeMaxDelay = 0.05
        let pool = InferencePool(endpoints: [InferenceEndpoint(name: "refusing", backend: backend, concurrency: 2, adaptive: false)],
                                 options: options)
        defer { pool.shutdown() }
        let (outcome, counters) = try run(4, pool: pool, options: fastOptions(attempts: 3))
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(counters.failedRequests, 4)
        XCTAssertEqual(errors.first?["error"]?["message"], .string("model is loading"))
    }

    /// An adaptive endpoint starts from the slot count the server reports, and never exceeds its ceiling.
    func testAdaptiveConcurrencyStartsFromTheReportedSlots() {
        let reporting = ScriptedBackend(slots: 3), silent = ScriptedBackend(), many = ScriptedBackend(slots: 500)
        let pool = InferencePool(endpoints: [InferenceEndpoint(name: "reporting", backend: reporting, concurrency: 16),
                                             InferenceEndpoint(name: "silent", backend: silent, concurrency: 16),
                                             InferenceEndpoint(name: "many", backend: many, concurrency: 16),
                                             InferenceEndpoint(name: "pinned", backend: ScriptedBackend(slots: 2), concurrency: 16, adaptive: false)])
        defer { pool.shutdown() }
        XCTAssertTrue(eventually { !pool.status().contains { $0.health == .starting } })
        let status = pool.status()
        XCTAssertEqual(status.map(\.limit), [3, 16, 16, 16])
        XCTAssertEqual(status.map(\.reportedSlots), [3, nil, 500, nil])
        XCTAssertEqual(status.map(\.adaptive), [true, true, true, false])
    }

    /// Each endpoint is sent the model name of its own map, else the server-wide one.
    func testModelNamesAreMappedPerEndpoint() throws {
        let a = RecordingBackend(), b = RecordingBackend()
        let pool = InferencePool(endpoints: [
            InferenceEndpoint(name: "a", backend: a, concurrency: 1, adaptive: false, modelMap: try ModelMap(rules: ["echo=llama3.1:8b"])),
            InferenceEndpoint(name: "b", backend: b, concurrency: 1, adaptive: false),
        ])
        defer { pool.shutdown() }
        var options = fastOptions()
        options.modelMap = try ModelMap(rules: ["echo=meta-llama/Llama-3.1-8B-Instruct"])
        XCTAssertEqual(try run(40, pool: pool, options: options).0, .completed)
        XCTAssertEqual(Set(a.recorded.compactMap { $0["model"]?.stringValue }), ["llama3.1:8b"])
        XCTAssertEqual(Set(b.recorded.compactMap { $0["model"]?.stringValue }), ["meta-llama/Llama-3.1-8B-Instruct"])
        XCTAssertEqual(a.recorded.count + b.recorded.count, 40)
        XCTAssertEqual(a.recorded.first?.objectValue?.first?.0, "model", "the model name leads the body")
    }
}
