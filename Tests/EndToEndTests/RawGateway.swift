// RawGateway: HTTP/1.1 requests written byte for byte to a real server (any Host, Origin or Content-Type, a
// body sent slowly or cut short), for the tests that play an attacker or a browser; plus /proc readings.
import BatchJSONL
import Foundation
import Glibc
import XCTest

enum RawGateway {
    struct Answer: CustomStringConvertible {
        var status: Int
        /// Lower-cased names.
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSONValue? { try? JSONValue(parsing: body) }
        var description: String { "\(status) \(text.prefix(300))" }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// A connected TCP socket to 127.0.0.1:port with send and receive timeouts.
    static func connect(port: Int, timeout: Double = 10) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int(timeout.truncatingRemainder(dividingBy: 1) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "connect: \(String(cString: strerror(code)))")
        }
        return fd
    }

    @discardableResult
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { if n < 0 && errno == EINTR { continue }; return false }
            sent += n
        }
        return true
    }

    /// The request head, `Connection: close` unless the caller sets Connection.
    static func head(_ method: String, _ target: String, host: String, headers: [(String, String)], contentLength: Int?) -> [UInt8] {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let contentLength { text += "Content-Length: \(contentLength)\r\n" }
        if !headers.contains(where: { $0.0.lowercased() == "connection" }) { text += "Connection: close\r\n" }
        return Array((text + "\r\n").utf8)
    }

    /// One request on a fresh connection; the answer read to its end.
    static func send(port: Int, _ method: String, _ target: String, host: String? = nil, headers: [(String, String)] = [],
                     body: [UInt8] = [], timeout: Double = 30) throws -> Answer {
        let fd = try connect(port: port, timeout: timeout)
        defer { close(fd) }
        let hasBody = !body.isEmpty || ["POST", "PUT", "PATCH"].contains(method)
        sendAll(fd, head(method, target, host: host ?? "127.0.0.1:\(port)", headers: headers, contentLength: hasBody ? body.count : nil) + body)
        return try readAnswer(fd)
    }

    /// JSON body with `Content-Type: application/json`.
    static func json(port: Int, _ method: String, _ target: String, _ body: String = "", headers: [(String, String)] = []) throws -> Answer {
        try send(port: port, method, target, headers: [("Content-Type", "application/json")] + headers, body: Array(body.utf8))
    }

    /// Reads one answer: head, then a Content-Length or chunked body, or up to the close.
    static func readAnswer(_ fd: Int32) throws -> Answer {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        func more() throws -> Bool {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 {
                if errno == EINTR { return true }
                if errno == EAGAIN { throw Failure(description: "timed out waiting for the answer (got \(data.count) bytes)") }
                if errno == ECONNRESET { return false }
                throw Failure(description: "recv: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return false }
            data.append(contentsOf: buffer[0..<n])
            return true
        }
        var headEnd: Int?
        while headEnd == nil {
            if let range = findCRLFCRLF(data) { headEnd = range; break }
            guard try more() else { throw Failure(description: "connection closed before an answer (\(data.count) bytes)") }
        }
        let headText = String(decoding: data[0..<headEnd!], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure(description: "bad status line \(headText)") }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(data[(headEnd! + 4)...])
        if let length = headers["content-length"].flatMap(Int.init) {
            while body.count < length {
                let before = data.count
                guard try more() else { break }
                body.append(contentsOf: data[before...])
            }
            body = Array(body.prefix(length))
        } else if headers["transfer-encoding"]?.lowercased() == "chunked" {
            while !(body.count >= 5 && Array(body.suffix(5)) == Array("0\r\n\r\n".utf8)) {
                let before = data.count
                guard try more() else { break }
                body.append(contentsOf: data[before...])
            }
            body = dechunk(body)
        } else {
            while true {
                let before = data.count
                guard try more() else { break }
                body.append(contentsOf: data[before...])
            }
        }
        return Answer(status: status, headers: headers, body: body)
    }

    static func findCRLFCRLF(_ data: [UInt8]) -> Int? {
        guard data.count >= 4 else { return nil }
        for i in 0...(data.count - 4) where data[i] == 13 && data[i + 1] == 10 && data[i + 2] == 13 && data[i + 3] == 10 { return i }
        return nil
    }

    static func dechunk(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < body.count {
            guard let lineEnd = (i..<(body.count - 1)).first(where: { body[$0] == 13 && body[$0 + 1] == 10 }),
                  let size = Int(String(decoding: body[i..<lineEnd], as: UTF8.self).split(separator: ";")[0], radix: 16) else { break }
            if size == 0 { break }
            out.append(contentsOf: body[(lineEnd + 2)..<min(body.count, lineEnd + 2 + size)])
            i = lineEnd + 2 + size + 2
        }
        return out
    }

    /// Whether the peer closed the connection (EOF or reset) within `seconds`; false if it is still open.
    static func isClosedByPeer(_ fd: Int32, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 100) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) { return true }
        }
        return false
    }

    /// A field of /proc/PID/status (`Threads`, `VmRSS` in kB).
    static func procStatus(_ pid: Int32, _ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }
        }
        return nil
    }
}

extension LocalServer {
    var pid: Int32 { current?.processIdentifier ?? 0 }

    /// GET of a resource as JSON, through the raw client.
    func get(_ path: String) throws -> RawGateway.Answer { try RawGateway.send(port: port, "GET", path) }

    /// Polls `path` until `condition` holds for its JSON, for up to `timeout` seconds.
    @discardableResult
    func waitFor(_ path: String, timeout: Double = 60, _ condition: (JSONValue) -> Bool) throws -> JSONValue {
        let deadline = Date().addingTimeInterval(timeout)
        var last: RawGateway.Answer?
        while Date() < deadline {
            if let answer = try? get(path), let json = answer.json, answer.status == 200 {
                if condition(json) { return json }
                last = answer
            }
            usleep(50_000)
        }
        throw RawGateway.Failure(description: "\(path): condition not met within \(timeout)s; last answer \(last?.description ?? "none")")
    }
}
