// ValidateBench: `batchctl-bench validate`, dataset validation speed against a Python + orjson reference.

import BatchJSONL
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Generates a deterministic chat dataset and times, in the same run on the same file, DatasetValidator
/// in-process on one thread, optionally the `batchctl dataset validate` binary, and
/// `reference/validate_orjson.py`; median of N runs each, with throughput, ratio to orjson and peak memory.
///
/// Flags: `--size-mb N` (default 1024), `--runs N` (default 3), `--batchctl PATH`, `--python PATH`
/// (default python3), `--reference PATH`, `--dir DIR` (where the dataset goes; default a temp dir), `--keep`
/// (keep the dataset; a kept file of the right size is reused by the next run).
func runValidateBench(arguments: [String]) throws {
    var sizeMB = 1024
    var runs = 3
    var batchctl: String?
    var python = "python3"
    var reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("reference/validate_orjson.py").path
    var directory: String?
    var keep = false
    var args = arguments[...]
    func value(_ flag: String) throws -> String {
        guard let v = args.popFirst() else { throw BenchError.usage("\(flag) needs a value") }
        return v
    }
    while let arg = args.popFirst() {
        switch arg {
        case "--size-mb": guard let n = Int(try value(arg)), n > 0 else { throw BenchError.usage("--size-mb needs a positive number") }; sizeMB = n
        case "--runs": guard let n = Int(try value(arg)), n > 0 else { throw BenchError.usage("--runs needs a positive number") }; runs = n
        case "--batchctl": batchctl = try value(arg)
        case "--python": python = try value(arg)
        case "--reference": reference = try value(arg)
        case "--dir": directory = try value(arg)
        case "--keep": keep = true
        default: throw BenchError.usage("unknown flag \(arg) (validate takes --size-mb, --runs, --batchctl, --python, --reference, --dir, --keep)")
        }
    }

    let dir = directory ?? (NSTemporaryDirectory() + "batchctl-bench-validate")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/chat-\(sizeMB)mb-v1.jsonl"
    let generateStart = DispatchTime.now()
    let generatedRows = try DatasetGenerator.writeIfNeeded(path: path, bytes: sizeMB << 20)
    let generateSeconds = Double(DispatchTime.now().uptimeNanoseconds - generateStart.uptimeNanoseconds) / 1e9
    defer { if !keep { try? FileManager.default.removeItem(atPath: path) } }
    let size = try (FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
    print("validate: \(path)")
    print("  \(formatGB(size)), " + (generatedRows.map { "\($0) rows, generated in \(fixed(generateSeconds, 1)) s" } ?? "reused"))

    // Warm the page cache so the first contender is not charged for the disk.
    _ = try DatasetValidator().validate(path: path)

    var contenders: [Contender] = [Contender(name: "batchctl (in-process)") {
        resetPeakRSS()
        let cpu0 = processCPUSeconds()
        let t0 = DispatchTime.now()
        let report = try DatasetValidator().validate(path: path)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9
        let cpu = processCPUSeconds() - cpu0
        guard report.valid else { throw BenchError.failed("our validator refused the dataset: \(report.renderedProblems.prefix(3))") }
        return Sample(seconds: seconds, cpuSeconds: cpu, peakRSS: currentPeakRSS(), output: report.summary)
    }]
    // The floor under any validator: reading the file and finding its lines, nothing else.
    contenders.append(Contender(name: "line reader only") {
        resetPeakRSS()
        let cpu0 = processCPUSeconds()
        let t0 = DispatchTime.now()
        let reader = try JSONLLineReader(path: path)
        var lines = 0
        while try reader.nextLine() != nil { lines += 1 }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9
        return Sample(seconds: seconds, cpuSeconds: processCPUSeconds() - cpu0, peakRSS: currentPeakRSS(), output: "\(lines) lines")
    })
    if let batchctl {
        contenders.append(Contender(name: "batchctl dataset validate") {
            try runChild([batchctl, "dataset", "validate", path])
        })
    }
    contenders.append(Contender(name: "python3 + orjson") { try runChild([python, reference, path]) })

    var samples = Array(repeating: [Sample](), count: contenders.count)
    for round in 0..<runs {
        // Interleaved, so a slow moment of the machine hits every contender alike.
        for (i, contender) in contenders.enumerated() {
            let sample = try contender.run()
            samples[i].append(sample)
            if round == 0 { print("  \(contender.name): \(sample.output.prefix(200))") }
        }
    }

    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    let wall = samples.map { median($0.map(\.seconds)) }
    let cpu = samples.map { median($0.map(\.cpuSeconds)) }
    let wallRef = wall.last ?? 1, cpuRef = cpu.last ?? 1
    print("")
    print(pad("contender", 28) + pad("wall s", 9) + pad("GB/s", 7) + pad("vs orjson", 11) + pad("cpu s", 9) + pad("GB/s", 7)
          + pad("vs orjson", 11) + "peak RSS")
    for (i, contender) in contenders.enumerated() {
        let peak = samples[i].map(\.peakRSS).max() ?? 0
        print(pad(contender.name, 28) + pad(fixed(wall[i], 3), 9) + pad(fixed(Double(size) / wall[i] / 1e9, 2), 7)
              + pad(fixed(wallRef / wall[i], 2) + "x", 11) + pad(fixed(cpu[i], 3), 9) + pad(fixed(Double(size) / cpu[i] / 1e9, 2), 7)
              + pad(fixed(cpuRef / cpu[i], 2) + "x", 11) + "\(peak >> 20) MiB")
    }
    var loadavg = [Double](repeating: 0, count: 3)
    if getloadavg(&loadavg, 3) == 3 { print("(load average at the end: \(fixed(loadavg[0], 2)); wall times suffer when it exceeds the core count)") }
    print("(runs: \(runs) each, median; GB = 10^9 bytes; targets: >= 1 GB/s on one core and >= 4x orjson)")
}

enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    case failed(String)
    var description: String {
        switch self {
        case let .usage(m): return "usage: \(m)"
        case let .failed(m): return m
        }
    }
}

private struct Sample {
    var seconds: Double
    /// User + system CPU time: on a busy machine, the fairer measure of one core's throughput.
    var cpuSeconds: Double
    var peakRSS: Int
    var output: String
}

private struct Contender {
    var name: String
    var run: () throws -> Sample
}

/// CPU time used by this process so far (the validator runs on this one thread, nothing else is busy).
private func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The peak resident set size of this process (VmHWM), in bytes.
private func currentPeakRSS() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}

/// Resets VmHWM (Linux: writing 5 to clear_refs), so each run measures only its own peak.
private func resetPeakRSS() {
    let fd = open("/proc/self/clear_refs", O_WRONLY)
    guard fd >= 0 else { return }
    _ = write(fd, "5", 1)
    close(fd)
}

/// Runs a command with stdout to a temp file, waiting with wait4 so its own peak RSS is known exactly.
private func runChild(_ argv: [String]) throws -> Sample {
    let outPath = NSTemporaryDirectory() + "batchctl-bench-child-\(getpid()).out"
    defer { unlink(outPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var cArgs = argv.map { strdup($0) } + [nil]
    defer { for p in cArgs { free(p) } }
    var pid: pid_t = 0
    let t0 = DispatchTime.now()
    let rc = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, environ)
    guard rc == 0 else { throw BenchError.failed("cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9
    let output = (try? String(contentsOfFile: outPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    // Exit status 0 when the process exited normally with 0 (WIFEXITED and WEXITSTATUS, spelled out).
    guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
        throw BenchError.failed("\(argv.joined(separator: " ")) failed (status \(status)): \(output.prefix(300))")
    }
    let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    return Sample(seconds: seconds, cpuSeconds: cpu, peakRSS: usage.ru_maxrss * 1024, output: output)
}

private func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }

private func fixed(_ x: Double, _ places: Int) -> String { String(format: "%.\(places)f", x) }

private func formatGB(_ n: Int) -> String { fixed(Double(n) / 1e9, 3) + " GB" }

/// Writes realistic chat rows: system prompts, multi-turn conversations, content-part arrays, prompts of a
/// few hundred bytes to a few KB in several scripts, with escapes (quotes, newlines, tabs, \u sequences,
/// surrogate pairs) and raw multi-byte UTF-8. Deterministic: the same size gives the same file.
enum DatasetGenerator {
    static let words: [String] = [
        "the", "model", "should", "answer", "question", "about", "data", "batch", "inference", "with", "a", "short",
        "summary", "of", "results", "and", "explain", "why", "each", "step", "matters", "for", "users", "who", "read",
        "logs", "in", "production", "systems", "latency", "throughput", "tokens", "prompt", "context", "window",
        "translate", "following", "sentence", "into", "French", "café", "naïve", "résumé", "Zürich", "日本語",
        "の", "テキスト", "中文", "数据", "Привет", "мир", "안녕하세요", "مرحبا", "😀", "🚀", "ünïcödé",
        "function", "return", "value", "list", "table", "JSON", "schema", "field", "array", "object", "number",
        "please", "write", "code", "that", "parses", "input", "quickly", "and", "correctly", "without", "errors",
    ]
    static let escapes: [String] = [#"\n"#, #"\n\n"#, #"\""#, #"\\"#, #"\t"#, #"\u00e9"#, #"\ud83d\ude00"#, #"\/"#]
    static let systems: [String] = [
        "You are a helpful assistant.",
        "You are a concise assistant. Answer in at most three sentences.",
        #"You are an expert translator. Keep formatting such as \"quotes\" and\nline breaks."#,
    ]

    /// Reuses `path` when it already holds a file of about the wanted size (a kept earlier run).
    /// Returns the row count of a new file, nil when an existing one was reused.
    static func writeIfNeeded(path: String, bytes: Int) throws -> Int? {
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
           let size = (attributes[.size] as? NSNumber)?.intValue, size >= bytes, size < bytes + 65536 {
            return nil
        }
        return try write(path: path, bytes: bytes)
    }

    static func write(path: String, bytes target: Int) throws -> Int {
        let temp = path + ".part"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw BenchError.failed("cannot create \(temp): \(String(cString: strerror(errno)))") }
        var rng: UInt64 = 0x5EED
        func next() -> UInt64 {
            rng &+= 0x9E37_79B9_7F4A_7C15
            var z = rng
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        func pick(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        var out: [UInt8] = []
        out.reserveCapacity(8 << 20)
        var written = 0
        var rows = 0
        func flush() throws {
            try out.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, base + offset, raw.count - offset)
                    if n < 0 { if errno == EINTR { continue }; throw BenchError.failed("write failed: \(String(cString: strerror(errno)))") }
                    offset += n
                }
            }
            written += out.count
            out.removeAll(keepingCapacity: true)
        }
        func text(_ approxBytes: Int) {
            var n = 0
            while n < approxBytes {
                let r = pick(100)
                let piece = r < 4 ? escapes[pick(escapes.count)] : words[pick(words.count)]
                out.append(contentsOf: piece.utf8)
                n += piece.utf8.count + 1
                out.append(r < 12 ? UInt8(ascii: ",") : r < 16 ? UInt8(ascii: ".") : UInt8(ascii: " "))
            }
        }
        func message(_ role: String, _ approxBytes: Int) {
            out.append(contentsOf: #"{"role":""#.utf8); out.append(contentsOf: role.utf8)
            out.append(contentsOf: #"","content":""#.utf8); text(approxBytes); out.append(contentsOf: #""}"#.utf8)
        }
        while written + out.count < target {
            rows += 1
            out.append(contentsOf: #"{"custom_id":"request-"#.utf8); out.append(contentsOf: String(rows).utf8)
            let shape = pick(100)
            if shape < 8 { out.append(contentsOf: #"","method":"POST","url":"/v1/chat/completions"#.utf8) }
            out.append(contentsOf: #"","body":{"messages":["#.utf8)
            if shape < 60 {
                out.append(contentsOf: #"{"role":"system","content":""#.utf8); out.append(contentsOf: systems[pick(systems.count)].utf8)
                out.append(contentsOf: #""},"#.utf8)
                message("user", 150 + pick(2500))
            } else if shape < 88 {
                let turns = 1 + pick(3)
                for t in 0..<turns {
                    if t > 0 { out.append(UInt8(ascii: ",")) }
                    message("user", 80 + pick(900)); out.append(UInt8(ascii: ","))
                    message("assistant", 80 + pick(900))
                }
                out.append(UInt8(ascii: ",")); message("user", 50 + pick(400))
            } else {
                out.append(contentsOf: #"{"role":"user","content":[{"type":"text","text":""#.utf8); text(200 + pick(1500))
                out.append(contentsOf: #""},{"type":"image_url","image_url":{"url":"https://example.com/img/"#.utf8)
                out.append(contentsOf: String(pick(100_000)).utf8); out.append(contentsOf: #".png"}}]}"#.utf8)
            }
            out.append(contentsOf: #"],"max_tokens":"#.utf8); out.append(contentsOf: String(64 + pick(960)).utf8)
            if shape % 3 == 0 { out.append(contentsOf: #","temperature":0."#.utf8); out.append(contentsOf: String(pick(10)).utf8) }
            if shape % 5 == 0 { out.append(contentsOf: #","top_p":0.95,"stop":["\n\n","END"]"#.utf8) }
            out.append(contentsOf: "}}\n".utf8)
            if out.count >= 4 << 20 { try flush() }
        }
        try flush()
        close(fd)
        guard rename(temp, path) == 0 else { throw BenchError.failed("cannot rename \(temp): \(String(cString: strerror(errno)))") }
        return rows
    }
}
