// Where the key, account and gateway come from: flag, then environment, then the profile's auth.ini.
import BatchAPI
import Foundation

/// `~/.fireworks/auth.ini`: `key = value` lines, no section header needed (`[fireworks]` tolerated),
/// `#` and `;` comments, blank lines.
public struct AuthFile: Equatable {
    public var apiKey: String?
    public var accountID: String?
    public var apiBase: String?

    public init(apiKey: String? = nil, accountID: String? = nil, apiBase: String? = nil) {
        self.apiKey = apiKey; self.accountID = accountID; self.apiBase = apiBase
    }

    /// Reads the file; nil when it does not exist. A malformed line is an error naming file and line.
    public static func load(path: String) throws -> AuthFile? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) throws -> AuthFile {
        var file = AuthFile()
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(rawLine).trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line == "[fireworks]" || line == "[default]" else {
                    throw CLIError.failure("\(path):\(number + 1): unexpected section \(line) (only [fireworks] is understood)")
                }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw CLIError.failure("\(path):\(number + 1): expected 'key = value'")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, (value.hasPrefix("\"") && value.hasSuffix("\"")) || (value.hasPrefix("'") && value.hasSuffix("'")) {
                value = String(value.dropFirst().dropLast())
            }
            if key.isEmpty { throw CLIError.failure("\(path):\(number + 1): expected 'key = value'") }
            switch key {
            case "api_key": file.apiKey = value
            case "account_id": file.accountID = value
            case "api_base": file.apiBase = value
            default: continue  // other keys belong to other tools (firectl writes more)
            }
        }
        return file
    }
}

/// The resolved connection settings of one invocation.
public struct Settings: Equatable {
    public var baseURL: String
    public var apiKey: String?
    public var accountID: String?
    public var timeout: Double
    public var local: Bool
    /// Where the key came from, for error messages ("flag", "FIREWORKS_API_KEY", a file path).
    public var apiKeySource: String?
    /// Where the account came from (`--account-id`, `--local`, `FIREWORKS_ACCOUNT_ID`, a file path); nil when
    /// it is to be asked of the gateway.
    public var accountSource: String?
    /// Where the gateway URL came from (`--server`, `--local`, `FIREWORKS_BASE_URL`, a file path, or "default").
    public var baseURLSource = "default"
    /// The auth.ini this invocation reads (it may not exist).
    public var authFilePath = ""

    public static let fireworksURL = "https://api.fireworks.ai"
    public static let localURL = "http://127.0.0.1:8700"
    public static let localAccount = "local"

    /// From the global flags; a command's own flag named like a global (`server --api-key`, `bij wait
    /// --timeout`) is not among them, so it does not leak into the client's settings.
    public static func resolve(_ flags: GlobalArguments, environment: [String: String], home: String) throws -> Settings {
        let profile = flags.profile ?? environment["FIREWORKS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 }
        if let profile, profile.contains("/") || profile.hasPrefix(".") {
            throw CLIError.usage("invalid profile name '\(profile)'", command: nil)
        }
        let authPath = authFilePath(profile: profile, home: home)
        let file = try AuthFile.load(path: authPath)
        if let profile, file == nil {
            throw CLIError.failure("profile '\(profile)' not found: \(authPath) does not exist")
        }
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }

        let local = flags.local
        var settings = Settings(baseURL: fireworksURL, apiKey: nil, accountID: nil,
                                timeout: flags.timeout.map(DurationText.seconds) ?? 60, local: local, apiKeySource: nil)
        settings.authFilePath = authPath
        // --local talks to a gateway on this machine: the user's Fireworks key (environment, auth.ini) is never
        // sent there, only a key given for it (the flag, or the server's own BATCHCTL_SERVER_API_KEY).
        let localOnly = local && flags.server == nil
        if let flag = flags.apiKey {
            settings.apiKey = flag; settings.apiKeySource = "--api-key"
        } else if localOnly {
            if let e = env("BATCHCTL_SERVER_API_KEY") { settings.apiKey = e; settings.apiKeySource = "BATCHCTL_SERVER_API_KEY" }
        } else if let e = env("FIREWORKS_API_KEY") {
            settings.apiKey = e; settings.apiKeySource = "FIREWORKS_API_KEY"
        } else if let k = file?.apiKey {
            settings.apiKey = k; settings.apiKeySource = authPath
        }

        if let flag = flags.accountID {
            settings.accountID = flag; settings.accountSource = "--account-id"
        } else if local {
            settings.accountID = localAccount; settings.accountSource = "--local"
        } else if let e = env("FIREWORKS_ACCOUNT_ID") {
            settings.accountID = e; settings.accountSource = "FIREWORKS_ACCOUNT_ID"
        } else if let a = file?.accountID {
            settings.accountID = a; settings.accountSource = authPath
        }

        if let flag = flags.server {
            settings.baseURL = flag; settings.baseURLSource = "--server"
        } else if local {
            // BATCHCTL_LOCAL_URL moves the local gateway off 127.0.0.1:8700 (tests run several side by side).
            settings.baseURL = env("BATCHCTL_LOCAL_URL") ?? localURL; settings.baseURLSource = "--local"
        } else if let e = env("FIREWORKS_BASE_URL") {
            settings.baseURL = e; settings.baseURLSource = "FIREWORKS_BASE_URL"
        } else if let b = file?.apiBase {
            settings.baseURL = b; settings.baseURLSource = authPath
        }
        while settings.baseURL.hasSuffix("/") { settings.baseURL.removeLast() }
        guard settings.baseURL.hasPrefix("http://") || settings.baseURL.hasPrefix("https://") else {
            throw CLIError.usage("invalid gateway URL '\(settings.baseURL)': expected http:// or https://", command: nil)
        }
        if let account = settings.accountID, let problem = ResourceID.accountProblem(account) {
            throw CLIError.usage("invalid account id '\(account)': \(problem)", command: nil)
        }
        return settings
    }

    /// `~/.fireworks/auth.ini`, or `~/.fireworks/profiles/NAME/auth.ini` for a profile.
    public static func authFilePath(profile: String?, home: String) -> String {
        profile.map { "\(home)/.fireworks/profiles/\($0)/auth.ini" } ?? "\(home)/.fireworks/auth.ini"
    }

    /// Whether the gateway is Fireworks itself (whose input limit and storage URLs apply).
    public var isFireworks: Bool {
        guard let host = URL(string: baseURL)?.host?.lowercased() else { return false }
        return host == "fireworks.ai" || host.hasSuffix(".fireworks.ai")
    }
}
