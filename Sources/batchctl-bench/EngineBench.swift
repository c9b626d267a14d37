// `batchctl-bench engine`: the job engine against nginx, side by side with a Python asyncio + aiohttp runner.
import Foundation
import BatchEngine
import BatchJSONL

enum EngineBenchError: Error, CustomStringConvertible {
    case usage(String)
    case missingTool(String)
    case failed(String)

    var description: String {
        switch self {
        case let .usage(text): return "usage: \(text)\n" + engineBenchUsage
        case let .missingTool(text), let .failed(text): return text
        }
    }
}

let engineBenchUsage = """
batchctl-bench engine [--rows N] [--concurrency N] [--nginx-workers N] [--python-rows N] [--no-python] [--keep]
  Runs a whole JobRunner (durable output, default options) over a generated N-row input (default 1,000,000)
  against nginx answering a fixed chat.completion, then the Python reference runner on the same input and
  backend, and prints rows/s, peak memory and the ratio. Targets: >= 10,000 rows/s, < 128 MiB, >= 3x Python.
"""

func runEngineBench(arguments: [String]) throws {
    var rows = 1_000_000, concurrency = 64, nginxWorkers = 1
    var pythonRows: Int?, runPython = true, keep = false
    var iterator = arguments.makeIterator()
    func number(_ flag: String) throws -> Int {
        guard let text = iterator.next(), let value = Int(text.replacingOccurrences(of: "_", with: "")), value > 0 else {
            throw EngineBenchError.usage("\(flag) needs a positive number")
        }
        return value
    }
    while let argument = iterator.next() {
        switch argument {
        case "--rows": rows = try number(argument)
        case "--concurrency": concurrency = try number(argument)
        case "--nginx-workers": nginxWorkers = try number(argument)
        case "--python-rows": pythonRows = try number(argument)
        case "--no-python": runPython = false
        case "--keep": keep = true
        case "-h", "--help": print(engineBenchUsage); return
        default: throw EngineBenchError.usage("unknown argument '\(argument)'")
        }
    }

    let directory = NSTemporaryDirectory() + "batchctl-engine-bench-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { if !keep { try? FileManager.default.removeItem(atPath: directory) } else { print("kept \(directory)") } }

    let input = directory + "/input.jsonl"
    let inputBytes = try generateInput(rows: rows, path: input)
    print("input: \(rows) rows, \(inputBytes / 1_000_000) MB, concurrency \(concurrency), nginx worker_processes \(nginxWorkers)")

    let nginx = try BenchNginx(directory: directory, workers: nginxWorkers)
    defer { nginx.stop() }

    // batchctl's engine, exactly as the server runs it: one adaptive endpoint with --concurrency as its ceiling.
    let backend = try OpenAICompatibleBackend(baseURL: nginx.baseURL, requestTimeout: 60, maxConnections: concurrency)
    let pool = InferencePool(endpoints: [InferenceEndpoint(name: nginx.baseURL, backend: backend, concurrency: concurrency)])
    let spec = JobSpec(jobName: "accounts/bench/batchInferenceJobs/engine", model: "accounts/fireworks/models/llama-v3p1-8b-instruct",
                       inputPath: input, outputDirectory: directory + "/swift-out")
    let runner = JobRunner(spec: spec, pool: pool)
    let start = Date()
    var final = JobCounters()
    let outcome = runner.run { counters in
        final = counters
        FileHandle.standardError.write("\r  batchctl: \(counters.totalProcessedRequests)/\(counters.totalInputRequests) ".data(using: .utf8)!)
    }
    let seconds = Date().timeIntervalSince(start)
    FileHandle.standardError.write("\n".data(using: .utf8)!)
    pool.shutdown()
    guard outcome == .completed, final.successfullyProcessedRequests == rows else {
        throw EngineBenchError.failed("the engine run did not complete cleanly: \(outcome), \(final)")
    }
    let swiftRate = Double(rows) / seconds
    let peakMiB = Double(peakResidentKiB()) / 1024
    print(String(format: "batchctl engine: %d rows in %.2f s = %.0f rows/s, peak memory (VmHWM) %.1f MiB", rows, seconds, swiftRate, peakMiB))

    var pythonRate: Double?
    if runPython {
        let pythonInput: String
        if let pythonRows, pythonRows < rows {
            pythonInput = directory + "/python-input.jsonl"
            _ = try generateInput(rows: pythonRows, path: pythonInput)
        } else {
            pythonInput = input
        }
        let report = try runPythonReference(input: pythonInput, output: directory + "/python-out.jsonl", url: nginx.baseURL,
                                            concurrency: concurrency)
        pythonRate = report.rate
        print(String(format: "python aiohttp:  %d rows in %.2f s = %.0f rows/s, peak memory %.1f MiB",
                     report.rows, report.seconds, report.rate, Double(report.maxRSSKiB) / 1024))
    }

    print("targets:")
    print(String(format: "  rows/s >= 10,000:        %@ (%.0f)", swiftRate >= 10_000 ? "PASS" : "FAIL", swiftRate))
    print(String(format: "  peak memory < 128 MiB:   %@ (%.1f MiB)", peakMiB < 128 ? "PASS" : "FAIL", peakMiB))
    if let pythonRate {
        let ratio = swiftRate / pythonRate
        print(String(format: "  >= 3x Python:            %@ (%.2fx)", ratio >= 3 ? "PASS" : "FAIL", ratio))
    }
}

/// Writes `rows` chat rows, a few hundred bytes each, streaming.
private func generateInput(rows: Int, path: String) throws -> Int {
    guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
        throw EngineBenchError.failed("cannot create \(path)")
    }
    defer { handle.closeFile() }
    var chunk: [UInt8] = []
    chunk.reserveCapacity(1 << 20)
    var total = 0
    for i in 1...rows {
        let line = #"{"custom_id":"row-\#(i)","body":{"messages":[{"role":"system","content":"You answer in one short line."},{"role":"user","content":"Summarize item \#(i) of the batch in one line, please."}],"max_tokens":32,"temperature":0.2}}"# + "\n"
        chunk.append(contentsOf: line.utf8)
        if chunk.count >= 1 << 20 { handle.write(Data(chunk)); total += chunk.count; chunk.removeAll(keepingCapacity: true) }
    }
    handle.write(Data(chunk))
    return total + chunk.count
}

private func peakResidentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return 0
}

private func findExecutable(_ candidates: [String]) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    for candidate in candidates {
        if candidate.hasPrefix("/") { if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }; continue }
        for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/\(candidate)") {
            return "\(directory)/\(candidate)"
        }
    }
    return nil
}

/// nginx on a free loopback port answering one fixed chat.completion, like a model server that is never the bottleneck.
private final class BenchNginx {
    let process = Process()
    let baseURL: String

    init(directory: String, workers: Int) throws {
        guard let nginx = findExecutable(["/usr/sbin/nginx", "/usr/local/sbin/nginx", "nginx"]) else {
            throw EngineBenchError.missingTool("nginx is not installed: apt-get install -y nginx-light")
        }
        let port = try BenchNginx.freePort()
        let response = #"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"llama-v3p1-8b-instruct","choices":[{"index":0,"message":{"role":"assistant","content":"Item summarized in one short line."},"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":7,"total_tokens":31,"prompt_tokens_details":{"cached_tokens":0}}}"#
        let config = """
        daemon off;
        master_process on;
        user root;
        worker_processes \(workers);
        pid \(directory)/nginx.pid;
        error_log stderr error;
        events { worker_connections 4096; }
        http {
            access_log off;
            client_body_temp_path \(directory)/body;
            proxy_temp_path \(directory)/proxy;
            fastcgi_temp_path \(directory)/fastcgi;
            uwsgi_temp_path \(directory)/uwsgi;
            scgi_temp_path \(directory)/scgi;
            keepalive_requests 10000000;
            server {
                listen 127.0.0.1:\(port);
                location / { default_type application/json; return 200 '\(response)'; }
            }
        }
        """
        try config.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: nginx)
        process.arguments = ["-p", directory, "-c", directory + "/nginx.conf", "-e", "stderr"]
        try process.run()
        baseURL = "http://127.0.0.1:\(port)/v1"
        let until = Date(timeIntervalSinceNow: 10)
        while !BenchNginx.canConnect(port: port) {
            if Date() > until || !process.isRunning { stop(); throw EngineBenchError.failed("nginx did not start on port \(port)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    func stop() { if process.isRunning { process.terminate(); process.waitUntilExit() } }

    private static func address(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = BenchNginx.address(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { throw EngineBenchError.failed("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = BenchNginx.address(port: port)
        return withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

private struct PythonReport {
    var rows: Int
    var seconds: Double
    var rate: Double
    var maxRSSKiB: Int
}

private func runPythonReference(input: String, output: String, url: String, concurrency: Int) throws -> PythonReport {
    guard let python = findExecutable(["python3"]) else { throw EngineBenchError.missingTool("python3 is not installed") }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("reference/runner_aiohttp.py").path
    guard FileManager.default.fileExists(atPath: script) else { throw EngineBenchError.failed("reference runner not found at \(script)") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script, "--input", input, "--output", output, "--url", url, "--concurrency", String(concurrency)]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, let line = String(data: data, encoding: .utf8)?.split(separator: "\n").last,
          let json = try? JSONValue(parsing: String(line)) else {
        throw EngineBenchError.failed("the Python reference failed (exit \(process.terminationStatus)); is aiohttp installed? pip install aiohttp")
    }
    return PythonReport(rows: Int(json["rows"]?.int64Value ?? 0), seconds: json["seconds"]?.doubleValue ?? 0,
                        rate: json["rows_per_second"]?.doubleValue ?? 0, maxRSSKiB: Int(json["max_rss_kib"]?.int64Value ?? 0))
}
