// Version and build information.
import BatchHTTP

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
}
