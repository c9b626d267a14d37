// The man page from `batchctl man` through the real formatters: mandoc's lint, groff's warnings, man(1).
import Foundation
import XCTest

final class ManPageRenderTests: XCTestCase {
    var page = ""

    override func setUpWithError() throws {
        let result = Harness.run(["man"])
        XCTAssertEqual(result.status, 0, result.err)
        page = Harness.temporaryDirectory("man") + "/batchctl.1"
        try result.out.write(toFile: page, atomically: true, encoding: .utf8)
    }

    func testMandocLintFindsNothing() throws {
        let mandoc = try Harness.requireTool("mandoc")
        // -W warning fails on warnings and errors; the plain run also shows STYLE notes, which we keep at zero.
        let strict = Harness.runProgram(mandoc, ["-Tlint", "-W", "warning", page])
        XCTAssertEqual(strict.status, 0, "mandoc -Tlint -W warning:\n\(strict.out)\(strict.err)")
        let all = Harness.runProgram(mandoc, ["-Tlint", page])
        XCTAssertEqual(all.out + all.err, "", "mandoc -Tlint (style):\n\(all.out)\(all.err)")
    }

    func testGroffWarnsAboutNothing() throws {
        let groff = try Harness.requireTool("groff")
        let result = Harness.runProgram(groff, ["-man", "-ww", "-z", page])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.err, "", "groff -man -ww -z:\n\(result.err)")
    }

    func testManRendersEverySectionAt80Columns() throws {
        let man = try Harness.requireTool("man", package: "man-db")
        var env = Harness.cleanEnvironment()
        env["MANWIDTH"] = "80"
        env["MANPAGER"] = "cat"
        env["PAGER"] = "cat"
        let result = Harness.runProgram(man, ["-l", page], env: env)
        XCTAssertEqual(result.status, 0, result.err)
        let text = result.out.replacingOccurrences(of: ".\u{8}", with: "", options: .regularExpression)
        for heading in ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "GLOBAL OPTIONS", "OUTPUT FORMATS", "EXIT STATUS",
                        "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"] {
            XCTAssertTrue(text.contains("\n\(heading)\n"), "the rendered page lacks \(heading)")
        }
        XCTAssertTrue(text.contains("--input-dataset-id"), "flags render with plain hyphens")
        XCTAssertTrue(text.contains("batchctl --local bij create --input-file examples/chat.jsonl \\\n"), "examples keep their shell syntax")
        for line in text.split(separator: "\n") {
            XCTAssertLessThanOrEqual(line.count, 80, "a rendered line is wider than MANWIDTH: \(line)")
        }
    }
}
