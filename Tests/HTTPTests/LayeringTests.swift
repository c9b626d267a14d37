// design.md's rule, checked: nothing above BatchHTTP opens a socket or calls libcurl.
import Foundation
import XCTest

final class LayeringTests: XCTestCase {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    func testOnlyTheHTTPLayerTouchesSocketsOrLibcurl() throws {
        // A bare call of a socket function (not a method such as `client.send(`, not a definition).
        let call = try NSRegularExpression(pattern: #"(?<![.\w])(socket|connect|send|recv|recvfrom|sendto|sendfile|getaddrinfo|accept|accept4|bind|listen|setsockopt|poll)\("#)
        let curl = try NSRegularExpression(pattern: #"\bccurl_|import CCurl\b"#)
        var offenders: [String] = []
        var scanned = 0
        let enumerator = FileManager.default.enumerator(at: Self.sources, includingPropertiesForKeys: nil)!
        for case let url as URL in enumerator where url.pathExtension == "swift" {
            let relative = url.path.replacingOccurrences(of: Self.sources.path + "/", with: "")
            // The library's layers and the entry point; the benchmark tool measures sockets on purpose.
            guard !relative.hasPrefix("BatchCore/HTTP/"), !relative.hasPrefix("batchctl-bench/") else { continue }
            scanned += 1
            let text = try String(contentsOf: url, encoding: .utf8)
            for (number, line) in text.components(separatedBy: "\n").enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("//") || trimmed.contains("func ") { continue }
                let range = NSRange(line.startIndex..., in: line)
                if call.firstMatch(in: line, range: range) != nil || curl.firstMatch(in: line, range: range) != nil {
                    offenders.append("\(relative):\(number + 1): \(trimmed)")
                }
            }
        }
        XCTAssertGreaterThan(scanned, 50, "the scan found the sources")
        XCTAssertEqual(offenders, [], "only Sources/BatchCore/HTTP may call sockets or libcurl:\n" + offenders.joined(separator: "\n"))
    }
}
