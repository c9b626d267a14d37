// Version and build information: the version line, and `batchctl version -o json`.
import BatchAPI
import BatchHTTP
import BatchJSONL

/// What the build knew about itself: the git commit, the date and the exact Swift version, stamped by `make`
/// (Sources/BuildStamp); each is nil for a plain `swift build`, which knows none of them.
public struct BuildStamp: Sendable, Equatable {
    public var commit: String?
    public var date: String?
    public var swiftVersion: String?

    /// Empty strings (the C stamp's "not known") become nil.
    public init(commit: String? = nil, date: String? = nil, swiftVersion: String? = nil) {
        self.commit = commit.flatMap { $0.isEmpty ? nil : $0 }
        self.date = date.flatMap { $0.isEmpty ? nil : $0 }
        self.swiftVersion = swiftVersion.flatMap { $0.isEmpty ? nil : $0 }
    }
}

public enum BuildInfo {
    public static let version = "0.1.0"
    #if DEBUG
    public static let configuration = "debug"
    #else
    public static let configuration = "release"
    #endif
    #if os(Linux)
    public static let platform = "linux"
    #else
    public static let platform = "darwin"
    #endif
    #if arch(x86_64)
    public static let arch = "x86_64"
    #elseif arch(arm64)
    public static let arch = "arm64"
    #else
    public static let arch = "unknown"
    #endif

    /// The compiler's language version as far as `#if compiler` can tell (major.minor), for a build that was
    /// not stamped with `swift --version`.
    #if compiler(>=6.5)
    public static let compilerVersion = "6.5 or later"
    #elseif compiler(>=6.4)
    public static let compilerVersion = "6.4"
    #elseif compiler(>=6.3)
    public static let compilerVersion = "6.3"
    #elseif compiler(>=6.2)
    public static let compilerVersion = "6.2"
    #elseif compiler(>=6.1)
    public static let compilerVersion = "6.1"
    #else
    public static let compilerVersion = "6.0"
    #endif

    /// `batchctl/0.1.0 (linux; x86_64)`: the User-Agent of every request, the gateway's and the signed URLs'.
    public static let userAgent = HTTPClientConfiguration.userAgent(version: version)

    /// `batchctl 0.1.0 (linux/x86_64, release build)`, with the commit and date when the build was stamped.
    public static func line(_ stamp: BuildStamp) -> String {
        var facts = ["\(platform)/\(arch)", "\(configuration) build"]
        if let commit = stamp.commit { facts.append("commit \(commit)") }
        if let date = stamp.date { facts.append(date) }
        return "batchctl \(version) (\(facts.joined(separator: ", ")))"
    }

    /// `batchctl version -o json`: what a bug report needs, flat so `jq .httpsAvailable` reads it. Unknown
    /// stamp fields are null; `httpsUnavailableReason` is there only when https cannot work.
    public static func json(_ stamp: BuildStamp, https: (available: Bool, reason: String)) -> JSONValue {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        var members: [(String, JSONValue)] = [
            ("version", .string(version)),
            ("gitCommit", text(stamp.commit)),
            ("buildDate", text(stamp.date)),
            ("swiftVersion", .string(stamp.swiftVersion ?? compilerVersion)),
            ("configuration", .string(configuration)),
            ("platform", .string(platform)),
            ("arch", .string(arch)),
            ("httpsAvailable", .bool(https.available)),
        ]
        if !https.available { members.append(("httpsUnavailableReason", .string(https.reason))) }
        return .object(members)
    }

    /// `Server:` of every answer of the local gateway.
    public static var serverHeader: String { BatchctlHeaders.serverPrefix + version }
}
