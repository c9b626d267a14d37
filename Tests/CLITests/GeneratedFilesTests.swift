// The committed completion scripts and man page must equal what the generators print now.
@testable import BatchCLI
import Foundation
import XCTest

final class GeneratedFilesTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testCommittedCompletionScriptsAreCurrent() {
        for (shell, path) in Completion.committedFiles {
            check(path, equals: Completion.script(for: shell), regenerate: "swift run batchctl completion \(shell) > \(path)")
        }
    }

    func testCommittedManPageIsCurrent() {
        check(ManPage.committedPath, equals: ManPage.roff(), regenerate: "swift run batchctl man > \(ManPage.committedPath)")
    }

    func check(_ path: String, equals expected: String, regenerate: String, file: StaticString = #filePath, line: UInt = #line) {
        let url = Self.packageRoot.appendingPathComponent(path)
        guard let committed = try? String(contentsOf: url, encoding: .utf8) else {
            XCTFail("\(path) is missing; create it with: \(regenerate)", file: file, line: line)
            return
        }
        guard committed != expected else { return }
        let a = committed.split(separator: "\n", omittingEmptySubsequences: false)
        let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let first = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
        let was = first < a.count ? String(a[first]) : "(end of file)"
        let now = first < b.count ? String(b[first]) : "(end of file)"
        XCTFail("""
            \(path) is stale: the command table changed since it was generated. Regenerate it with:
                \(regenerate)
            first difference at line \(first + 1):
                committed: \(was)
                generated: \(now)
            """, file: file, line: line)
    }
}
