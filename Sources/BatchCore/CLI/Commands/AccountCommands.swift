// whoami and set-api-key: which account, key and gateway a command line uses, and saving a key as firectl does.
import BatchAPI
import BatchClient
import BatchHTTP
import BatchJSONL
import Foundation

enum AccountCommands {
    // MARK: whoami

    static func whoami(_ c: Context) throws {
        let s = try c.settings()
        let client = try c.client()
        var accepted: Bool?
        var verifiedAccount: String?
        var dataDir: String?
        var refusal: Error?
        do {
            guard let response = try client.sendRaw(Endpoints.verifyAPIKey()) else { return }
            accepted = true
            verifiedAccount = response.headers["x-fireworks-account-id"].flatMap { $0.isEmpty ? nil : $0 }
            dataDir = response.headers[BatchctlHeaders.dataDir]
        } catch let e as GatewayError where ExitStatus.status(of: e) == ExitStatus.auth {
            accepted = false
            refusal = e
        }
        let account = s.accountID ?? verifiedAccount
        let accountSource = s.accountID == nil ? (verifiedAccount == nil ? nil : "GET /verifyApiKey") : s.accountSource
        let key = s.apiKey.map(GatewayClient.mask)
        let keySource = s.apiKeySource
        var members: [(String, JSONValue)] = [
            ("account", account.map(JSONValue.string) ?? .null),
            ("accountSource", accountSource.map(JSONValue.string) ?? .null),
            ("apiKey", key.map(JSONValue.string) ?? .null),
            ("apiKeySource", keySource.map(JSONValue.string) ?? .null),
            ("gateway", .string(s.baseURL)),
            ("gatewaySource", .string(s.baseURLSource)),
            ("keyAccepted", accepted.map(JSONValue.bool) ?? .null),
            ("verifiedAccount", verifiedAccount.map(JSONValue.string) ?? .null),
        ]
        if let dataDir { members.append(("dataDir", .string(dataDir))) }

        func from(_ source: String?) -> String { source.map { " (from \($0))" } ?? "" }
        var lines = ["Account: " + (account ?? "unknown") + from(accountSource)]
        if let key {
            lines.append("API key: \(key)" + from(keySource))
        } else {
            lines.append("API key: none" + (s.local && c.global.server == nil ? " (--local sends no Fireworks key)" : " (set one with batchctl set-api-key KEY, FIREWORKS_API_KEY or --api-key)"))
        }
        lines.append("Gateway: \(s.baseURL) (\(s.baseURLSource == "default" ? "default" : "from " + s.baseURLSource))")
        if let dataDir { lines.append("Data dir: \(dataDir)") }
        if accepted == true {
            lines.append("Key check: accepted by GET /verifyApiKey" + (verifiedAccount.map { " (account \($0))" } ?? ""))
        } else if let refusal {
            lines.append("Key check: refused by GET /verifyApiKey")
            c.output(.object(members), text: lines.joined(separator: "\n"))
            throw refusal
        }
        c.output(.object(members), text: lines.joined(separator: "\n"))
    }

    // MARK: set-api-key

    static func setAPIKey(_ c: Context) throws {
        var key = c.invocation.positional(0)!
        if key == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let path = c.invocation.command.path
        guard !key.isEmpty else { throw CLIError.usage("the API key is empty", command: path) }
        guard !key.contains(where: { $0.isWhitespace || $0.isNewline || $0 == "#" || $0 == ";" }) else {
            throw CLIError.usage("an API key has no spaces, newlines, '#' or ';'", command: path)
        }
        let profile = c.global.profile ?? c.environment["FIREWORKS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 }
        if let profile, profile.contains("/") || profile.hasPrefix(".") || profile.isEmpty {
            throw CLIError.usage("invalid profile name '\(profile)'", command: path)
        }
        let file = Settings.authFilePath(profile: profile, home: c.home)
        try makePrivateDirectories(c.home + "/.fireworks" + (profile.map { "/profiles/\($0)" } ?? ""))
        var existing = ""
        if let data = FileManager.default.contents(atPath: file) { existing = String(decoding: data, as: UTF8.self) }
        let updated = replacingAPIKey(in: existing, with: key)
        do {
            try AtomicFile.write(Array(updated.utf8), to: file, mode: 0o600)
            // An existing file keeps its inode's mode through the rename of a new one; make sure it is 0600.
            chmod(file, 0o600)
        } catch let e as FileError {
            throw CLIError.failure(FileSystem.message(e.operation, e.path, errno: e.errno))
        }
        let masked = GatewayClient.mask(key)
        c.streams.note("saved the API key \(masked) as api_key in \(file)")
        if c.format == .json || c.format == .jsonl {
            c.output(.object([("file", .string(file)), ("profile", profile.map(JSONValue.string) ?? .null), ("apiKey", .string(masked))]))
        }
    }

    /// The file's text with its `api_key` line set to `key`: the first such line is replaced in place, later
    /// ones dropped, every other line kept; appended when there is none.
    static func replacingAPIKey(in text: String, with key: String) -> String {
        var lines = text.isEmpty ? [] : text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var replaced = false
        var out: [String] = []
        for line in lines {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let eq = trimmed.firstIndex(of: "="), !trimmed.hasPrefix("#"), !trimmed.hasPrefix(";"),
               trimmed[..<eq].trimmingCharacters(in: .whitespaces) == "api_key" {
                if !replaced { out.append("api_key = \(key)") }
                replaced = true
                continue
            }
            out.append(line)
        }
        if !replaced { out.append("api_key = \(key)") }
        return out.joined(separator: "\n") + "\n"
    }

    /// `mkdir -p` where each folder it creates is 0700 (a folder that exists keeps its mode).
    static func makePrivateDirectories(_ path: String) throws {
        var prefix = ""
        for part in path.split(separator: "/") where !part.isEmpty {
            prefix += "/" + part
            var info = stat()
            if stat(prefix, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFDIR else {
                    throw CLIError.failure("cannot create directory \(path): \(prefix) is a file, not a directory")
                }
                continue
            }
            guard mkdir(prefix, 0o700) == 0 || errno == EEXIST else {
                throw CLIError.failure(FileSystem.message("create directory", prefix, errno: errno))
            }
            chmod(prefix, 0o700)
        }
    }
}
