// The context a command runs in: its invocation, streams, environment, settings and gateway client.
import BatchAPI
import BatchClient
import BatchHTTP
import Foundation

public final class Context {
    public let invocation: Invocation
    /// The global flags, typed; each command's own flags come as its arguments (Parse/Arguments.swift).
    public let global: GlobalArguments
    public let streams: IOStreams
    public let environment: [String: String]
    public let home: String
    /// What the build knew about itself (main.swift reads it from the binary's stamp).
    public let stamp: BuildStamp

    public init(invocation: Invocation, streams: IOStreams, environment: [String: String], stamp: BuildStamp = BuildStamp()) {
        self.invocation = invocation
        self.streams = streams
        self.environment = environment
        self.stamp = stamp
        self.home = environment["HOME"] ?? NSHomeDirectory()
        let flags = FlagReader(invocation)
        global = GlobalArguments(flags)
        assert(flags.problems.isEmpty, flags.problems.joined(separator: "\n"))
        streams.quiet = global.quiet
        if global.noColor || environment["NO_COLOR"] != nil { streams.colorAllowed = false }
    }

    public lazy var settingsResult: Result<Settings, Error> = Result { [global] in try Settings.resolve(global, environment: environment, home: home) }
    public func settings() throws -> Settings { try settingsResult.get() }

    public var dryRun: Bool { global.dryRun }
    public var format: OutputFormat? { global.output }

    private var _client: GatewayClient?
    private var _account: String?

    /// The gateway client; with --local, the local gateway is started first when nothing answers.
    public func client() throws -> GatewayClient {
        if let _client { return _client }
        let s = try settings()
        if s.local, global.server == nil, !dryRun { try LocalGateway.ensureRunning(context: self) }
        let streams = self.streams
        let retryBase = environment["BATCHCTL_RETRY_BASE"].flatMap(Double.init) ?? 0.5
        let client = GatewayClient(options: ClientOptions(
            baseURL: s.baseURL, apiKey: s.apiKey, timeout: s.timeout, dryRun: dryRun, backoffBase: retryBase,
            userAgent: BuildInfo.userAgent, trust: TLSTrust.from(environment: environment, caFile: global.caFile),
            proxy: ProxyConfiguration.from(environment: environment),
            note: { streams.note($0) }, dryRunOutput: { streams.print($0, terminator: "") }))
        _client = client
        return client
    }

    /// The account of every path: flag, environment, profile, else asked of the gateway.
    public func account() throws -> String {
        if let _account { return _account }
        let account = try settings().accountID ?? client().discoverAccount()
        _account = account
        return account
    }

    /// A bare id or a full name from the command line, as a resource name (a usage error when malformed).
    public func resourceName(_ text: String, _ kind: ResourceKind, what: String) throws -> ResourceName {
        var text = text
        // firectl spells job names with its command's noun: accounts/A/batch-inference-jobs/J.
        if kind == .batchInferenceJob, text.hasPrefix("accounts/") {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count == 4, parts[2] == "batch-inference-jobs" { text = "accounts/\(parts[1])/\(kind.rawValue)/\(parts[3])" }
        }
        let defaultAccount = text.hasPrefix("accounts/") ? "" : try account()
        switch ResourceName.parse(text, kind: kind, defaultAccount: defaultAccount) {
        case let .success(name): return name
        case let .failure(e): throw CLIError.usage("invalid \(what) '\(e.text)': \(e.reason)", command: invocation.command.path)
        }
    }

    /// Prints resources in the chosen format.
    public func render(_ items: [JSONValue], kind: ResourceKind, isList: Bool) {
        let text = Renderer.render(items, kind: kind, format: format, isList: isList)
        if !text.isEmpty { streams.print(text, terminator: "") }
    }

    /// Prints a result that is not a resource (a download's files, a deletion, `version`): `json` pretty,
    /// `jsonl` one line, `name` its `name` member; `text` the given lines, or `Key: value` lines when nil.
    /// The command table limits each command to the formats it can honour, so nothing else arrives here.
    public func output(_ value: JSONValue, text: String? = nil) {
        switch format ?? .text {
        case .json: streams.print(value.prettyText)
        case .jsonl: streams.print(value.compactText)
        case .name:
            if let name = value["name"]?.stringValue { streams.print(name) }
        case .text, .table, .wide:
            let lines = text ?? Renderer.text(value)
            if !lines.isEmpty { streams.print(lines, terminator: lines.hasSuffix("\n") ? "" : "\n") }
        }
    }

    /// Several results: `json` one array, `jsonl` one a line, `text` the given lines.
    public func output(list values: [JSONValue], text: String) {
        switch format ?? .text {
        case .json: streams.print(JSONValue.array(values).prettyText)
        case .jsonl: for v in values { streams.print(v.compactText) }
        case .name: for v in values { if let name = v["name"]?.stringValue { streams.print(name) } }
        case .text, .table, .wide:
            if !text.isEmpty { streams.print(text, terminator: text.hasSuffix("\n") ? "" : "\n") }
        }
    }
}

import BatchJSONL
