// `batchctl-bench transfer`: upload and download of a large chat JSONL file through a real local gateway,
// batchctl side by side with curl doing the same HTTP exchanges, median of several runs, with batchctl's peak
// RSS from wait4. Also holds the helpers the gateway benchmark shares (child processes with rusage, a local
// gateway in a temporary data dir).
import Foundation
import Glibc

struct TransferBenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: shared helpers

/// The `batchctl` binary built next to this benchmark.
func benchBatchctlPath() throws -> String {
    let me = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    let batchctl = me.deletingLastPathComponent().appendingPathComponent("batchctl").path
    guard FileManager.default.isExecutableFile(atPath: batchctl) else {
        throw TransferBenchError("build batchctl first: swift build -c release --product batchctl")
    }
    return batchctl
}

/// What one child process did: exit status, wall time, peak RSS (ru_maxrss, KiB) and its output.
struct ChildRun {
    var exitCode: Int32
    var seconds: Double
    var maxRSSKiB: Int
    var stdout: String
    var stderr: String
    var succeeded: Bool { exitCode == 0 }
}

/// Runs `program args` with posix_spawn, its output captured in files under `scratch`, and collects its
/// resource usage with wait4 so the peak RSS is the child's own. With `stdoutPath` the output goes there and
/// is left unread (`ChildRun.stdout` is empty), for outputs too large to hold.
func spawnAndWait(_ program: String, _ args: [String], environment: [String: String], scratch: String,
                  stdoutPath: String? = nil) throws -> ChildRun {
    let outPath = stdoutPath ?? scratch + "/child-\(getpid()).out"
    let errPath = scratch + "/child-\(getpid()).err"
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let argv: [UnsafeMutablePointer<CChar>?] = ([program] + args).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for p in argv + envp { free(p) } }
    var pid: pid_t = 0
    let start = DispatchTime.now().uptimeNanoseconds
    let rc = posix_spawn(&pid, program, &actions, nil, argv, envp)
    guard rc == 0 else { throw TransferBenchError("cannot start \(program): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 {
        guard errno == EINTR else { throw TransferBenchError("wait4 failed: \(String(cString: strerror(errno)))") }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    let out = stdoutPath != nil ? "" : (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    if stdoutPath == nil { unlink(outPath) }
    unlink(errPath)
    return ChildRun(exitCode: exitCode, seconds: seconds, maxRSSKiB: Int(usage.ru_maxrss), stdout: out, stderr: err)
}

/// A `batchctl server --listen 127.0.0.1:0 --data-dir DIR --quiet` running for the length of a benchmark.
final class BenchGateway {
    let process = Process()
    let url: String
    let dataDir: String
    private var stopped = false

    init(batchctl: String, dataDir: String) throws {
        self.dataDir = dataDir
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: batchctl)
        process.arguments = ["server", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--quiet"]
        process.environment = ["HOME": dataDir, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        let log = Pipe()
        process.standardError = log
        try process.run()
        var found = ""
        var buffer = Data()
        while found.isEmpty {
            let chunk = log.fileHandleForReading.availableData
            if chunk.isEmpty {
                process.waitUntilExit()
                throw TransferBenchError("the gateway did not start: \(String(decoding: buffer, as: UTF8.self))")
            }
            buffer += chunk
            if let text = String(data: buffer, encoding: .utf8), let r = text.range(of: "listening on ") {
                found = String(text[r.upperBound...].prefix { !$0.isWhitespace })
            }
        }
        url = found
        // Keep draining stderr so a chatty server can never block on a full pipe.
        let reader = log.fileHandleForReading
        Thread.detachNewThread { while !reader.availableData.isEmpty {} }
    }

    /// The server's peak resident memory so far (VmHWM), in KiB.
    var peakRSSKiB: Int {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// The environment batchctl runs with in benchmarks: no user profile, no credentials.
func benchEnvironment(home: String) -> [String: String] {
    ["HOME": home, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "LC_ALL": "C"]
}

func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

// MARK: the transfer benchmark

private struct TransferOptions {
    var sizeMB = 1024
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
            case "--runs": runs = try value(argument)
            case "-h", "--help":
                print("""
                usage: batchctl-bench transfer [--size-mb N] [--runs N]
                  a deterministic chat JSONL file of N MiB (default 1024), uploaded and downloaded through a local
                  gateway by batchctl and by curl (the same HTTP exchanges), median of RUNS (default 3)
                """)
                exit(0)
            default: throw TransferBenchError("unknown option \(argument) (see --help)")
            }
        }
    }
}

func runTransferBench(arguments: [String]) throws {
    let options = try TransferOptions(arguments)
    let batchctl = try benchBatchctlPath()
    guard let curl = findTool("curl") else { throw TransferBenchError("curl not found") }
    let root = NSTemporaryDirectory() + "batchctl-bench-transfer-\(getpid())"
    try FileManager.default.createDirectory(atPath: root + "/scratch", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let scratch = root + "/scratch"
    let input = root + "/input.jsonl"

    print("transfer: load average \(loadAverage())")
    let t0 = Date()
    let (size, rows) = try writeChatJSONL(path: input, bytes: options.sizeMB << 20)
    let inputSum = try fileChecksum(input)
    print(String(format: "  input: %@ bytes, %@ rows, written in %.1f s (checksum %016llx)",
                 "\(size)", "\(rows)", Date().timeIntervalSince(t0), inputSum))
    let gateway = try BenchGateway(batchctl: batchctl, dataDir: root + "/data")
    defer { gateway.stop() }
    let env = benchEnvironment(home: root)
    let base = gateway.url + "/v1/accounts/local/datasets"
    let signed = Int64(size) > 150 * 1_000_000
    print("  gateway \(gateway.url); upload path: \(signed ? "signed URL (getUploadEndpoint + PUT + validateUpload)" : "multipart :upload (<= 150 MB)")")

    func curlJSON(_ args: [String]) throws -> [String: Any] {
        let r = try spawnAndWait(curl, ["-s", "-S", "--fail-with-body"] + args, environment: env, scratch: scratch)
        guard r.succeeded else { throw TransferBenchError("curl \(args.joined(separator: " ")) failed (\(r.exitCode)): \(r.stdout)\(r.stderr)") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else { return [:] }
        return object
    }
    func firstSignedURL(_ answer: [String: Any]) throws -> String {
        guard let urls = answer["filenameToSignedUrls"] as? [String: Any], let url = urls.values.first as? String else {
            throw TransferBenchError("no signed URL in \(answer)")
        }
        return url
    }

    /// curl doing what `dataset create --no-validate` does on the wire; returns the whole sequence's time
    /// and the PUT's own time.
    func curlUpload(_ id: String) throws -> (total: Double, put: Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let json = ["-H", "Content-Type: application/json", "-X", "POST"]
        _ = try curlJSON(json + ["-d", #"{"datasetId": "\#(id)", "dataset": {"userUploaded": {}, "exampleCount": "\#(rows)"}}"#, base])
        var put = 0.0
        if signed {
            let answer = try curlJSON(json + ["-d", #"{"filenameToSize": {"input.jsonl": "\#(size)"}}"#, "\(base)/\(id):getUploadEndpoint"])
            let url = try firstSignedURL(answer)
            let r = try spawnAndWait(curl, ["-s", "-S", "--fail-with-body", "-o", "/dev/null", "-T", input,
                                            "-H", "Content-Type: application/octet-stream",
                                            "-H", "X-Goog-Content-Length-Range: \(size),\(size)", url],
                                     environment: env, scratch: scratch)
            guard r.succeeded else { throw TransferBenchError("curl PUT failed (\(r.exitCode)): \(r.stderr)") }
            put = r.seconds
            _ = try curlJSON(json + ["-d", "{}", "\(base)/\(id):validateUpload"])
        } else {
            let r = try spawnAndWait(curl, ["-s", "-S", "--fail-with-body", "-o", "/dev/null", "-F", "file=@\(input);filename=input.jsonl",
                                            "\(base)/\(id):upload"], environment: env, scratch: scratch)
            guard r.succeeded else { throw TransferBenchError("curl multipart upload failed (\(r.exitCode)): \(r.stderr)") }
            put = r.seconds
        }
        return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, put)
    }

    func deleteDataset(_ id: String) {
        _ = try? spawnAndWait(curl, ["-s", "-o", "/dev/null", "-X", "DELETE", "\(base)/\(id)"], environment: env, scratch: scratch)
    }

    var batchctlUp: [Double] = [], curlUp: [Double] = [], curlPut: [Double] = []
    var batchctlDown: [Double] = [], curlDown: [Double] = []
    var peakUp = 0, peakDown = 0
    let megabytes = Double(size) / 1e6
    for i in 0..<options.runs {
        // Upload: batchctl, then curl, interleaved so drift in the machine's load hits both alike.
        let up = try spawnAndWait(batchctl, ["--server", gateway.url, "-a", "local", "dataset", "create", "up-\(i)", input, "--no-validate", "-q"],
                                  environment: env, scratch: scratch)
        guard up.succeeded else { throw TransferBenchError("batchctl dataset create failed (\(up.exitCode)): \(up.stderr)") }
        batchctlUp.append(up.seconds)
        peakUp = max(peakUp, up.maxRSSKiB)
        let c = try curlUpload("cu-\(i)")
        curlUp.append(c.total)
        curlPut.append(c.put)
        deleteDataset("cu-\(i)")
        if i > 0 { deleteDataset("up-\(i)") }

        // Download of up-0 (the file batchctl uploaded): batchctl, then curl with a fresh signed URL.
        let outDir = root + "/down-\(i)"
        let down = try spawnAndWait(batchctl, ["--server", gateway.url, "-a", "local", "dataset", "download", "up-0", "--output-dir", outDir, "-q"],
                                    environment: env, scratch: scratch)
        guard down.succeeded else { throw TransferBenchError("batchctl dataset download failed (\(down.exitCode)): \(down.stderr)") }
        batchctlDown.append(down.seconds)
        peakDown = max(peakDown, down.maxRSSKiB)
        let downloaded = outDir + "/dataset/up-0/input.jsonl"
        try checkSame(downloaded, size: size, checksum: inputSum, who: "batchctl download")
        try? FileManager.default.removeItem(atPath: outDir)

        let curlOut = root + "/curl-down.jsonl"
        let start = DispatchTime.now().uptimeNanoseconds
        let url = try firstSignedURL(try curlJSON(["\(base)/up-0:getDownloadEndpoint"]))
        let r = try spawnAndWait(curl, ["-s", "-S", "--fail", "-o", curlOut, url], environment: env, scratch: scratch)
        guard r.succeeded else { throw TransferBenchError("curl download failed (\(r.exitCode)): \(r.stderr)") }
        curlDown.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        try checkSame(curlOut, size: size, checksum: inputSum, who: "curl download")
        unlink(curlOut)
        print(String(format: "  run %d: upload batchctl %.0f MB/s, curl %.0f MB/s (PUT alone %.0f MB/s); download batchctl %.0f MB/s, curl %.0f MB/s",
                     i + 1, megabytes / up.seconds, megabytes / c.total, megabytes / c.put, megabytes / down.seconds,
                     megabytes / curlDown.last!))
    }

    let mbUp = megabytes / median(batchctlUp), mcUp = megabytes / median(curlUp)
    let mbDown = megabytes / median(batchctlDown), mcDown = megabytes / median(curlDown)
    print("  median of \(options.runs) (MB = 10^6 bytes; curl timed over its whole sequence of requests):")
    print(String(format: "  upload:   batchctl %6.0f MB/s   curl %6.0f MB/s (PUT alone %.0f MB/s)   ratio %.2fx (target >= 0.7x)",
                 mbUp, mcUp, megabytes / median(curlPut), mbUp / mcUp))
    print(String(format: "  download: batchctl %6.0f MB/s   curl %6.0f MB/s   ratio %.2fx (target >= 0.7x)", mbDown, mcDown, mbDown / mcDown))
    print(String(format: "  batchctl peak RSS: upload %.1f MiB, download %.1f MiB (target < 64 MiB); gateway peak RSS %.1f MiB",
                 Double(peakUp) / 1024, Double(peakDown) / 1024, Double(gateway.peakRSSKiB) / 1024))
    print("  downloads identical to the input (size and checksum): yes")
    print("  load average after: \(loadAverage())")
}

private func checkSame(_ path: String, size: Int, checksum: UInt64, who: String) throws {
    var info = stat()
    guard stat(path, &info) == 0 else { throw TransferBenchError("\(who): \(path) is missing") }
    guard Int(info.st_size) == size else { throw TransferBenchError("\(who): \(info.st_size) bytes, expected \(size)") }
    let sum = try fileChecksum(path)
    guard sum == checksum else { throw TransferBenchError(String(format: "%@: checksum %016llx, expected %016llx", who, sum, checksum)) }
}

/// A cheap 64-bit checksum (multiply-xor over 8-byte words, then the tail), fast enough for gigabytes.
func fileChecksum(_ path: String) throws -> UInt64 {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw TransferBenchError("cannot read \(path)") }
    defer { close(fd) }
    let capacity = 8 << 20
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    defer { buffer.deallocate() }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    var total: UInt64 = 0
    while true {
        // Fill the buffer completely (or to EOF) so word boundaries do not depend on read sizes.
        var filled = 0
        while filled < capacity {
            let n = read(fd, buffer + filled, capacity - filled)
            if n < 0 { if errno == EINTR { continue }; throw TransferBenchError("cannot read \(path)") }
            if n == 0 { break }
            filled += n
        }
        if filled == 0 { break }
        let words = filled / 8
        let p = buffer.assumingMemoryBound(to: UInt64.self)
        var h = hash
        for k in 0..<words { h = (h ^ p[k]) &* 0x1000_0000_01b3; h ^= h >> 29 }
        let bytes = buffer.assumingMemoryBound(to: UInt8.self)
        for k in (words * 8)..<filled { h = (h ^ UInt64(bytes[k])) &* 0x1000_0000_01b3 }
        hash = h
        total += UInt64(filled)
        if filled < capacity { break }
    }
    return hash ^ total
}

/// Writes a deterministic, valid chat JSONL file of at least `bytes` bytes (whole rows); returns its size
/// and row count.
func writeChatJSONL(path: String, bytes: Int) throws -> (size: Int, rows: Int) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw TransferBenchError("cannot create \(path)") }
    defer { close(fd) }
    let words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "summarize", "this", "paragraph", "about",
                 "batch", "inference", "and", "explain", "why", "throughput", "matters", "for", "large", "datasets", "of",
                 "chat", "requests", "in", "plain", "words", "please", "answer", "briefly", "with", "examples"].map { Array($0.utf8) }
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
    var buffer: [UInt8] = []
    buffer.reserveCapacity(9 << 20)
    var size = 0, rows = 0
    func flush() throws {
        try buffer.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue }; throw TransferBenchError("cannot write \(path)") }
                done += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
    let head = Array(#"{"custom_id":"r"#.utf8), mid = Array(#"","body":{"messages":[{"role":"user","content":""#.utf8)
    let tail = Array("\"}]}}\n".utf8)
    while size + buffer.count < bytes {
        rows += 1
        buffer += head
        buffer += Array(String(rows).utf8)
        buffer += mid
        let count = 20 + Int(next() % 160)
        for w in 0..<count {
            if w > 0 { buffer.append(0x20) }
            buffer += words[Int(next() % UInt64(words.count))]
        }
        buffer += tail
        if buffer.count >= 8 << 20 { size += buffer.count; try flush() }
    }
    size += buffer.count
    try flush()
    return (size, rows)
}
