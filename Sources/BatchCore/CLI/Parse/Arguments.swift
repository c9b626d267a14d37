// The parsed command line, and the typed arguments every command reads from it, in this one file (ripgrep's
// LowArgs): plain values, no I/O. Flag values are reachable only through FlagReader's fileprivate accessors,
// so a command sees typed fields and never a flag name, and ArgumentsTests decodes every command's arguments
// to check that each reads only flags of its own scope, each as the kind the table declares, and every flag
// the command declares.
import BatchAPI
import BatchClient
import BatchJSONL
import BatchServer

/// A typed flag value, converted once by the parser.
public enum ParsedValue: Equatable, Sendable {
    case present
    case string(String)
    case integer(Int)
    case number(Double)
    case duration(Duration)
    case json(JSONValue)
    case list([String])
}

/// The parsed command line: which command, its positionals and its flag values.
public struct Invocation {
    public var command: CommandSpec
    public var positionals: [String]
    /// `help` / `--help`: what to show help for (nil noun means the top level).
    public var helpTopic: HelpTopic?
    /// Read through FlagReader only.
    fileprivate var values: [Flag: ParsedValue]

    init(command: CommandSpec, positionals: [String], values: [Flag: ParsedValue], helpTopic: HelpTopic?) {
        self.command = command; self.positionals = positionals; self.values = values; self.helpTopic = helpTopic
    }

    public func positional(_ i: Int) -> String? { i < positionals.count ? positionals[i] : nil }
}

/// Reads the flag values of one invocation and checks each read against the table: the flag must be in the
/// command's scope (its own flags and the globals) and be read as the kind it is declared with. A bad read
/// is a programming error: `Command` (Run.swift) asserts there are none, and ArgumentsTests finds them
/// without running a command.
final class FlagReader {
    let invocation: Invocation
    private(set) var reads: [Flag] = []
    private(set) var problems: [String] = []

    init(_ invocation: Invocation) { self.invocation = invocation }

    fileprivate var commandPath: String { invocation.command.path }

    fileprivate func has(_ flag: Flag) -> Bool { value(flag, as: .present) != nil }

    fileprivate func string(_ flag: Flag) -> String? {
        if case let .string(s)? = value(flag, as: .string) { return s }
        return nil
    }

    fileprivate func integer(_ flag: Flag) -> Int? {
        if case let .integer(n)? = value(flag, as: .integer) { return n }
        return nil
    }

    fileprivate func number(_ flag: Flag) -> Double? {
        if case let .number(n)? = value(flag, as: .number) { return n }
        return nil
    }

    fileprivate func duration(_ flag: Flag) -> Duration? {
        if case let .duration(d)? = value(flag, as: .duration) { return d }
        return nil
    }

    fileprivate func json(_ flag: Flag) -> JSONValue? {
        if case let .json(j)? = value(flag, as: .json) { return j }
        return nil
    }

    fileprivate func list(_ flag: Flag) -> [String] {
        if case let .list(l)? = value(flag, as: .list) { return l }
        return []
    }

    /// A choice flag as the enum its choices come from (the table declares them with `.choice(of:)`).
    fileprivate func choice<Choice: CaseIterable & RawRepresentable>(_ flag: Flag, as _: Choice.Type) -> Choice?
    where Choice.RawValue == String {
        let text = string(flag)
        if let spec = spec(flag), spec.choices != Choice.allCases.map(\.rawValue) {
            problems.append("'\(invocation.command.id)' reads --\(flag.rawValue) as \(Choice.self), whose cases are not the table's choices \(spec.choices)")
        }
        return text.flatMap(Choice.init(rawValue:))
    }

    /// Whether the command declares `flag` itself, shadowing the global flag of that name (`server --api-key`
    /// is the key the server requires, not the key the client sends).
    fileprivate func isOwn(_ flag: Flag) -> Bool { invocation.command.flags.contains { $0.flag == flag } }

    /// The command's own flags that were given, spelled out again (`--name value`), for a process that
    /// takes the same flags (`server start` runs `server`).
    fileprivate func ownFlagsSpelledOut() -> [String] {
        var args: [String] = []
        for spec in invocation.command.flags {
            guard let value = value(spec.flag, as: Access(spec)) else { continue }
            let spelled = "--\(spec.name)"
            switch value {
            case .present: args.append(spelled)
            case let .list(items): for item in items { args += [spelled, item] }
            case let .string(s): args += [spelled, s]
            case let .integer(n): args += [spelled, String(n)]
            case let .number(n): args += [spelled, String(n)]
            case let .duration(d): args += [spelled, DurationText.wire(DurationText.seconds(d))]
            case let .json(j): args += [spelled, j.compactText]
            }
        }
        return args
    }

    /// How a flag's value is stored, which is how it must be read.
    private enum Access: String {
        case present = "a switch", string = "a string", integer = "an integer", number = "a number"
        case duration = "a duration", json = "JSON", list = "a list"

        init(_ spec: FlagSpec) {
            if spec.repeatable { self = .list; return }
            switch spec.value {
            case nil: self = .present
            case .string?, .path?, .choice?: self = .string
            case .integer?: self = .integer
            case .number?: self = .number
            case .duration?: self = .duration
            case .json?: self = .json
            }
        }
    }

    private func spec(_ flag: Flag) -> FlagSpec? { CommandTable.flags(for: invocation.command).first { $0.flag == flag } }

    private func value(_ flag: Flag, as access: Access) -> ParsedValue? {
        reads.append(flag)
        guard let spec = spec(flag) else {
            problems.append("'\(invocation.command.id)' reads --\(flag.rawValue), which is not one of its flags")
            return nil
        }
        let declared = Access(spec)
        if access != declared {
            problems.append("'\(invocation.command.id)' reads --\(flag.rawValue) as \(access.rawValue), but the table declares \(declared.rawValue)")
        }
        return invocation.values[flag]
    }
}

/// The typed arguments of one command. `init` reads every flag it uses first, unconditionally, and only
/// then validates: so one decode shows every read the command can make (ArgumentsTests relies on it).
protocol CommandArguments: Sendable {
    init(_ flags: FlagReader) throws
}

// MARK: global flags

/// The global flags. One a command redeclares means the command's own thing and reads as nil here
/// (`server --api-key`).
public struct GlobalArguments: Sendable {
    public var accountID: String?
    public var apiKey: String?
    public var profile: String?
    public var server: String?
    public var local: Bool
    public var output: OutputFormat?
    public var dryRun: Bool
    public var quiet: Bool
    public var noColor: Bool
    /// Per-request timeout.
    public var timeout: Duration?
    /// A CA bundle to trust for https (`--cacert`).
    public var caFile: String?
    public var version: Bool

    init(_ flags: FlagReader) {
        func global<Value>(_ flag: Flag, _ value: Value?) -> Value? { flags.isOwn(flag) ? nil : value }
        accountID = global(.accountID, flags.string(.accountID))
        apiKey = global(.apiKey, flags.string(.apiKey))
        profile = flags.string(.profile)
        server = flags.string(.server)
        local = flags.has(.local)
        output = flags.choice(.output, as: OutputFormat.self)
        dryRun = flags.has(.dryRun)
        quiet = flags.has(.quiet)
        noColor = flags.has(.noColor)
        timeout = global(.timeout, flags.duration(.timeout))
        caFile = flags.string(.cacert)
        version = flags.has(.version)
    }
}

// MARK: datasets

struct DatasetCreateArguments: CommandArguments {
    var displayName: String?
    /// Nil: detected from the file.
    var format: DatasetFileFormat?
    var validate: Bool
    /// A file in storage that Fireworks reads itself, instead of FILE.
    var externalURL: String?

    init(_ flags: FlagReader) throws {
        displayName = flags.string(.displayName)
        format = flags.choice(.format, as: DatasetFileFormat.self)
        validate = !flags.has(.noValidate)
        externalURL = flags.string(.externalURL)
        if let url = externalURL, url.isEmpty {
            throw CLIError.usage("--external-url needs a URL such as gs://bucket/file.jsonl", command: flags.commandPath)
        }
        if externalURL != nil, flags.invocation.positional(1) != nil {
            throw CLIError.usage("give FILE or --external-url, not both", command: flags.commandPath)
        }
    }
}

struct DatasetUploadArguments: CommandArguments {
    var validate: Bool
    /// Replace the file of a READY dataset.
    var force: Bool

    init(_ flags: FlagReader) {
        validate = !flags.has(.noValidate)
        force = flags.has(.force)
    }
}

struct DatasetUpdateArguments: CommandArguments {
    var displayName: String

    init(_ flags: FlagReader) throws {
        let name = flags.string(.displayName)
        guard let name else { throw CLIError.usage("nothing to update: give --display-name NAME", command: flags.commandPath) }
        displayName = name
    }
}

struct DatasetValidateArguments: CommandArguments {
    /// Nil: detected from the file.
    var format: DatasetFileFormat?

    init(_ flags: FlagReader) { format = flags.choice(.format, as: DatasetFileFormat.self) }
}

struct DatasetDownloadArguments: CommandArguments {
    var outputDir: String
    var lineage: Bool

    init(_ flags: FlagReader) {
        outputDir = flags.string(.outputDir) ?? "."
        lineage = flags.has(.downloadLineage)
    }
}

struct DatasetSplitArguments: CommandArguments {
    /// Fireworks' input limit, 1 GB.
    static let defaultMaxBytes = 1_000_000_000
    var maxBytes: Int
    var rows: Int?
    /// Nil: beside the file.
    var outputDir: String?

    init(_ flags: FlagReader) throws {
        let size = flags.string(.maxBytes)
        rows = flags.integer(.rows)
        outputDir = flags.string(.outputDir)
        maxBytes = Self.defaultMaxBytes
        if let size {
            guard let n = ByteSize.parse(size) else {
                throw CLIError.usage("invalid value '\(size)' for --max-bytes: expected a size like 500MB, 1GB or 2GiB", command: flags.commandPath)
            }
            maxBytes = n
        }
        if let rows, rows < 1 { throw CLIError.usage("--rows must be at least 1", command: flags.commandPath) }
    }
}

/// `dataset list` and `bij list`, as firectl lists: every item by default and with --no-paginate, one page
/// only when --page-token names it.
struct ListArguments: CommandArguments {
    var filter: String?
    var orderBy: String?
    var pageSize: Int?
    var pageToken: String?
    var limit: Int?

    /// Only the page at --page-token.
    var onePage: Bool { pageToken != nil }

    init(_ flags: FlagReader) throws {
        filter = flags.string(.filter)
        orderBy = flags.string(.orderBy)
        pageSize = flags.integer(.pageSize)
        pageToken = flags.string(.pageToken)
        // firectl's "list all resources without pagination": what listing does anyway, so it changes nothing.
        _ = flags.has(.noPaginate)
        limit = flags.integer(.limit)
        if let limit, limit < 1 { throw CLIError.usage("--limit must be at least 1", command: flags.commandPath) }
        if let pageSize, pageSize < 1 { throw CLIError.usage("--page-size must be at least 1", command: flags.commandPath) }
    }
}

/// `dataset delete` and `bij delete`.
struct DeleteArguments: CommandArguments {
    var wait: Bool
    /// How long --wait waits (firectl's default: 30 minutes).
    var waitTimeout: Duration

    init(_ flags: FlagReader) throws {
        wait = flags.has(.wait)
        let timeout = flags.duration(.waitTimeout)
        waitTimeout = timeout ?? .seconds(30 * 60)
        if timeout != nil, !wait { throw CLIError.usage("--wait-timeout needs --wait", command: flags.commandPath) }
    }
}

/// The flags of every command that follows a job to its end: `wait`, `create --wait`, `get --watch`.
struct FollowArguments: Sendable {
    /// Nil: as long as it takes.
    var waitTimeout: Duration?
    /// Exit 10 when the job ended with failed rows.
    var failOnRowErrors: Bool
    /// Off a terminal, a progress line at least this often.
    var progressInterval: Duration
    /// Whether any of them was given (they need --wait or --watch where following is optional).
    var given: [String]

    init(_ flags: FlagReader) {
        waitTimeout = flags.duration(.waitTimeout)
        failOnRowErrors = flags.has(.failOnRowErrors)
        let interval = flags.duration(.progressInterval)
        progressInterval = interval ?? .seconds(30)
        given = []
        if waitTimeout != nil { given.append("--wait-timeout") }
        if failOnRowErrors { given.append("--fail-on-row-errors") }
        if interval != nil { given.append("--progress-interval") }
    }

    /// A usage error when a follow flag is given to a command that will not follow (`create` without --wait).
    func requireFollowing(_ following: Bool, switchName: String, command: String) throws {
        if !following, let first = given.first { throw CLIError.usage("\(first) needs \(switchName)", command: command) }
    }
}

// MARK: batch inference jobs

struct JobCreateArguments: CommandArguments {
    var jobID: String?
    var displayName: String?
    var model: String?
    var inputDatasetID: String?
    var outputDatasetID: String?
    var continueFrom: String?
    var maxTokens: Int32?
    var temperature: Float?
    var topP: Float?
    var topK: Int32?
    var n: Int32?
    var extraBody: JSONValue?
    var precision: String?
    var systemPrompt: String?
    var maxJobDuration: Duration?
    var inputFile: String?
    var wait: Bool
    var download: String?
    var follow: FollowArguments

    init(_ flags: FlagReader) throws {
        jobID = flags.string(.jobID)
        displayName = flags.string(.displayName)
        model = flags.string(.model)
        inputDatasetID = flags.string(.inputDatasetID)
        outputDatasetID = flags.string(.outputDatasetID)
        continueFrom = flags.string(.continueFrom)
        let maxTokens = flags.integer(.maxTokens)
        temperature = flags.number(.temperature).map(Float.init)
        topP = flags.number(.topP).map(Float.init)
        let topK = flags.integer(.topK)
        let n = flags.integer(.n)
        extraBody = flags.json(.extraBody)
        precision = flags.string(.precision)
        systemPrompt = flags.string(.systemPrompt)
        maxJobDuration = flags.duration(.maxJobDuration)
        inputFile = flags.string(.inputFile)
        wait = flags.has(.wait)
        download = flags.string(.download)
        follow = FollowArguments(flags)

        let path = flags.commandPath
        try follow.requireFollowing(wait, switchName: "--wait", command: path)
        func int32(_ v: Int?, _ flag: Flag, minimum: Int32 = 0) throws -> Int32? {
            guard let v else { return nil }
            guard let n = Int32(exactly: v), n >= minimum else {
                let range = minimum == 0 ? "a non-negative 32-bit integer" : "a 32-bit integer of at least \(minimum)"
                throw CLIError.usage("invalid value '\(v)' for --\(flag.rawValue): expected \(range)", command: path)
            }
            return n
        }
        self.maxTokens = try int32(maxTokens, .maxTokens)
        self.topK = try int32(topK, .topK)
        self.n = try int32(n, .n, minimum: 1)
        // The ranges the models accept (the SDK documents temperature "typically between 0 and 2", top_p 0..1):
        // refused here, before anything is created, rather than by each row failing at the inference server.
        func unit(_ v: Double?, _ flag: Flag, _ upper: Double) throws {
            guard let v else { return }
            guard v.isFinite, v >= 0, v <= upper else {
                throw CLIError.usage("invalid value '\(v)' for --\(flag.rawValue): expected a number from 0 to \(Int(upper))", command: path)
            }
        }
        try unit(flags.number(.temperature), .temperature, 2)
        try unit(flags.number(.topP), .topP, 1)
        if let jobID, let problem = ResourceID.problem(jobID) {
            throw CLIError.usage("invalid job id '\(jobID)': \(problem)", command: path)
        }
        if download != nil, !wait { throw CLIError.usage("--download needs --wait", command: path) }
        if inputFile != nil, inputDatasetID != nil {
            throw CLIError.usage("--input-file and --input-dataset-id both name the input; give one", command: path)
        }
        if continueFrom == nil {
            if model == nil { throw CLIError.usage("missing --model (or --continue-from)", command: path) }
            if inputDatasetID == nil, inputFile == nil {
                throw CLIError.usage("missing --input-dataset-id (or --input-file, or --continue-from)", command: path)
            }
        }
    }
}

struct JobGetArguments: CommandArguments {
    var watch: Bool
    var follow: FollowArguments

    init(_ flags: FlagReader) throws {
        watch = flags.has(.watch)
        follow = FollowArguments(flags)
        try follow.requireFollowing(watch, switchName: "--watch", command: flags.commandPath)
    }
}

struct JobWaitArguments: CommandArguments {
    var interval: Duration
    var follow: FollowArguments

    init(_ flags: FlagReader) {
        interval = flags.duration(.interval) ?? .seconds(5)
        follow = FollowArguments(flags)
    }
}

/// `bij results`.
struct JobResultsArguments: CommandArguments {
    /// Nil: every status.
    var statuses: Set<ResultStatus>?
    var withRequest: Bool
    var content: Bool
    var lineage: Bool
    var follow: Bool
    var failOnRowErrors: Bool

    init(_ flags: FlagReader) throws {
        let status = flags.string(.status)
        withRequest = flags.has(.withRequest)
        content = flags.has(.content)
        lineage = !flags.has(.noLineage)
        follow = flags.has(.follow)
        failOnRowErrors = flags.has(.failOnRowErrors)
        if let status {
            var set = Set<ResultStatus>()
            for word in status.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !word.isEmpty {
                guard let s = ResultStatus(rawValue: word) else {
                    throw CLIError.usage("invalid status '\(word)' for --status: expected succeeded, failed or missing (comma-separated)",
                                         command: flags.commandPath)
                }
                set.insert(s)
            }
            if set.isEmpty { throw CLIError.usage("--status needs at least one of succeeded, failed, missing", command: flags.commandPath) }
            statuses = set
        }
        if content, withRequest { throw CLIError.usage("--content prints only the answer text; it cannot add the request (drop --with-request)", command: flags.commandPath) }
    }
}

// MARK: server

/// `server` and `server start`.
struct ServerArguments: CommandArguments {
    var listen: String?
    var dataDir: String?
    /// The key clients must send.
    var apiKey: String?
    var accountID: String?
    var openAIAccount: String?
    var backend: ServerOptions.Backend?
    var inferenceURLs: [String]
    var inferenceAPIKey: String?
    var modelMap: [String]
    var allowedOrigins: [String]
    var concurrency: Int?
    var fixedConcurrency: Bool
    var maxResponseBytes: Int?
    var requestTimeout: Duration?
    var minJobDuration: Duration?
    var injectedFault: (status: Int, count: Int)?
    /// `--public-url`: the base of the URLs the gateway mints.
    var publicURL: String?
    var createdBy: String?
    /// The server flags given, spelled out again for the detached `batchctl server` of `server start`.
    var spelledOut: [String]

    init(_ flags: FlagReader) throws {
        listen = flags.string(.listen)
        dataDir = flags.string(.dataDir)
        apiKey = flags.string(.apiKey)
        accountID = flags.string(.accountID)
        openAIAccount = flags.string(.openAIAccount)
        backend = flags.choice(.backend, as: ServerOptions.Backend.self)
        inferenceURLs = flags.list(.inferenceURL)
        inferenceAPIKey = flags.string(.inferenceAPIKey)
        modelMap = flags.list(.modelMap)
        allowedOrigins = flags.list(.allowOrigin)
        concurrency = flags.integer(.concurrency)
        fixedConcurrency = flags.has(.fixedConcurrency)
        let responseLimit = flags.string(.maxResponseBytes)
        requestTimeout = flags.duration(.requestTimeout)
        minJobDuration = flags.duration(.minJobDuration)
        let fault = flags.string(.failRequests)
        publicURL = flags.string(.publicURL)
        createdBy = flags.string(.createdBy)
        spelledOut = flags.ownFlagsSpelledOut()
        if let fault {
            let parts = fault.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else {
                throw CLIError.usage("invalid --fail-requests '\(fault)': expected STATUSxCOUNT", command: flags.commandPath)
            }
            injectedFault = (parts[0], parts[1])
        }
        if let responseLimit {
            guard let bytes = ServerArguments.byteCount(responseLimit) else {
                throw CLIError.usage("invalid --max-response-bytes '\(responseLimit)': expected a number of bytes, e.g. 33554432 or 32MiB",
                                     command: flags.commandPath)
            }
            maxResponseBytes = bytes
        }
    }
}

extension ServerArguments {
    /// `1048576`, `512K`, `32M`, `32MiB`, `1G`, `1GB` (binary multiples); nil for anything else.
    static func byteCount(_ text: String) -> Int? {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        var multiplier = 1
        let units: [(String, Int)] = [("KIB", 1 << 10), ("MIB", 1 << 20), ("GIB", 1 << 30), ("KB", 1 << 10), ("MB", 1 << 20),
                                      ("GB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1)]
        for (suffix, value) in units where digits.uppercased().hasSuffix(suffix) {
            digits = digits.dropLast(suffix.count)
            multiplier = value
            break
        }
        guard let number = Int(digits.trimmingCharacters(in: .whitespaces)), number > 0 else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }
}

/// `server stop` and `server status`: which server.
struct ServerDataDirArguments: CommandArguments {
    var dataDir: String?

    init(_ flags: FlagReader) { dataDir = flags.string(.dataDir) }
}
