// Version and build information.
import BatchAPI
import BatchHTTP
import BatchJSONL

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

    /// `batchctl/0.1.0 (linux; x86_64)`: the User-Agent of every request, the gateway's and the signed URLs'.
    public static let userAgent = HTTPClientConfiguration.userAgent(version: version)

    public static var line: String { "batchctl \(version) (\(platform)/\(arch), \(configuration) build)" }

    /// `version -o json`: what the line says, as fields (#18 adds the commit, build date and toolchain).
    public static var json: JSONValue {
        .object([("version", .string(version)), ("platform", .string(platform)), ("arch", .string(arch)),
                 ("configuration", .string(configuration))])
    }

    /// `Server:` of every answer of the local gateway.
    public static var serverHeader: String { BatchctlHeaders.serverPrefix + version }
}
