// `batchctl-bench gateway`: requests/s of `GET` of a real job on a real `batchctl server` under wrk, the
// design's gateway target (the `http` benchmark measures HTTPServer alone with a canned body).
import BatchHTTP
import Foundation
import Glibc

private struct GatewayOptions {
    var seconds = 10
    var connections = 64
    var threads = 2

    init(_ arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        func value(_ flag: String) throws -> Int {
            guard let text = iterator.next(), let number = Int(text), number > 0 else { throw TransferBenchError("\(flag) needs a positive number") }
            return number
        }
        while let argument = iterator.next() {
            switch argument {
            case "--seconds": seconds = try value(argument)
            case "--connections": connections = try value(argument)
            case "--threads": threads = try value(argument)
            case "-h", "--help":
                print("""
                usage: batchctl-bench gateway [--seconds N] [--connections N] [--threads N]
                  wrk -tTHREADS -cCONNECTIONS -dSECONDS --latency against GET of a completed echo job on a real
                  local gateway (defaults 2 threads, 64 connections, 10 s)
                """)
                exit(0)
            default: throw TransferBenchError("unknown option \(argument) (see --help)")
            }
        }
    }
}

func runGatewayBench(arguments: [String]) throws {
    let options = try GatewayOptions(arguments)
    let batchctl = try benchBatchctlPath()
    guard let wrk = findTool("wrk") else { throw TransferBenchError("wrk not found: apt-get install -y wrk") }
    let root = NSTemporaryDirectory() + "batchctl-bench-gateway-\(getpid())"
    try FileManager.default.createDirectory(atPath: root + "/scratch", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let scratch = root + "/scratch"
    let env = benchEnvironment(home: root)
    print("gateway: load average \(loadAverage())")

    let gateway = try BenchGateway(batchctl: batchctl, dataDir: root + "/data")
    defer { gateway.stop() }
    let input = root + "/input.jsonl"
    let (_, rows) = try writeChatJSONL(path: input, bytes: 64 * 1024)
    let common = ["--server", gateway.url, "-a", "local"]
    let create = try spawnAndWait(batchctl, common + ["bij", "create", "--job-id", "bench-job", "-m", "echo", "--input-file", input, "--wait", "-q"],
                                  environment: env, scratch: scratch)
    guard create.succeeded else { throw TransferBenchError("bij create --wait failed (\(create.exitCode)): \(create.stderr)") }
    let url = "\(gateway.url)/v1/accounts/local/batchInferenceJobs/bench-job"
    let job = try spawnAndWait(findTool("curl") ?? "/usr/bin/curl", ["-s", "-S", "--fail", url], environment: env, scratch: scratch)
    guard job.succeeded, let object = try? JSONSerialization.jsonObject(with: Data(job.stdout.utf8)) as? [String: Any],
          let state = object["state"] as? String else {
        throw TransferBenchError("cannot GET the job: \(job.stdout)\(job.stderr)")
    }
    guard state == "JOB_STATE_COMPLETED" else { throw TransferBenchError("the job ended \(state), expected JOB_STATE_COMPLETED") }
    print("  job bench-job: \(rows) rows on echo, \(state), body \(job.stdout.utf8.count) bytes")

    print("  wrk -t\(options.threads) -c\(options.connections) -d\(options.seconds)s --latency \(url)")
    let run = try spawnAndWait(wrk, ["-t\(options.threads)", "-c\(options.connections)", "-d\(options.seconds)s", "--latency", url],
                               environment: env, scratch: scratch)
    guard run.succeeded else { throw TransferBenchError("wrk failed (\(run.exitCode)): \(run.stdout)\(run.stderr)") }
    let lines = run.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    func fields(_ prefix: String) -> [String]? {
        lines.first { $0.hasPrefix(prefix) }.map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
    }
    guard let rateLine = fields("Requests/sec:"), let rate = Double(rateLine.last ?? "") else {
        throw TransferBenchError("cannot read wrk's output:\n\(run.stdout)")
    }
    let total = lines.first { $0.contains("requests in") }?.split(separator: " ").first.flatMap { Int($0) } ?? 0
    let non2xx = fields("Non-2xx or 3xx responses:").flatMap { Int($0.last ?? "") } ?? 0
    let socketErrors = lines.first { $0.hasPrefix("Socket errors:") }
    let latency = fields("Latency") ?? []
    let p50 = fields("50%")?.last ?? "?", p99 = fields("99%")?.last ?? "?"
    print(String(format: "  %.0f requests/s (%d requests), latency avg %@ stdev %@ max %@, p50 %@ p99 %@",
                 rate, total, latency.count > 1 ? latency[1] : "?", latency.count > 2 ? latency[2] : "?",
                 latency.count > 3 ? latency[3] : "?", p50, p99))
    print("  non-2xx responses: \(non2xx)\(socketErrors.map { "; \($0)" } ?? "")")
    print(String(format: "  gateway peak RSS %.1f MiB", Double(gateway.peakRSSKiB) / 1024))
    print("  target: >= 10000 requests/s: \(rate >= 10_000 && non2xx == 0 ? "met" : "NOT met")")
    print("  load average after: \(loadAverage())")
    if non2xx > 0 { throw TransferBenchError("\(non2xx) responses were not 2xx") }
}
