// Startup: `batchctl --version` and `batchctl bij get` against the local gateway, launched many times, side
// by side with `curl` (a native C CLI) doing the same, median per launch; `--compare OTHER` measures another
// batchctl build (say the dynamically linked one) in the same run, in alternating rounds.
import Foundation

/// Runs `program args` `runs` times and returns the median wall time in milliseconds. posix_spawn and waitpid
/// directly: Foundation's Process polls for the child's exit and adds tens of milliseconds.
func medianLaunchMilliseconds(_ program: String, _ args: [String], runs: Int, environment: [String: String]? = nil) -> Double {
    median(launchMilliseconds(program, args, runs: runs, environment: environment))
}

/// The median launch time of each of `commands`, measured in ten alternating rounds, so that a change of the
/// machine's load during the run falls on all of them alike.
func interleavedMedians(_ commands: [(program: String, args: [String])], runs: Int, environment: [String: String]? = nil) -> [Double] {
    var times = Array(repeating: [Double](), count: commands.count)
    let rounds = min(10, runs)
    for round in 0..<rounds {
        let share = runs / rounds + (round < runs % rounds ? 1 : 0)
        for (i, c) in commands.enumerated() { times[i] += launchMilliseconds(c.program, c.args, runs: share, environment: environment) }
    }
    return times.map(median)
}

/// Each launch's wall time in milliseconds.
func launchMilliseconds(_ program: String, _ args: [String], runs: Int, environment: [String: String]? = nil) -> [Double] {
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
        guard posix_spawn(&pid, program, &actions, nil, argv, envp) == 0 else { return [] }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    return times
}

func findTool(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

/// `--name VALUE` among the benchmark's arguments.
func option(_ name: String, in arguments: [String]) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}

func fileMiB(_ path: String) -> Double {
    Double((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) / 1_048_576
}

func runStartupBench(arguments: [String]) throws {
    let runs = option("--runs", in: arguments).flatMap(Int.init) ?? 50
    let batchctl = try option("--batchctl", in: arguments) ?? benchBatchctlPath()
    let other = option("--compare", in: arguments)
    for path in [batchctl] + (other.map { [$0] } ?? []) where !FileManager.default.isExecutableFile(atPath: path) {
        throw TransferBenchError("\(path) is not an executable")
    }
    let curl = findTool("curl")
    print("startup: median of \(runs) launches")
    print("  batchctl: \(batchctl) (" + String(format: "%.1f MiB)", fileMiB(batchctl)))
    if let other { print("  compared: \(other) (" + String(format: "%.1f MiB)", fileMiB(other))) }
    let trueTime = medianLaunchMilliseconds("/bin/true", [], runs: runs)
    print(String(format: "  /bin/true (process spawn floor)      %7.2f ms", trueTime))
    var commands = [(batchctl, ["--version"])]
    if let other { commands.append((other, ["--version"])) }
    if let curl { commands.append((curl, ["--version"])) }
    var times = interleavedMedians(commands, runs: runs)
    let version = times[0]
    print(String(format: "  batchctl --version                   %7.2f ms", version))
    if other != nil { print(String(format: "  compared --version                   %7.2f ms   batchctl/compared %.2fx", times[1], version / times[1])) }
    if curl != nil { print(String(format: "  curl --version (reference)           %7.2f ms   batchctl/curl %.2fx", times.last!, version / times.last!)) }

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
    let getArgs = ["--server", url, "-a", "local", "bij", "get", "j"]
    commands = [(batchctl, getArgs)]
    if let other { commands.append((other, getArgs)) }
    if let curl { commands.append((curl, ["-s", "\(url)/v1/accounts/local/batchInferenceJobs/j"])) }
    times = interleavedMedians(commands, runs: runs, environment: env)
    let get = times[0]
    print(String(format: "  batchctl bij get (local gateway)     %7.2f ms", get))
    if other != nil { print(String(format: "  compared bij get                     %7.2f ms   batchctl/compared %.2fx", times[1], get / times[1])) }
    if curl != nil { print(String(format: "  curl GET of the same job (reference) %7.2f ms   batchctl/curl %.2fx", times.last!, get / times.last!)) }
    print("  target: under 15 ms, comparable to a Go CLI")
}
