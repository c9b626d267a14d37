// The local gateway as one object: store, scheduler, engine backend and HTTP server wired together, with
// startup checks (loopback unless an API key is set) and graceful shutdown.
import BatchHTTP
import BatchAPI
import BatchEngine
import Foundation

public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 8700
    public var dataDir: String
    public var apiKey: String?
    public var account = "local"
    /// The account the OpenAI Batch API (`/v1/files`, `/v1/batches`) reads and writes.
    public var openAIAccount = "local"
    /// nil: `openai` when an `--inference-url` is given, else `echo`.
    public var backend: Backend?
    /// `--inference-url` values, each `URL[,key=KEY][,key-env=VAR][,concurrency=N][,fixed][,model-map=FROM=TO]...`
    /// (see `EndpointSpec`).
    public var inferenceURLs: [String] = []
    /// The key of every endpoint that does not name its own.
    public var inferenceAPIKey: String?
    public var modelMap: [String] = []
    /// Requests in flight per endpoint at most: the ceiling of its adaptive limit.
    public var concurrency = 64
    /// Pins every endpoint's concurrency at its ceiling (`--fixed-concurrency`).
    public var fixedConcurrency = false
    public var maxResponseBytes = OpenAICompatibleBackend.defaultMaxResponseBytes
    public var requestTimeout: Double = 600
    public var minJobDuration: Double = 12 * 3600
    public var injectedFault: (status: Int, count: Int)?
    /// `--allow-origin`: browser origins allowed to call the API (none by default).
    public var allowedOrigins: [String] = []
    public var quiet = false
    /// `--public-url`: the base of every absolute URL the gateway mints (signed upload and download URLs), for a
    /// gateway behind a TLS-terminating proxy; nil means the listen address. Never taken from `Host`. Its host
    /// is one of the names requests may carry in `Host`.
    public var publicURL: String?
    /// `--created-by`: the identity recorded as `createdBy` on what this gateway creates; nil means
    /// `<account>@localhost`.
    public var createdBy: String?
    /// Sent to inference servers: `batchctl/<version> (<os>; <arch>)`.
    public var userAgent = HTTPClientConfiguration.userAgent(version: "dev")
    /// `Server:` of every answer, `batchctl/<version>`: how `--local` knows it found a batchctl gateway.
    public var serverName = "batchctl/dev"

    public init(dataDir: String) { self.dataDir = dataDir }

    /// What runs the rows: `echo`, the built-in deterministic model (no network), or `openai`, any
    /// OpenAI-compatible /v1/chat/completions server at `inferenceURL`. The raw value is the `--backend` name.
    public enum Backend: String, CaseIterable, Sendable {
        case echo
        case openai
    }

    public static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// The `Host` names requests may carry besides loopback names: the listen address and the public URL's
    /// host. nil for a wildcard listen address (any name reaches it; an API key is required there).
    var allowedHosts: Set<String>? {
        let listen = BrowserGuard.hostName(host.hasPrefix("[") ? host : (host.contains(":") ? "[\(host)]" : host))
        if listen.isEmpty || listen == "0.0.0.0" || listen == "::" { return nil }
        var hosts: Set<String> = [listen]
        if let publicURL, let url = HTTPURL(publicURL) { hosts.insert(BrowserGuard.hostName(url.host)) }
        return hosts
    }

    /// The backend that runs: the one asked for, else openai when an inference URL is given.
    public var effectiveBackend: Backend { backend ?? (inferenceURLs.isEmpty ? .echo : .openai) }
}

/// One `--inference-url` value: `URL` followed by comma-separated settings of that endpoint:
/// `key=KEY` or `key-env=VAR` (its bearer key), `concurrency=N` (its ceiling), `fixed` (pinned at the
/// ceiling), `model-map=FROM=TO` (repeatable: its model names, tried before `--model-map`).
public struct EndpointSpec: Sendable, Equatable {
    public var url: String
    public var apiKey: String?
    public var concurrency: Int?
    public var fixed = false
    public var modelMap: [String] = []

    public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        url = parts[0].trimmingCharacters(in: .whitespaces)
        guard !url.isEmpty else { throw EndpointSpecError(text: text, reason: "no URL") }
        for part in parts.dropFirst() {
            let setting = part.trimmingCharacters(in: .whitespaces)
            let (name, value): (String, String?) = setting.firstIndex(of: "=").map {
                (String(setting[..<$0]), String(setting[setting.index(after: $0)...]))
            } ?? (setting, nil)
            switch (name, value) {
            case ("key", let key?): apiKey = key
            case ("key-env", let variable?):
                guard let key = environment[variable], !key.isEmpty else {
                    throw EndpointSpecError(text: text, reason: "key-env=\(variable): the variable is not set")
                }
                apiKey = key
            case ("concurrency", let n?):
                guard let count = Int(n), count >= 1 else { throw EndpointSpecError(text: text, reason: "concurrency=\(n) is not a positive number") }
                concurrency = count
            case ("fixed", nil): fixed = true
            case ("model-map", let rule?): modelMap.append(rule)
            default:
                throw EndpointSpecError(text: text, reason: "unknown setting '\(setting)' (expected key=, key-env=, concurrency=, fixed or model-map=FROM=TO)")
            }
        }
    }
}

public struct EndpointSpecError: Error, CustomStringConvertible {
    public var text: String
    public var reason: String
    /// The value without its key, for messages.
    public var description: String {
        let shown = text.split(separator: ",").map { $0.hasPrefix("key=") ? "key=..." : String($0) }.joined(separator: ",")
        return "invalid --inference-url '\(shown)': \(reason)"
    }
}

public struct ServerStartError: Error, CustomStringConvertible {
    public var description: String
    public var isUsage: Bool
}

/// `@unchecked Sendable`: everything is immutable but `http`, which `start()` sets and `stop()` reads on the one
/// thread that owns the server (the `batchctl server` command, or a test).
public final class LocalGatewayServer: @unchecked Sendable {
    public let options: ServerOptions
    let store: Store
    let scheduler: JobScheduler
    let gateway: Gateway
    let pool: InferencePool
    let lock: DataDirLock
    var http: HTTPServer?
    /// Saves again what a full disk refused, every second, until the server stops.
    private let saver = DispatchSemaphore(value: 0)

    public init(options: ServerOptions) throws {
        guard ServerOptions.isLoopback(options.host) || options.apiKey != nil else {
            throw ServerStartError(description: "refusing to listen on \(options.host) without --api-key: anyone on the network could use this gateway", isUsage: true)
        }
        if let problem = ResourceID.accountProblem(options.account) {
            throw ServerStartError(description: "invalid --account-id \"\(options.account)\": \(problem)", isUsage: true)
        }
        if let problem = ResourceID.accountProblem(options.openAIAccount) {
            throw ServerStartError(description: "invalid --openai-account \"\(options.openAIAccount)\": \(problem)", isUsage: true)
        }
        guard options.concurrency >= 1 else { throw ServerStartError(description: "--concurrency must be at least 1", isUsage: true) }
        if let url = options.publicURL, case let .failure(problem) = PublicBase.parse(url) {
            throw ServerStartError(description: "invalid --public-url '\(url)': \(problem)", isUsage: true)
        }
        if let identity = options.createdBy, identity.isEmpty || identity.utf8.contains(where: { $0 < 0x20 }) {
            throw ServerStartError(description: "invalid --created-by '\(identity)': expected an identity such as alice@example.com", isUsage: true)
        }
        self.options = options
        do {
            try Store.makeDirectory(options.dataDir)
            chmod(options.dataDir, 0o700)
            lock = try DataDirLock(dataDir: options.dataDir)
        } catch let busy as DataDirLock.Busy {
            throw ServerStartError(description: busy.description, isUsage: false)
        } catch {
            throw ServerStartError(description: "cannot use data dir \(options.dataDir): \(error)", isUsage: false)
        }
        do {
            store = try Store(root: options.dataDir)
        } catch {
            throw ServerStartError(description: "cannot use data dir \(options.dataDir): \(error)", isUsage: false)
        }
        let quiet = options.quiet
        let log: @Sendable (String) -> Void = { line in if !quiet { LocalGatewayServer.logLine(line) } }
        Reconciliation.run(store, log: log)
        var runner = RunnerOptions()
        // A stop (cancel, delete, shutdown) waits this long for requests in flight; rows cut off run again.
        runner.drainTimeout = 2
        do { runner.modelMap = try ModelMap(rules: options.modelMap) } catch {
            throw ServerStartError(description: "\(error)", isUsage: true)
        }
        pool = InferencePool(endpoints: try LocalGatewayServer.endpoints(options), options: LocalGatewayServer.poolOptions(options), log: log)
        scheduler = JobScheduler(store: store, pool: pool, options: runner, log: log)
        var config = GatewayConfiguration(dataDir: options.dataDir)
        config.apiKey = options.apiKey
        config.defaultAccount = options.account
        config.openAIAccount = options.openAIAccount
        config.minJobDuration = options.minJobDuration
        config.injectedFault = options.injectedFault
        config.allowedHosts = options.allowedHosts
        config.allowedOrigins = Set(options.allowedOrigins.map(BrowserGuard.normalizeOrigin))
        config.publicURL = options.publicURL
        config.createdBy = options.createdBy ?? "\(options.account)@localhost"
        do { gateway = try Gateway(config: config, store: store, scheduler: scheduler) } catch {
            throw ServerStartError(description: "cannot prepare the data dir: \(error)", isUsage: false)
        }
    }

    /// The endpoints of `--inference-url` (or the echo model), each with its key, ceiling and model names.
    static func endpoints(_ options: ServerOptions) throws -> [InferenceEndpoint] {
        switch options.effectiveBackend {
        case .echo:
            return [InferenceEndpoint(name: "echo", backend: EchoBackend(), concurrency: options.concurrency, adaptive: false)]
        case .openai:
            guard !options.inferenceURLs.isEmpty else {
                throw ServerStartError(description: "--backend openai needs --inference-url (e.g. http://127.0.0.1:8000/v1)", isUsage: true)
            }
            guard options.maxResponseBytes >= 1024 else {
                throw ServerStartError(description: "--max-response-bytes must be at least 1 KiB", isUsage: true)
            }
            return try options.inferenceURLs.map { text in
                do {
                    let spec = try EndpointSpec(parsing: text)
                    let concurrency = spec.concurrency ?? options.concurrency
                    let backend = try OpenAICompatibleBackend(baseURL: spec.url, apiKey: spec.apiKey ?? options.inferenceAPIKey,
                                                              requestTimeout: options.requestTimeout, maxConnections: concurrency,
                                                              maxResponseBytes: options.maxResponseBytes, userAgent: options.userAgent)
                    return InferenceEndpoint(name: spec.url, backend: backend, concurrency: concurrency,
                                             adaptive: !(spec.fixed || options.fixedConcurrency), modelMap: try ModelMap(rules: spec.modelMap))
                } catch let error as EndpointSpecError {
                    throw ServerStartError(description: error.description, isUsage: true)
                } catch {
                    throw ServerStartError(description: "invalid --inference-url \(text.split(separator: ",").first ?? ""): \(error)", isUsage: true)
                }
            }
        }
    }

    /// Answers held at once: eight of the largest allowed, and never less than 256 MiB.
    static func poolOptions(_ options: ServerOptions) -> PoolOptions {
        var pool = PoolOptions()
        pool.maxHeldResponseBytes = max(256 << 20, 8 * options.maxResponseBytes)
        return pool
    }

    static func logLine(_ line: String) {
        writeToStandardError("\(Timestamp.now().prefix(23))Z \(line)\n")
    }

    /// Best effort: a log on a full disk must not take the server down (FileHandle traps on a failed write).
    static func writeToStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            done += n
        }
    }

    /// Binds, starts the job workers, and returns the address it listens on.
    public func start() throws -> String {
        var configuration = HTTPServer.Configuration(host: options.host, port: options.port)
        configuration.serverName = options.serverName
        if !options.quiet { configuration.log = { LocalGatewayServer.logLine($0) } }
        let gateway = self.gateway
        let server = HTTPServer(configuration: configuration) { request in gateway.handle(request) }
        let address: HTTPServerAddress
        do { address = try server.start() } catch {
            throw ServerStartError(description: "\(error)", isUsage: false)
        }
        http = server
        gateway.mintedBase.setListenAddress("\(address)")
        if options.publicURL == nil, options.host == "0.0.0.0" || options.host == "::" {
            LocalGatewayServer.logLine("warning: signed URLs point at \(address), which other machines cannot reach; pass --public-url")
        }
        scheduler.start()
        let store = self.store, saver = self.saver
        Thread.detachNewThread {
            while saver.wait(timeout: .now() + 1) == .timedOut {
                if store.unsavedCount > 0 { store.saveUnsaved() }
            }
        }
        return "http://\(address)"
    }

    /// Stops accepting, lets requests in flight finish, checkpoints running jobs (they resume next start), all
    /// within about 5 seconds; then releases the data dir.
    public func stop() {
        let deadline = Date().addingTimeInterval(4.5)
        scheduler.beginShutdown()
        http?.stop(gracePeriod: 1.5)
        scheduler.waitForShutdown(until: deadline)
        pool.shutdown()
        saver.signal()
        store.saveUnsaved()
        lock.release()
    }

    public var jobCount: Int { store.allJobs().count }
}
