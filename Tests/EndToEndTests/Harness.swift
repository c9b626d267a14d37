// The end-to-end harness: runs the built batchctl binary, and starts a real `batchctl server` on a free
// loopback port with a temporary data dir.
import Foundation
import XCTest

enum Harness {
    /// The package root (two levels above this file's folder).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The built binary, next to the test bundle in the build products folder.
    static let binary: String = {
        var dir = Bundle(for: Marker.self).bundleURL.deletingLastPathComponent()
        let candidate = dir.appendingPathComponent("batchctl").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = packageRoot.appendingPathComponent(".build/debug")
        return dir.appendingPathComponent("batchctl").path
    }()

    final class Marker {}

    struct Result {
        var status: Int32
        var out: String
        var err: String
    }

    /// A fresh temporary directory, removed at the end of the test run's process.
    static func temporaryDirectory(_ label: String = "e2e") -> String {
        let path = NSTemporaryDirectory() + "batchctl-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// An environment with a temporary HOME and none of the user's Fireworks settings.
    static func cleanEnvironment(home: String? = nil) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("FIREWORKS_") || key.hasPrefix("BATCHCTL_") { env.removeValue(forKey: key) }
        env["HOME"] = home ?? temporaryDirectory("home")
        env["NO_COLOR"] = "1"
        return env
    }

    /// Runs batchctl with `args`; stdout and stderr captured; killed after `timeout` seconds.
    @discardableResult
    static func run(_ args: [String], env: [String: String]? = nil, stdin: String? = nil, cwd: String? = nil,
                    timeout: Double = 120) -> Result {
        runProgram(binary, args, env: env ?? cleanEnvironment(), stdin: stdin, cwd: cwd, timeout: timeout)
    }

    static func runProgram(_ program: String, _ args: [String], env: [String: String]? = nil, stdin: String? = nil,
                           cwd: String? = nil, timeout: Double = 120) -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = args
        process.environment = env ?? ProcessInfo.processInfo.environment
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let outFile = temporaryDirectory("out") + "/out"
        let errFile = outFile + ".err"
        FileManager.default.createFile(atPath: outFile, contents: nil)
        FileManager.default.createFile(atPath: errFile, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: outFile)
        process.standardError = FileHandle(forWritingAtPath: errFile)
        let input = Pipe()
        process.standardInput = input
        do { try process.run() } catch { return Result(status: -1, out: "", err: "cannot run \(program): \(error)") }
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        process.waitUntilExit()
        let out = (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        return Result(status: process.terminationStatus, out: out, err: err)
    }

    /// Whether a program is on PATH (or in an sbin directory, where Debian puts nginx, which a non-root PATH
    /// lacks). In CI a missing tool fails the test with a clear message; elsewhere the test is skipped and says so.
    static func requireTool(_ name: String, package: String? = nil) throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for dir in path + ["/usr/sbin", "/usr/local/sbin"] {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        let message = "\(name) is not installed (Debian package \(package ?? name)); .ci/run installs it"
        if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message); throw XCTSkip(message) }
        throw XCTSkip(message)
    }
}

/// A real `batchctl server` on a free loopback port with its own data dir.
final class LocalServer {
    let process = Process()
    let dataDir: String
    private(set) var url = ""
    private(set) var port = 0
    let logPath: String
    let arguments: [String]
    let environment: [String: String]

    /// `port` 0 takes any free port; a fixed one lets a proxy in front (and `--public-url`) be set up first.
    init(_ extraArgs: [String] = [], dataDir: String? = nil, environment: [String: String]? = nil, port: Int = 0) throws {
        self.dataDir = dataDir ?? Harness.temporaryDirectory("data")
        self.logPath = self.dataDir + ".log"
        self.arguments = extraArgs
        self.environment = environment ?? Harness.cleanEnvironment()
        try start(port: port)
    }

    /// Starts (or restarts) the server and waits for its `listening on URL` line.
    func start(port requested: Int = 0) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Harness.binary)
        p.arguments = ["server", "--listen", "127.0.0.1:\(requested)", "--data-dir", dataDir] + arguments
        p.environment = environment
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)!
        log.seekToEndOfFile()
        p.standardError = log
        p.standardOutput = log
        try p.run()
        current = p
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let range = text.range(of: "listening on http://127.0.0.1:", options: .backwards) {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                if let n = Int(digits) { port = n; url = "http://127.0.0.1:\(n)"; return }
            }
            if !p.isRunning { break }
            usleep(20_000)
        }
        throw NSError(domain: "LocalServer", code: 1, userInfo: [NSLocalizedDescriptionKey:
            "server did not start: " + ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")])
    }

    private(set) var current: Process?

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// kill -9, as a crash would.
    func crash() {
        guard let p = current, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// SIGTERM and wait: a graceful stop.
    func stop() {
        guard let p = current, p.isRunning else { return }
        p.terminate()
        p.waitUntilExit()
    }

    deinit { crash() }

    /// batchctl against this server: `--server URL -a local` and a clean HOME.
    func cli(_ args: [String], env extra: [String: String] = [:], stdin: String? = nil, cwd: String? = nil,
             timeout: Double = 120) -> Harness.Result {
        var env = Harness.cleanEnvironment()
        for (k, v) in extra { env[k] = v }
        return Harness.run(["--server", url, "-a", "local"] + args, env: env, stdin: stdin, cwd: cwd, timeout: timeout)
    }
}
