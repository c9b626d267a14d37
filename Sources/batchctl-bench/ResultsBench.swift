// `batchctl-bench results`: `batchctl bij results` on a 1,000,000-row job of the local gateway (echo model),
// the whole command (download through signed URLs, index, join in input order, print): time and peak RSS;
// beside it the hand-written reconcile script (reference/results_join.py) on the same files, already local.
import Foundation
import Glibc

private struct ResultsOptions {
    var rows = 1_000_000
    var runs = 3

    init(_ arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        func value(_ flag: String) throws -> Int {
            guard let text = iterator.next(), let number = Int(text), number > 0 else { throw TransferBenchError("\(flag) needs a positive number") }
            return number
        }
        while let argument = iterator.next() {
            switch argument {
            case "--rows": rows = try value(argument)
            case "--runs": runs = try value(argument)
            case "-h", "--help":
                print("""
                usage: batchctl-bench results [--rows N] [--runs N]
                  a job of N rows (default 1,000,000) on the echo model of a local gateway, then `bij results` of it
                  to a file, median of RUNS (default 3); the Python reconcile script on the downloaded files beside it
                """)
                exit(0)
            default: throw TransferBenchError("unknown option \(argument) (see --help)")
            }
        }
    }
}

/// `rows` short chat rows `{"custom_id":"r<n>","body":{...}}`; returns the file's size.
private func writeRows(path: String, rows: Int) throws -> Int {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw TransferBenchError("cannot create \(path)") }
    defer { close(fd) }
    var buffer: [UInt8] = []
    buffer.reserveCapacity(9 << 20)
    var size = 0
    func flush() throws {
        try buffer.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue }; throw TransferBenchError("cannot write \(path)") }
                done += n
            }
        }
        size += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }
    for i in 1...rows {
        buffer += Array(#"{"custom_id":"r\#(i)","body":{"messages":[{"role":"user","content":"tell me about the number \#(i) in a few plain words"}],"max_tokens":32}}"#.utf8)
        buffer.append(0x0A)
        if buffer.count >= 8 << 20 { try flush() }
    }
    try flush()
    return size
}

/// Newlines in a file, read in 8 MiB steps.
private func lineCount(_ path: String) throws -> Int {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw TransferBenchError("cannot read \(path)") }
    defer { close(fd) }
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: 8 << 20, alignment: 8)
    defer { buffer.deallocate() }
    var count = 0
    while true {
        let n = read(fd, buffer, 8 << 20)
        if n < 0 { if errno == EINTR { continue }; throw TransferBenchError("cannot read \(path)") }
        if n == 0 { return count }
        var p = UnsafeRawPointer(buffer)
        var left = n
        while left > 0, let hit = memchr(p, 0x0A, left) {
            count += 1
            let step = p.distance(to: UnsafeRawPointer(hit)) + 1
            p += step
            left -= step
        }
    }
}

func runResultsBench(arguments: [String]) throws {
    let options = try ResultsOptions(arguments)
    let batchctl = try benchBatchctlPath()
    let root = NSTemporaryDirectory() + "batchctl-bench-results-\(getpid())"
    let scratch = root + "/scratch"
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    print("results: load average \(loadAverage())")
    let input = root + "/input.jsonl"
    let size = try writeRows(path: input, rows: options.rows)
    print("  input: \(options.rows) rows, \(size) bytes")
    let gateway = try BenchGateway(batchctl: batchctl, dataDir: root + "/data")
    defer { gateway.stop() }
    let env = benchEnvironment(home: root)
    let cli = ["--server", gateway.url, "-a", "local"]
    func run(_ args: [String], stdout: String? = nil) throws -> ChildRun {
        let r = try spawnAndWait(batchctl, cli + args, environment: env, scratch: scratch, stdoutPath: stdout)
        guard r.succeeded else { throw TransferBenchError("batchctl \(args.joined(separator: " ")) failed (\(r.exitCode)): \(r.stderr)") }
        return r
    }
    _ = try run(["dataset", "create", "bench-input", input, "-q"])
    let job = try run(["bij", "create", "--job-id", "bench-job", "-m", "echo", "-d", "bench-input", "--wait", "-q"])
    print(String(format: "  the job ran in %.1f s", job.seconds))

    let out = root + "/joined.jsonl"
    var times: [Double] = [], peak = 0
    for i in 1...options.runs {
        let r = try run(["bij", "results", "bench-job"], stdout: out)
        let lines = try lineCount(out)
        guard lines == options.rows else { throw TransferBenchError("bij results printed \(lines) lines, expected \(options.rows)") }
        var info = stat()
        stat(out, &info)
        times.append(r.seconds)
        peak = max(peak, r.maxRSSKiB)
        print(String(format: "  run %d: bij results %.2f s, peak RSS %d MiB, %d lines, %lld bytes out (%@)", i, r.seconds,
                     r.maxRSSKiB / 1024, lines, Int64(info.st_size), r.stderr.split(separator: "\n").last.map(String.init) ?? ""))
    }
    let filtered = try run(["bij", "results", "bench-job", "--status", "failed,missing"], stdout: out)
    print(String(format: "  bij results --status failed,missing (index and join, nothing to print): %.2f s, peak RSS %d MiB",
                 filtered.seconds, filtered.maxRSSKiB / 1024))
    print(String(format: "  batchctl bij results, %d rows: %.2f s (%.0f rows/s), peak RSS %d MiB", options.rows, median(times),
                 Double(options.rows) / median(times), peak / 1024))

    // The reference: the reconcile script on the same files, downloaded beforehand (not timed).
    let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("reference/results_join.py").path
    if let python = findTool("python3"), FileManager.default.fileExists(atPath: reference) {
        let dir = root + "/download"
        let inputs = try run(["dataset", "download", "bench-input", "--output-dir", dir, "-q"]).stdout.split(separator: "\n").map(String.init)
        let jobJSON = try run(["bij", "get", "bench-job", "-o", "json"])
        guard let name = ((try? JSONSerialization.jsonObject(with: Data(jobJSON.stdout.utf8))) as? [String: Any])?["outputDatasetId"] as? String,
              let outputID = name.split(separator: "/").last else { throw TransferBenchError("no output dataset in \(jobJSON.stdout)") }
        let files = try run(["dataset", "download", String(outputID), "--output-dir", dir, "--download-lineage", "-q"]).stdout
            .split(separator: "\n").map(String.init)
        var ref: [Double] = [], refPeak = 0
        for _ in 1...options.runs {
            let r = try spawnAndWait(python, [reference] + inputs + files, environment: env, scratch: scratch, stdoutPath: out)
            guard r.succeeded else { throw TransferBenchError("results_join.py failed: \(r.stderr)") }
            guard try lineCount(out) == options.rows else { throw TransferBenchError("results_join.py printed the wrong number of lines") }
            ref.append(r.seconds)
            refPeak = max(refPeak, r.maxRSSKiB)
        }
        print(String(format: "  reference results_join.py (files already local): %.2f s, peak RSS %d MiB; batchctl %.2fx its speed, %.2fx its memory",
                     median(ref), refPeak / 1024, median(ref) / median(times), Double(peak) / Double(max(1, refPeak))))
    }
    print("  load average \(loadAverage())")
}
