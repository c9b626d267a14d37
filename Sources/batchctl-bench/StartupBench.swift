// Startup: `batchctl --version` and `batchctl bij get` against the local gateway, launched many times, side
// by side with `curl` (a native C CLI) doing the same, median per launch.
import Foundation

/// Runs `program args` `runs` times and returns the median wall time in milliseconds. posix_spawn and waitpid
/// directly: Foundation's Process polls for the child's exit and adds tens of milliseconds.
func medianLaunchMilliseconds(_ program: String, _ args: [String], runs: Int, environment: [String: String]? = nil) -> Double {
    var times: [Double] = []
    let argv = ([program] + args).map { strdup($0) } + [nil]
    let envStrings = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
    let envp = envStrings.map { strdup($0) } + [nil]
    defer { for p in argv + envp { free(p) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    for _ in 0..<runs {
        var pid: pid_t = 0
        let start = DispatchTime.now().uptimeNanoseconds
        guard posix_spawn(&pid, program, &actions, nil, argv, envp) == 0 else { return .nan }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
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
    let batchctl = try benchBatchctlPath()
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
    try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dataDir) }
    let gateway = try BenchGateway(batchctl: batchctl, dataDir: dataDir + "/data")
    defer { gateway.stop() }
    let url = gateway.url
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
