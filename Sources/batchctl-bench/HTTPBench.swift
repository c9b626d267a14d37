// `batchctl-bench http`: HTTPServer's requests/s under wrk, and its sendfile download throughput beside nginx's.
import BatchHTTP
import BatchServer
import Foundation
import Glibc

struct HTTPBenchError: Error, CustomStringConvertible {
    var description: String
}

private struct HTTPBenchOptions {
    var seconds = 10
    var connections = 64
    var threads = 2
    var fileMegabytes = 1024
    var runs = 3
    var requests = true
    var files = true

    init(_ arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        func value(_ flag: String) throws -> Int {
            guard let text = iterator.next(), let number = Int(text), number > 0 else {
                throw HTTPBenchError(description: "\(flag) needs a positive number")
            }
            return number
        }
        while let argument = iterator.next() {
            switch argument {
            case "--seconds": seconds = try value(argument)
            case "--connections": connections = try value(argument)
            case "--threads": threads = try value(argument)
            case "--file-mb": fileMegabytes = try value(argument)
            case "--runs": runs = try value(argument)
            case "--requests-only": files = false
            case "--files-only": requests = false
            case "-h", "--help":
                print("""
                usage: batchctl-bench http [--seconds N] [--connections N] [--threads N] [--file-mb N] [--runs N]
                                           [--requests-only | --files-only]
                  requests: wrk -tTHREADS -cCONNECTIONS -dSECONDS against an in-process HTTPServer (~600-byte JSON)
                  files:    curl download and upload (PUT) of a FILE-MB file with HTTPServer and with nginx,
                            median of RUNS each
                """)
                exit(0)
            default:
                throw HTTPBenchError(description: "unknown option \(argument) (see --help)")
            }
        }
    }
}

func runHTTPBench(arguments: [String]) throws {
    let options = try HTTPBenchOptions(arguments)
    if options.requests { try benchRequests(options) }
    if options.files { try benchFileDownload(options) }
}

/// A job resource of about the size `bij get` returns, so the figure matches the design's gateway target.
private let sampleJob: [UInt8] = {
    let text = """
    {"name":"accounts/bench/batchInferenceJobs/job-0001","displayName":"nightly evaluation batch",\
    "createTime":"2026-01-02T03:04:05.678Z","createdBy":"bench@example.com",\
    "state":"JOB_STATE_RUNNING","status":{"code":"OK","message":""},"model":"accounts/fireworks/models/llama-v3p1-8b-instruct",\
    "inputDatasetId":"accounts/bench/datasets/input-0001","outputDatasetId":"accounts/bench/datasets/output-0001",\
    "precision":"BF16",\
    "jobProgress":{"percent":42,"epoch":0,"totalInputRequests":100000,"totalProcessedRequests":42000,\
    "successfullyProcessedRequests":41990,"failedRequests":10,"outputRows":41990,"inputTokens":8400000,\
    "outputTokens":12600000}}
    """
    return Array(text.utf8)
}()

private func benchRequests(_ options: HTTPBenchOptions) throws {
    guard let wrk = findExecutable("wrk") else {
        throw HTTPBenchError(description: "wrk not found: apt-get install -y wrk")
    }
    let server = HTTPServer(configuration: .init(maxConnections: max(256, options.connections * 2))) { request in
        .json(sampleJob)
    }
    let address = try server.start()
    defer { server.stop(gracePeriod: 2) }
    let url = "http://\(address)/v1/accounts/bench/batchInferenceJobs/job-0001"
    print("requests: wrk -t\(options.threads) -c\(options.connections) -d\(options.seconds)s \(url)  (body \(sampleJob.count) bytes)")
    let output = try run(wrk, ["-t\(options.threads)", "-c\(options.connections)", "-d\(options.seconds)s", url])
    guard let line = output.split(separator: "\n").first(where: { $0.contains("Requests/sec:") }),
          let rate = Double(line.split(separator: " ").last ?? "") else {
        throw HTTPBenchError(description: "cannot read wrk's output:\n\(output)")
    }
    for problem in output.split(separator: "\n") where problem.contains("Non-2xx") || problem.contains("Socket errors") {
        print("  wrk: \(problem.trimmingCharacters(in: .whitespaces))")
    }
    print(String(format: "  HTTPServer: %.0f requests/s (target >= 10000)", rate))
}

private func benchFileDownload(_ options: HTTPBenchOptions) throws {
    guard let curl = findExecutable("curl") else { throw HTTPBenchError(description: "curl not found") }
    guard let nginx = findExecutable("nginx") else {
        throw HTTPBenchError(description: "nginx not found: apt-get install -y nginx-light")
    }
    let directory = NSTemporaryDirectory() + "batchctl-http-bench-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory + "/www", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let filePath = directory + "/www/data.bin"
    let size = options.fileMegabytes << 20
    try writeSampleFile(filePath, size: size)

    let uploadPath = directory + "/www/uploaded-by-server.bin"
    let server = HTTPServer(configuration: .init()) { request in
        guard request.method == "PUT" else { return try HTTPResponse.file(atPath: filePath, for: request) }
        // What the gateway's upload handler will do: stream the body to a file, whatever its size.
        let fd = open(uploadPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HTTPError(.internalServerError, "cannot create \(uploadPath)") }
        defer { close(fd) }
        _ = try request.body.write(toFileDescriptor: fd)
        return .json("{}", status: .created)
    }
    let ours = try server.start()
    defer { server.stop(gracePeriod: 2) }

    let nginxPort = try freePort()
    let config = """
    user root;
    daemon off;
    worker_processes 1;
    pid \(directory)/nginx.pid;
    error_log \(directory)/error.log;
    events { worker_connections 64; }
    http {
        client_body_temp_path \(directory)/body;
        proxy_temp_path \(directory)/proxy;
        fastcgi_temp_path \(directory)/fastcgi;
        uwsgi_temp_path \(directory)/uwsgi;
        scgi_temp_path \(directory)/scgi;
        default_type application/octet-stream;
        server {
            listen 127.0.0.1:\(nginxPort);
            root \(directory)/www;
            access_log off;
            sendfile on;
            dav_methods PUT;
            client_max_body_size 0;
        }
    }
    """
    try config.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
    let nginxProcess = Process()
    nginxProcess.executableURL = URL(fileURLWithPath: nginx)
    nginxProcess.arguments = ["-p", directory, "-c", directory + "/nginx.conf", "-e", directory + "/error.log"]
    nginxProcess.standardOutput = FileHandle.nullDevice
    nginxProcess.standardError = FileHandle.nullDevice
    try nginxProcess.run()
    defer {
        nginxProcess.terminate()
        nginxProcess.waitUntilExit()
    }
    try waitForPort(nginxPort, process: nginxProcess, log: directory + "/error.log")

    let targets = [("HTTPServer", "http://\(ours)/data.bin"), ("nginx", "http://127.0.0.1:\(nginxPort)/data.bin")]
    print("files: curl -s -o /dev/null of a \(options.fileMegabytes) MiB file, median of \(options.runs) after one warm-up")
    var medians: [String: Double] = [:]
    for (name, url) in targets {
        _ = try download(curl, url, expectedSize: size)
        var rates: [Double] = []
        for _ in 0..<options.runs {
            rates.append(try download(curl, url, expectedSize: size))
        }
        let median = rates.sorted()[rates.count / 2]
        medians[name] = median
        let all = rates.map { String(format: "%.0f", $0 / 1_048_576) }.joined(separator: ", ")
        print(String(format: "  %@: %.0f MiB/s (runs: %@ MiB/s)", name, median / 1_048_576, all))
    }
    if let mine = medians["HTTPServer"], let theirs = medians["nginx"], theirs > 0 {
        print(String(format: "  ratio HTTPServer/nginx: %.2fx (target >= 0.5x)", mine / theirs))
    }

    // Uploads: nginx's WebDAV PUT also spools the body to disk, so both sides do the same work.
    let uploads = [("HTTPServer", "http://\(ours)/upload.bin"), ("nginx", "http://127.0.0.1:\(nginxPort)/uploaded-by-nginx.bin")]
    print("uploads: curl -T of the same file, body streamed to a file on the server, median of \(options.runs)")
    var uploadMedians: [String: Double] = [:]
    for (name, url) in uploads {
        var rates: [Double] = []
        for _ in 0..<options.runs {
            rates.append(try upload(curl, filePath, to: url, expectedSize: size))
        }
        let median = rates.sorted()[rates.count / 2]
        uploadMedians[name] = median
        let all = rates.map { String(format: "%.0f", $0 / 1_048_576) }.joined(separator: ", ")
        print(String(format: "  %@: %.0f MiB/s (runs: %@ MiB/s)", name, median / 1_048_576, all))
    }
    if let mine = uploadMedians["HTTPServer"], let theirs = uploadMedians["nginx"], theirs > 0 {
        print(String(format: "  ratio HTTPServer/nginx: %.2fx", mine / theirs))
    }
}

/// Bytes per second of one curl upload with PUT.
private func upload(_ curl: String, _ path: String, to url: String, expectedSize: Int) throws -> Double {
    let output = try run(curl, ["-s", "-T", path, "-o", "/dev/null", "-w", "%{http_code} %{size_upload} %{time_total}", url])
    let fields = output.split(separator: " ")
    guard fields.count == 3, fields[0].hasPrefix("2"), Int(fields[1]) == expectedSize, let seconds = Double(fields[2]), seconds > 0 else {
        throw HTTPBenchError(description: "upload to \(url) failed: \(output)")
    }
    return Double(expectedSize) / seconds
}

/// Bytes per second of one curl download, after checking that the whole file arrived.
private func download(_ curl: String, _ url: String, expectedSize: Int) throws -> Double {
    let output = try run(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}", url])
    let fields = output.split(separator: " ")
    guard fields.count == 3, fields[0] == "200", Int(fields[1]) == expectedSize, let seconds = Double(fields[2]), seconds > 0 else {
        throw HTTPBenchError(description: "download of \(url) failed: \(output)")
    }
    return Double(expectedSize) / seconds
}

private func writeSampleFile(_ path: String, size: Int) throws {
    guard FileManager.default.createFile(atPath: path, contents: nil),
          let handle = FileHandle(forWritingAtPath: path) else {
        throw HTTPBenchError(description: "cannot create \(path)")
    }
    defer { try? handle.close() }
    var block = [UInt8](repeating: 0, count: 8 << 20)
    for index in block.indices { block[index] = UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 13) }
    var written = 0
    while written < size {
        let count = min(block.count, size - written)
        try handle.write(contentsOf: block[0..<count])
        written += count
    }
}

private func freePort() throws -> Int {
    let probe = HTTPServer(configuration: .init()) { _ in .text("") }
    let port = try probe.start().port
    probe.stop(gracePeriod: 0)
    return port
}

private func waitForPort(_ port: Int, process: Process, log: String) throws {
    let deadline = Date(timeIntervalSinceNow: 5)
    while Date() < deadline {
        if !process.isRunning {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw HTTPBenchError(description: "nginx exited: \(text)")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(fd)
        if connected == 0 { return }
        usleep(20_000)
    }
    throw HTTPBenchError(description: "nginx did not listen on port \(port) within 5 s")
}

private func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Runs a tool to completion and returns its standard output; a failure status is an error.
private func run(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw HTTPBenchError(description: "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(text)")
    }
    return text
}
