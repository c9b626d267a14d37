// `batchctl-bench capacity`: the engine against a server with S slots that answers 503 beyond them (adaptive
// concurrency against a fixed 4 x S), and the cost of 10% 500s and 10% 429s against a clean run.
import BatchEngine
import BatchHTTP
import Foundation

let capacityBenchUsage = """
batchctl-bench capacity [--slots S] [--latency SECONDS] [--rows N] [--fault-rows N] [--skip-faults]
  1. Saturation: an in-process server with S slots (default 16) and a fixed latency (default 0.05 s) that
     answers 503 to a request beyond S in flight. The engine at its defaults (adaptive, ceiling 64) against
     the same run at a fixed concurrency of 4 x S. Target: >= 0.9 x S / latency, retries < 5% of requests.
  2. Retries off the window: the same server with 64 slots, clean, then with one answer in ten (at random) a
     500, then a 429 + Retry-After: 1; 30 s runs by default (--fault-rows). Target: each >= 0.8 x the clean rate.
"""

/// The test server: S slots, a fixed latency, 503 beyond S in flight, and optionally one answer in ten a fault.
/// `@unchecked Sendable`: `busy`, `requests`, `rejected`, `faulted` and `fault` are guarded by `lock`.
private final class SlotServer: @unchecked Sendable {
    enum Fault { case none, error500, throttle429 }
    let slots: Int
    let latency: Double
    private let lock = NSLock()
    private var busy = 0
    private(set) var requests = 0
    private(set) var rejected = 0
    private(set) var faulted = 0
    private var fault = Fault.none
    private var server: HTTPServer?
    private(set) var baseURL = ""

    static let answer = Array(#"{"id":"chatcmpl-slots","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":8,"total_tokens":32}}"#.utf8)

    init(slots: Int, latency: Double) throws {
        self.slots = slots
        self.latency = latency
        var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0, maxConnections: 1024)
        configuration.idleTimeout = 120
        let server = HTTPServer(configuration: configuration) { [unowned self] request in handle(request) }
        let address = try server.start()
        self.server = server
        baseURL = "http://\(address)/v1"
    }

    func reset(fault: Fault) {
        lock.lock()
        self.fault = fault
        requests = 0; rejected = 0; faulted = 0
        lock.unlock()
    }

    var counts: (requests: Int, rejected: Int, faulted: Int) {
        lock.lock(); defer { lock.unlock() }
        return (requests, rejected, faulted)
    }

    private func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard request.method == "POST" else {
            return request.path.hasSuffix("/models") ? .json(#"{"object":"list","data":[]}"#) : .error(HTTPStatus(404), "not found")
        }
        lock.lock()
        requests += 1
        // One answer in ten at random, as a flaky server or a rate limiter would.
        let faultNow: Fault = fault != .none && Double.random(in: 0..<1) < 0.1 ? fault : .none
        if faultNow != .none { faulted += 1; lock.unlock() } else if busy >= slots {
            rejected += 1
            lock.unlock()
            return .json(#"{"error":{"message":"all slots are busy"}}"#, status: HTTPStatus(503))
        } else {
            busy += 1
            lock.unlock()
        }
        switch faultNow {
        case .error500: return .json(#"{"error":{"message":"internal error"}}"#, status: HTTPStatus(500))
        case .throttle429:
            var response = HTTPResponse.json(#"{"error":{"message":"rate limited"}}"#, status: HTTPStatus(429))
            response.headers["Retry-After"] = "1"
            return response
        case .none:
            Thread.sleep(forTimeInterval: latency)
            lock.lock(); busy -= 1; lock.unlock()
            return .json(SlotServer.answer)
        }
    }

    func stop() { server?.stop(gracePeriod: 1) }
}

private struct CapacityRun {
    var rows: Int
    var seconds: Double
    var requests: Int
    var rejected: Int
    var faulted: Int
    var finalLimit: Int
    /// Rows that ran out of attempts (a fault on every one of them).
    var failed: Int
    var rate: Double { Double(rows) / seconds }
    /// Requests beyond one per row, over all requests.
    var retryShare: Double { requests > 0 ? Double(requests - rows) / Double(requests) : 0 }
}

private func runCapacityJob(server: SlotServer, rows: Int, concurrency: Int, adaptive: Bool, directory: String, label: String) throws -> CapacityRun {
    let input = directory + "/\(label).jsonl"
    var text = ""
    text.reserveCapacity(rows * 120)
    for i in 1...rows {
        text += #"{"custom_id":"row-\#(i)","body":{"messages":[{"role":"user","content":"Summarize item \#(i), please."}],"max_tokens":8}}"# + "\n"
    }
    try text.write(toFile: input, atomically: true, encoding: .utf8)
    let backend = try OpenAICompatibleBackend(baseURL: server.baseURL, requestTimeout: 60, maxConnections: concurrency)
    let pool = InferencePool(endpoints: [InferenceEndpoint(name: label, backend: backend, concurrency: concurrency, adaptive: adaptive)])
    defer { pool.shutdown() }
    let spec = JobSpec(jobName: "accounts/bench/batchInferenceJobs/\(label)", model: "m", inputPath: input,
                       outputDirectory: directory + "/\(label)-out")
    // Let the pool ask for the slot count (the server has no /props) before the clock starts.
    let until = Date(timeIntervalSinceNow: 5)
    while pool.status().contains(where: { $0.health == .starting }), Date() < until { usleep(1_000) }
    let start = Date()
    var final = JobCounters()
    let outcome = JobRunner(spec: spec, pool: pool).run { counters in
        final = counters
        FileHandle.standardError.write(Data("\r  \(label): \(counters.totalProcessedRequests)/\(counters.totalInputRequests) ".utf8))
    }
    let seconds = Date().timeIntervalSince(start)
    FileHandle.standardError.write(Data("\n".utf8))
    guard outcome == .completed, final.totalProcessedRequests == rows else {
        throw EngineBenchError.failed("\(label): the run did not complete: \(outcome), \(final)")
    }
    let counts = server.counts
    return CapacityRun(rows: rows, seconds: seconds, requests: counts.requests, rejected: counts.rejected, faulted: counts.faulted,
                       finalLimit: pool.status()[0].limit, failed: final.failedRequests)
}

func runCapacityBench(arguments: [String]) throws {
    var slots = 16, latency = 0.05, rows = 4_000, faultRows: Int?, faults = true
    var iterator = arguments.makeIterator()
    func value(_ flag: String) throws -> String {
        guard let text = iterator.next() else { throw EngineBenchError.usage("\(flag) needs a value") }
        return text
    }
    while let argument = iterator.next() {
        switch argument {
        case "--slots": slots = try Int(value(argument)).flatMap { $0 > 0 ? $0 : nil } ?? { throw EngineBenchError.usage("--slots needs a positive number") }()
        case "--latency": latency = try Double(value(argument)).flatMap { $0 > 0 ? $0 : nil } ?? { throw EngineBenchError.usage("--latency needs seconds") }()
        case "--rows": rows = try Int(value(argument)).flatMap { $0 > 0 ? $0 : nil } ?? { throw EngineBenchError.usage("--rows needs a positive number") }()
        case "--fault-rows": faultRows = try Int(value(argument)).flatMap { $0 > 0 ? $0 : nil } ?? { throw EngineBenchError.usage("--fault-rows needs a positive number") }()
        case "--skip-faults": faults = false
        case "-h", "--help": print(capacityBenchUsage); return
        default: throw EngineBenchError.usage("unknown argument '\(argument)'\n" + capacityBenchUsage)
        }
    }
    let directory = NSTemporaryDirectory() + "batchctl-capacity-bench-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }

    let ideal = Double(slots) / latency
    let server = try SlotServer(slots: slots, latency: latency)
    defer { server.stop() }
    print(String(format: "saturation: %d slots, %.3f s latency, 503 beyond the slots: ideal %.0f rows/s; %d rows per run", slots, latency, ideal, rows))
    server.reset(fault: .none)
    let adaptive = try runCapacityJob(server: server, rows: rows, concurrency: 64, adaptive: true, directory: directory, label: "adaptive")
    server.reset(fault: .none)
    let fixed = try runCapacityJob(server: server, rows: rows, concurrency: 4 * slots, adaptive: false, directory: directory, label: "fixed")
    for (name, run) in [("adaptive (default, ceiling 64)", adaptive), ("fixed at 4 x S = \(4 * slots)", fixed)] {
        print(String(format: "  %@: %.0f rows/s (%.2f x ideal), %d requests for %d rows: %.1f%% retries (%d answered 503), limit at the end %d",
                     name.padding(toLength: 32, withPad: " ", startingAt: 0), run.rate, run.rate / ideal, run.requests, run.rows,
                     run.retryShare * 100, run.rejected, run.finalLimit))
    }
    print("targets:")
    print(String(format: "  adaptive >= 0.9 x S / latency: %@ (%.2f x)", adaptive.rate >= 0.9 * ideal ? "PASS" : "FAIL", adaptive.rate / ideal))
    print(String(format: "  adaptive retries < 5%%:         %@ (%.1f%%)", adaptive.retryShare < 0.05 ? "PASS" : "FAIL", adaptive.retryShare * 100))
    guard faults else { return }

    // Long enough that the last rows' backoff is a small part of the run.
    let faultServer = try SlotServer(slots: 64, latency: latency)
    defer { faultServer.stop() }
    let n = faultRows ?? Int(30 * 64 / latency)
    print(String(format: "retries off the window: 64 slots, %.3f s latency, %d rows per run", latency, n))
    var runs: [(String, CapacityRun)] = []
    for (name, fault) in [("clean", SlotServer.Fault.none), ("10% 500", .error500), ("10% 429 + Retry-After: 1", .throttle429)] {
        faultServer.reset(fault: fault)
        runs.append((name, try runCapacityJob(server: faultServer, rows: n, concurrency: 64, adaptive: true, directory: directory,
                                              label: name.prefix(7).replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "%", with: ""))))
    }
    let clean = runs[0].1.rate
    for (name, run) in runs {
        print(String(format: "  %@: %.0f rows/s (%.2f x clean), %d faults answered, %d rows failed, limit at the end %d",
                     name.padding(toLength: 26, withPad: " ", startingAt: 0), run.rate, run.rate / clean, run.faulted, run.failed, run.finalLimit))
    }
    print("targets:")
    for (name, run) in runs.dropFirst() {
        print(String(format: "  %@ >= 0.8 x clean: %@ (%.2f x)", name.padding(toLength: 26, withPad: " ", startingAt: 0),
                     run.rate >= 0.8 * clean ? "PASS" : "FAIL", run.rate / clean))
    }
}
