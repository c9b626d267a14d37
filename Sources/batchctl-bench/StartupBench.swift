// Startup: `batchctl --version` and `batchctl bij get` against the local gateway, launched many times, side
// by side with `curl` (a native C CLI) doing the same, median per launch.
import Foundation

/// Runs `program args` `runs` times and returns the median wall time in milliseconds.
func medianLaunchMilliseconds(_ program: String, _ args: [String], runs: Int, environment: [String: String]? = nil) -> Double {
    var times: [Double] = []
    for _ in 0..<runs {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = args
        if let environment { p.environment = environment }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        let start = DispatchTime.now().uptimeNanoseconds
        guard (try? p.run()) != nil else { return .nan }
        p.waitUntilExit()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    times.sort()
    return times[times.count / 2]
}

func findTool(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

func runStartupBench(arguments: [String]) throws {
    var runs = 50
    if let i = arguments.firstIndex(of: "--runs"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) { runs = n }
    let me = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    let batchctl = me.deletingLastPathComponent().appendingPathComponent("batchctl").path
    guard FileManager.default.isExecutableFile(atPath: batchctl) else {
        throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "build batchctl first: swift build -c release --product batchctl"])
    }
    let curl = findTool("curl")
    print("startup: median of \(runs) launches")
    let trueTime = medianLaunchMilliseconds("/bin/true", [], runs: runs)
    let version = medianLaunchMilliseconds(batchctl, ["--version"], runs: runs)
    print(String(format: "  /bin/true (process spawn floor)      %7.2f ms", trueTime))
    print(String(format: "  batchctl --version                   %7.2f ms", version))
    if let curl {
        let curlVersion = medianLaunchMilliseconds(curl, ["--version"], runs: runs)
        print(String(format: "  curl --version (reference)           %7.2f ms   batchctl/curl %.2fx", curlVersion, version / curlVersion))
    }

    // A local gateway with one job, in a temporary data dir.
    let dataDir = NSTemporaryDirectory() + "batchctl-bench-startup-\(getpid())"
    let server = Process()
    server.executableURL = URL(fileURLWithPath: batchctl)
    server.arguments = ["server", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--quiet"]
    let log = Pipe()
    server.standardError = log
    try server.run()
    defer { server.terminate(); server.waitUntilExit(); try? FileManager.default.removeItem(atPath: dataDir) }
    var url = ""
    var buffer = Data()
    while url.isEmpty {
        let chunk = log.fileHandleForReading.availableData
        if chunk.isEmpty { throw NSError(domain: "bench", code: 2, userInfo: [NSLocalizedDescriptionKey: "server did not start"]) }
        buffer += chunk
        if let text = String(data: buffer, encoding: .utf8), let r = text.range(of: "listening on ") {
            url = String(text[r.upperBound...].prefix { !$0.isWhitespace })
        }
    }
    let input = dataDir + "/input.jsonl"
    try #"{"custom_id": "a", "body": {"messages": [{"role": "user", "content": "hi"}]}}"#.appending("\n").write(toFile: input, atomically: true, encoding: .utf8)
    let env = ["HOME": dataDir, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    for args in [["dataset", "create", "ds", input, "-q"], ["bij", "create", "--job-id", "j", "-m", "echo", "-d", "ds", "-q"]] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: batchctl)
        p.arguments = ["--server", url, "-a", "local"] + args
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
    }
    let get = medianLaunchMilliseconds(batchctl, ["--server", url, "-a", "local", "bij", "get", "j"], runs: runs, environment: env)
    print(String(format: "  batchctl bij get (local gateway)     %7.2f ms", get))
    if let curl {
        let curlGet = medianLaunchMilliseconds(curl, ["-s", "\(url)/v1/accounts/local/batchInferenceJobs/j"], runs: runs)
        print(String(format: "  curl GET of the same job (reference) %7.2f ms   batchctl/curl %.2fx", curlGet, get / curlGet))
    }
    print("  target: under 15 ms, comparable to a Go CLI")
}
