// The man page's content and its roff escaping.
@testable import BatchCLI
import XCTest

final class ManPageTests: XCTestCase {
    let page = ManPage.roff()

    func testHasTheSectionsInOrder() {
        let sections = page.split(separator: "\n").filter { $0.hasPrefix(".SH ") }.map { $0.dropFirst(4).replacingOccurrences(of: "\"", with: "") }
        XCTAssertEqual(sections, ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "GLOBAL OPTIONS", "OUTPUT FORMATS", "EXIT STATUS",
                                  "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"])
        XCTAssertTrue(page.contains("\n.TH BATCHCTL 1 "), "no .TH title line")
    }

    func testEveryVisibleCommandHasASubsectionWithItsArguments() {
        for command in CommandTable.commands where !command.hidden {
            guard let start = page.range(of: ".SS \"\(ManPage.code(command.path))\"\n") else {
                XCTFail("no subsection for \(command.path)")
                continue
            }
            let body = String(page[start.upperBound...]).components(separatedBy: "\n.SS ").first ?? ""
            for p in command.positionals {
                XCTAssertTrue(body.contains("\\fI\(ManPage.code(p.name))\\fR"), "\(command.path): argument \(p.name) missing")
            }
            XCTAssertTrue(body.contains(ManPage.prose(command.summary).first ?? "?"), "\(command.path): summary missing")
        }
    }

    func testExitStatusAndEnvironmentMatchTheCLIReference() {
        let exit = section("EXIT STATUS")
        let codes = exit.split(separator: "\n").filter { $0.hasPrefix("\\fB") }.map { $0.dropFirst(3).prefix { $0.isNumber } }
        XCTAssertEqual(codes, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "130"])
        let environment = section("ENVIRONMENT")
        for name in ["FIREWORKS_API_KEY", "FIREWORKS_ACCOUNT_ID", "FIREWORKS_BASE_URL", "FIREWORKS_PROFILE", "NO_COLOR",
                     "BATCHCTL_SERVER_API_KEY", "XDG_DATA_HOME"] {
            XCTAssertTrue(environment.contains("\\fB\(name)\\fR"), "ENVIRONMENT lacks \(name)")
        }
        for format in OutputFormat.allCases {
            XCTAssertTrue(section("OUTPUT FORMATS").contains("\\fB\(format.rawValue)\\fR"), "OUTPUT FORMATS lacks \(format)")
        }
        XCTAssertTrue(section("FILES").contains("auth.ini"))
    }

    func testProseIsEscapedForRoff() {
        XCTAssertEqual(ManPage.prose(".hidden line"), ["\\&.hidden line"], "a leading dot would be a request")
        XCTAssertEqual(ManPage.prose("'quoted"), ["\\&'quoted"], "a leading quote would be a request")
        XCTAssertEqual(ManPage.prose("a \\ b"), ["a \\e b"])
        XCTAssertEqual(ManPage.prose("Use --dry-run or -q on a built-in model."), ["Use \\-\\-dry\\-run or \\-q on a built-in model."],
                       "flags get minus signs; hyphenated words keep their hyphens")
        XCTAssertEqual(ManPage.prose("Run `batchctl server` now."), ["Run \\fBbatchctl server\\fR now."])
        XCTAssertEqual(ManPage.prose("One. Two, e.g. Three."), ["One.", "Two, e.g. Three."], "one sentence per line")
        // A wrapped line must not begin with a dot either.
        let long = String(repeating: "word ", count: 15) + ".dot"
        XCTAssertTrue(ManPage.prose(long).allSatisfy { !$0.hasPrefix(".") && $0.count <= 80 }, "\(ManPage.prose(long))")
        for line in page.split(separator: "\n") where !line.hasPrefix(".") {
            XCTAssertFalse(line.hasPrefix("'"), "a text line starts with a quote: \(line)")
            XCTAssertFalse(line.contains(" --"), "an unescaped flag: \(line)")
        }
    }

    func testExamplesAreEscaped() {
        XCTAssertTrue(page.contains("batchctl \\-\\-local bij create \\-\\-input\\-file examples/chat.jsonl"))
    }

    func section(_ name: String) -> String {
        guard let start = page.range(of: ".SH \"\(name)\"\n") else { XCTFail("no section \(name)"); return "" }
        return page[start.upperBound...].components(separatedBy: "\n.SH ").first ?? ""
    }
}
