// server (foreground), server start|stop|status, and starting the local gateway for --local.
import BatchHTTP
import BatchAPI
import BatchClient
import BatchJSONL
import BatchServer
import Foundation

enum ServerCommands {
    /// `--data-dir` when given, else the XDG default.
    static func dataDir(_ flag: String?, _ c: Context) -> String {
        if let d = flag { return d }
        if let xdg = c.environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/batchctl" }
        return c.home + "/.local/share/batchctl"
    }

    /// `HOST:PORT`, `[::1]:PORT` or `:PORT`.
    static func listenAddress(_ text: String?, command: String) throws -> (String, Int) {
        guard let text else { return ("127.0.0.1", 8700) }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw CLIError.usage("invalid --listen '\(text)': expected HOST:PORT", command: command)
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    static func options(_ c: Context, _ args: ServerArguments) throws -> ServerOptions {
        var o = ServerOptions(dataDir: dataDir(args.dataDir, c))
        o.userAgent = BuildInfo.userAgent
        o.serverName = BuildInfo.serverHeader
        (o.host, o.port) = try listenAddress(args.listen, command: c.invocation.command.path)
        o.apiKey = args.apiKey ?? c.environment["BATCHCTL_SERVER_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        o.account = args.accountID ?? "local"
        o.openAIAccount = args.openAIAccount ?? "local"
        o.backend = args.backend
        o.inferenceURLs = args.inferenceURLs
        o.inferenceAPIKey = args.inferenceAPIKey
        o.modelMap = args.modelMap
        o.allowedOrigins = args.allowedOrigins
        if let n = args.concurrency { o.concurrency = n }
        o.fixedConcurrency = args.fixedConcurrency
        if let bytes = args.maxResponseBytes { o.maxResponseBytes = bytes }
        if let t = args.requestTimeout { o.requestTimeout = DurationText.seconds(t) }
        if let t = args.minJobDuration { o.minJobDuration = DurationText.seconds(t) }
        o.injectedFault = args.injectedFault
        o.publicURL = args.publicURL
        o.createdBy = args.createdBy
        o.quiet = c.global.quiet
        return o
    }

    struct PidFile {
        var pid: Int32
        var url: String
        var started: String
        var account: String

        static func path(_ dataDir: String) -> String { dataDir + "/server.pid" }

        func write(_ dataDir: String) throws {
            let json = JSONValue.object([("pid", .int(pid)), ("url", .string(url)), ("started", .string(started)), ("account", .string(account))])
            try AtomicFile.write(json.serialized(), to: PidFile.path(dataDir), mode: 0o600)
        }

        static func read(_ dataDir: String) -> PidFile? {
            guard let data = FileManager.default.contents(atPath: path(dataDir)), let json = try? JSONValue(parsing: [UInt8](data)),
                  let pid = json["pid"]?.int64Value, let url = json["url"]?.stringValue else { return nil }
            return PidFile(pid: Int32(pid), url: url, started: json["started"]?.stringValue ?? "", account: json["account"]?.stringValue ?? "local")
        }

        var isAlive: Bool { kill(pid, 0) == 0 || errno == EPERM }
    }

    static func foreground(_ c: Context, _ args: ServerArguments) throws {
        // glibc gives every thread that allocates its own arena; with 64 request threads that alone can
        // double the server's memory. Two arenas cost nothing measurable in speed (see the engine benchmark).
        limitMallocArenas(2)
        // Datasets, results, the log and the pid file are the user's alone, whatever the API key says.
        umask(0o077)
        // Thousands of connections (idle or slow ones included) need descriptors: take what the hard limit allows.
        var files = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files) == 0, files.rlim_cur < files.rlim_max {
            files.rlim_cur = files.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &files)
        }
        let o = try options(c, args)
        try FileSystem.makeDirectories(o.dataDir, flag: "--data-dir")
        let server: LocalGatewayServer
        let url: String
        do {
            server = try LocalGatewayServer(options: o)
            url = try server.start()
        } catch let e as ServerStartError {
            throw e.isUsage ? CLIError.usage(e.description, command: "server") : CLIError.failure(e.description)
        }
        let pid = PidFile(pid: getpid(), url: url, started: Timestamp.now(), account: o.account)
        try? pid.write(o.dataDir)
        c.streams.error("batchctl server: listening on \(url) (data dir \(o.dataDir), backend \(o.effectiveBackend)\(o.inferenceURLs.count > 1 ? " on \(o.inferenceURLs.count) endpoints" : "")\(o.apiKey == nil ? "" : ", API key required"))")
        // Under systemd (Type=notify) the unit is "started" only now that the port accepts connections and a
        // SIGTERM would stop the server gracefully (the handlers are in place since main started).
        let signal = Interrupt.waitForServerStop(watching: {
            ServiceNotification.notify("READY=1\nSTATUS=listening on \(url)", environment: c.environment)
        })
        ServiceNotification.notify("STOPPING=1", environment: c.environment)
        c.streams.error("batchctl server: signal \(signal): finishing requests in flight and checkpointing jobs (a second signal stops at once)")
        server.stop()
        if PidFile.read(o.dataDir)?.pid == getpid() { unlink(PidFile.path(o.dataDir)) }
        c.streams.error("batchctl server: stopped")
    }

    /// `mallopt(M_ARENA_MAX, n)`; malloc.h is not part of Swift's Glibc module, so it is looked up by name.
    static func limitMallocArenas(_ n: Int32) {
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let M_ARENA_MAX: Int32 = -8
        _ = unsafeBitCast(symbol, to: Mallopt.self)(M_ARENA_MAX, n)
    }

    static func start(_ c: Context, _ args: ServerArguments) throws {
        let o = try options(c, args)
        let url = try startDetached(c, options: o, arguments: args.spelledOut + (c.global.quiet ? ["--quiet"] : []))
        let pid = PidFile.read(o.dataDir)?.pid
        c.output(.object([("running", .bool(true)), ("url", .string(url)), ("pid", pid.map { .int(Int($0)) } ?? .null),
                          ("dataDir", .string(o.dataDir)), ("log", .string(o.dataDir + "/server.log"))]),
                 text: "batchctl server running at \(url) (log \(o.dataDir)/server.log)")
    }

    /// Starts `batchctl server` in its own session with output to DATA/server.log; returns its URL once it
    /// answers, or the reason it did not start.
    static func startDetached(_ c: Context, options o: ServerOptions, arguments: [String]) throws -> String {
        if let existing = PidFile.read(o.dataDir), existing.isAlive, probe(existing.url) {
            throw CLIError.failure("a server is already running at \(existing.url) (pid \(existing.pid)) for data dir \(o.dataDir)")
        }
        try FileSystem.makeDirectories(o.dataDir, flag: "--data-dir")
        let logPath = o.dataDir + "/server.log"
        let logStart = (try? FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int) ?? 0
        var args = ["server"] + arguments
        if !arguments.contains("--data-dir") { args += ["--data-dir", o.dataDir] }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let pid = try spawnDetached(executable, args, logPath: logPath)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let p = PidFile.read(o.dataDir), p.pid == pid, probe(p.url) { return p.url }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                let tail = String(log.dropFirst(min(logStart, log.count)))
                let reason = tail.split(separator: "\n").last(where: { $0.contains("error") }).map(String.init) ?? tail
                throw CLIError.failure("the server did not start: \(reason.replacingOccurrences(of: "batchctl: error: ", with: ""))")
            }
            usleep(50_000)
        }
        throw CLIError.failure("the server did not answer within 20s; see \(logPath)")
    }

    static func spawnDetached(_ executable: String, _ args: [String], logPath: String) throws -> Int32 {
        // The server must not inherit our descriptors: a parent waiting for our pipes to close (a shell's
        // command substitution, a test harness) would otherwise wait for the server's whole life.
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(entry), fd > 2 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new session: the server outlives the terminal and the shell that started it.
        posix_spawnattr_setflags(&attributes, Int16(0x80 /* POSIX_SPAWN_SETSID */))
        let argv = ([executable] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw CLIError.failure("cannot start \(executable): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Whether a gateway answers at `url` within a second.
    static func probe(_ url: String) -> Bool { GatewayClient.answers(baseURL: url) }

    static func stop(_ c: Context, _ args: ServerDataDirArguments) throws {
        let dir = dataDir(args.dataDir, c)
        guard let p = PidFile.read(dir), p.isAlive else {
            unlink(PidFile.path(dir))
            throw CLIError.failure("no server is running for data dir \(dir)")
        }
        kill(p.pid, SIGTERM)
        let deadline = Date().addingTimeInterval(40)
        while p.isAlive, Date() < deadline {
            var status: Int32 = 0
            _ = waitpid(p.pid, &status, WNOHANG)
            usleep(50_000)
        }
        if p.isAlive { throw CLIError.failure("the server (pid \(p.pid)) did not stop within 40s") }
        unlink(PidFile.path(dir))
        c.output(.object([("stopped", .bool(true)), ("url", .string(p.url)), ("pid", .int(Int(p.pid))), ("dataDir", .string(dir))]),
                 text: "stopped the server at \(p.url) (pid \(p.pid))")
    }

    static func status(_ c: Context, _ args: ServerDataDirArguments) throws {
        let dir = dataDir(args.dataDir, c)
        guard let p = PidFile.read(dir), p.isAlive, probe(p.url) else {
            c.output(.object([("running", .bool(false)), ("dataDir", .string(dir))]), text: "not running (data dir \(dir))")
            throw CLIError.silent(ExitStatus.failure)
        }
        var jobs: Int64?
        let client = GatewayClient(options: ClientOptions(baseURL: p.url, apiKey: c.environment["BATCHCTL_SERVER_API_KEY"], timeout: 2, maxAttempts: 1))
        if let answer = try? client.send(Endpoints.listJobs(account: p.account, query: [("pageSize", "1")])),
           let total = answer["totalSize"]?.int64Value { jobs = total }
        var members: [(String, JSONValue)] = [
            ("running", .bool(true)), ("url", .string(p.url)), ("pid", .int(Int(p.pid))), ("started", .string(p.started)),
            ("dataDir", .string(dir)), ("account", .string(p.account)), ("jobs", jobs.map { .int($0) } ?? .null),
        ]
        // The engine's part: each inference endpoint's health, in-flight count and rates, the last jobs' throughput.
        let engine = try? client.send(GatewayRequest(.get, "/batchctl/status"))
        for key in ["waitingOnCapacity", "runningJobs", "heldResponseBytes", "endpoints", "recentJobs"] {
            members.append((key, engine?[key] ?? .null))
        }
        c.output(.object(members),
                 text: "running at \(p.url) (pid \(p.pid)) since \(p.started)\ndata dir \(dir)\njobs \(jobs.map(String.init) ?? "?") (account \(p.account))\n"
                    + (engine.map(engineStatusText) ?? ""))
    }

    /// The endpoints and the last jobs' throughput of `GET /batchctl/status`, as lines.
    static func engineStatusText(_ status: JSONValue) -> String {
        var out = ""
        for e in status["endpoints"]?.arrayValue ?? [] {
            func text(_ key: String) -> String { e[key]?.stringValue ?? e[key].map { $0.compactText } ?? "-" }
            out += "endpoint \(text("url")): \(text("health")), \(text("inFlight")) in flight, limit \(text("concurrencyLimit"))"
            out += e["adaptive"] == .bool(true) ? " (adaptive, ceiling \(text("concurrencyCeiling")))" : " (fixed)"
            if let slots = e["reportedSlots"]?.int64Value { out += ", server slots \(slots)" }
            out += ", \(text("requestsPerSecond")) requests/s, \(text("successes")) ok, \(text("failures")) failed"
            if e["health"]?.stringValue != "healthy", let error = e["lastError"]?.stringValue { out += "; last error: \(error)" }
            out += "\n"
        }
        if status["waitingOnCapacity"] == .bool(true) { out += "no endpoint is answering: jobs wait on capacity\n" }
        for job in (status["recentJobs"]?.arrayValue ?? []).prefix(5) {
            func text(_ key: String) -> String { job[key].map { $0.stringValue ?? $0.compactText } ?? "-" }
            let state = JobState(name: text("state")).shortName
            out += "ended \(text("name")) \(state): \(text("rows")) rows in \(text("seconds")) s, \(text("rowsPerSecond")) rows/s, "
            out += "\(text("inputTokensPerSecond")) input tokens/s, \(text("outputTokensPerSecond")) output tokens/s\n"
        }
        return out
    }
}

enum LocalGateway {
    /// `--local`: use the gateway on 127.0.0.1:8700, starting it in the background when nothing answers.
    /// Refuses anything on the port that is not a batchctl gateway, and says so when the one there serves
    /// another data dir than this user's.
    static func ensureRunning(context c: Context) throws {
        let mine = ServerCommands.dataDir(nil, c)
        let url = try c.settings().baseURL
        if let headers = GatewayClient.probe(baseURL: url) {
            let server = headers["Server"] ?? ""
            guard server.hasPrefix(BatchctlHeaders.serverPrefix) else {
                throw CLIError.failure("what answers at \(url) is not a batchctl gateway (Server: \(server.isEmpty ? "none" : server)); --local sends nothing to it. Stop it, or point batchctl at a gateway with --server URL")
            }
            if let served = headers[BatchctlHeaders.dataDir], !sameDirectory(served, mine) {
                c.streams.note("note: the local gateway at \(url) serves data dir \(served), not yours (\(mine))")
            }
            return
        }
        c.streams.note("batchctl: no local gateway at \(url); starting one (batchctl server start)")
        var o = ServerOptions(dataDir: mine)
        o.serverName = BuildInfo.serverHeader
        var arguments = ["--data-dir", o.dataDir]
        if url != Settings.localURL, let parsed = URL(string: url), let host = parsed.host, let port = parsed.port {
            arguments += ["--listen", "\(host):\(port)"]
        }
        let started = try ServerCommands.startDetached(c, options: o, arguments: arguments)
        c.streams.note("batchctl: local gateway running at \(started) (stop it with 'batchctl server stop')")
    }

    static func sameDirectory(_ a: String, _ b: String) -> Bool {
        func resolved(_ p: String) -> String { (p as NSString).resolvingSymlinksInPath }
        return resolved(a) == resolved(b)
    }
}
