// `batchctl-bench split`: `batchctl dataset split` on a large chat JSONL file side by side with coreutils'
// `split -C` (which cuts at line boundaries too, but validates nothing and does not fsync) on the same file,
// and `batchctl dataset validate` for the speed of the validation alone; median of several runs.
import Foundation
import Glibc

private struct SplitOptions {
    var sizeMB = 1024
    var partMB = 100
    var runs = 3

    init(_ arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        func value(_ flag: String) throws -> Int {
            guard let text = iterator.next(), let number = Int(text), number > 0 else { throw TransferBenchError("\(flag) needs a positive number") }
            return number
        }
        while let argument = iterator.next() {
            switch argument {
            case "--size-mb": sizeMB = try value(argument)
            case "--part-mb": partMB = try value(argument)
            case "--runs": runs = try value(argument)
            case "-h", "--help":
                print("""
                usage: batchctl-bench split [--size-mb N] [--part-mb N] [--runs N]
                  a deterministic chat JSONL file of N MiB (default 1024) cut into parts of at most --part-mb MB
                  (default 100) by `batchctl dataset split --max-bytes` and by `split -C`, median of RUNS (default 3)
                """)
                exit(0)
            default: throw TransferBenchError("unknown option \(argument) (see --help)")
            }
        }
    }
}

func runSplitBench(arguments: [String]) throws {
    let options = try SplitOptions(arguments)
    let batchctl = try benchBatchctlPath()
    guard let split = findTool("split"), let sync = findTool("sync") else { throw TransferBenchError("split or sync (coreutils) not found") }
    let root = NSTemporaryDirectory() + "batchctl-bench-split-\(getpid())"
    let scratch = root + "/scratch", parts = root + "/parts"
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let input = root + "/input.jsonl"
    print("split: load average \(loadAverage())")
    let (size, rows) = try writeChatJSONL(path: input, bytes: options.sizeMB << 20)
    let limit = options.partMB * 1_000_000
    print("  input: \(size) bytes, \(rows) rows; parts of at most \(limit) bytes")
    let env = benchEnvironment(home: root)

    func fresh() throws {
        try? FileManager.default.removeItem(atPath: parts)
        try FileManager.default.createDirectory(atPath: parts, withIntermediateDirectories: true)
    }
    func partsMatchInput(_ prefix: String) throws -> Int {
        let names = try FileManager.default.contentsOfDirectory(atPath: parts).filter { $0.hasPrefix(prefix) }.sorted()
        var total = 0
        for name in names {
            var info = stat()
            stat(parts + "/" + name, &info)
            guard Int(info.st_size) <= limit else { throw TransferBenchError("\(name) is \(info.st_size) bytes, over the limit") }
            total += Int(info.st_size)
        }
        guard total == size else { throw TransferBenchError("the parts hold \(total) bytes, the input \(size)") }
        return names.count
    }

    // Warm the page cache so every contender reads the input from memory.
    _ = try fileChecksum(input)
    var ours: [Double] = [], theirs: [Double] = [], synced: [Double] = [], validate: [Double] = []
    var peak = 0, validatePeak = 0, partCount = 0, theirCount = 0
    for run in 1...options.runs {
        try fresh()
        let b = try spawnAndWait(batchctl, ["dataset", "split", input, "--max-bytes", String(limit), "--output-dir", parts, "-q"],
                                 environment: env, scratch: scratch)
        guard b.succeeded else { throw TransferBenchError("batchctl dataset split failed (\(b.exitCode)): \(b.stderr)") }
        partCount = try partsMatchInput("input.part-")
        ours.append(b.seconds)
        peak = max(peak, b.maxRSSKiB)
        try fresh()
        let c = try spawnAndWait(split, ["-C", String(limit), "-d", "-a", "4", input, parts + "/x"], environment: env, scratch: scratch)
        guard c.succeeded else { throw TransferBenchError("split -C failed (\(c.exitCode)): \(c.stderr)") }
        theirCount = try partsMatchInput("x")
        theirs.append(c.seconds)
        // The same durability as batchctl's: fsync the parts (coreutils `sync FILE...`).
        let names = try FileManager.default.contentsOfDirectory(atPath: parts).filter { $0.hasPrefix("x") }.sorted().map { parts + "/" + $0 }
        let s = try spawnAndWait(sync, names, environment: env, scratch: scratch)
        guard s.succeeded else { throw TransferBenchError("sync failed (\(s.exitCode)): \(s.stderr)") }
        synced.append(c.seconds + s.seconds)
        let v = try spawnAndWait(batchctl, ["dataset", "validate", input, "-q"], environment: env, scratch: scratch)
        guard v.succeeded else { throw TransferBenchError("batchctl dataset validate failed (\(v.exitCode)): \(v.stderr)") }
        validate.append(v.seconds)
        validatePeak = max(validatePeak, v.maxRSSKiB)
        print(String(format: "  run %d: batchctl split %.2f s, split -C %.2f s (%.2f s with sync of the parts), batchctl validate %.2f s",
                     run, b.seconds, c.seconds, synced.last!, v.seconds))
    }
    try? FileManager.default.removeItem(atPath: parts)
    let mb = Double(size) / 1e6
    let (o, t, v) = (median(ours), median(theirs), median(validate))
    print(String(format: "  batchctl dataset split: %.2f s, %.0f MB/s, %d parts, peak RSS %d MiB (validates every row, fsyncs each part)",
                 o, mb / o, partCount, peak / 1024))
    print(String(format: "  coreutils split -C:     %.2f s, %.0f MB/s, %d parts (no validation, no fsync)", t, mb / t, theirCount))
    let ts = median(synced)
    print(String(format: "  split -C + sync parts:  %.2f s, %.0f MB/s (the same durability as batchctl, still no validation)", ts, mb / ts))
    print(String(format: "  batchctl dataset validate alone: %.2f s, %.0f MB/s, peak RSS %d MiB", v, mb / v, validatePeak / 1024))
    print(String(format: "  ratio batchctl / split -C: %.2fx the throughput (%.2fx of split -C + sync); split / validate: %.2fx the time",
                 t / o, ts / o, o / v))
    print("  load average \(loadAverage())")
}
