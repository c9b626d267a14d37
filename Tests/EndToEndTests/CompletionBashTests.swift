// The bash completion in a real bash: source the script, set COMP_WORDS/COMP_CWORD, call _batchctl, read
// COMPREPLY.
import Foundation
import XCTest

final class CompletionBashTests: XCTestCase {
    var bash = ""
    var script = ""
    var cwd = ""

    override func setUpWithError() throws {
        bash = try Harness.requireTool("bash")
        script = try CompletionFixture.script("bash", name: "batchctl.bash")
        cwd = CompletionFixture.workingDirectory()
    }

    /// The words bash hands a completion function for `line` (the cursor at its end): split at blanks, and at
    /// ':' and '=' as the default COMP_WORDBREAKS does, a run of them being a word of its own.
    static func compWords(_ line: String) -> [String] {
        var words: [String] = []
        for blankSeparated in line.split(separator: " ", omittingEmptySubsequences: true) {
            var current = ""
            var breaking = false
            for ch in blankSeparated {
                let isBreak = ch == ":" || ch == "="
                if isBreak != breaking, !current.isEmpty { words.append(current); current = "" }
                breaking = isBreak
                current.append(ch)
            }
            if !current.isEmpty { words.append(current) }
        }
        if line.hasSuffix(" ") { words.append("") }
        return words
    }

    func complete(_ line: String, file: StaticString = #filePath, lineNumber: UInt = #line) -> [String] {
        let driver = #"source "$1" || exit 9; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _batchctl; printf '%s\n' "${COMPREPLY[@]}""#
        let result = Harness.runProgram(bash, ["--norc", "--noprofile", "-c", driver, "bash", script] + Self.compWords(line),
                                        env: CompletionFixture.environment(), cwd: cwd, timeout: 30)
        XCTAssertEqual(result.status, 0, "bash failed on '\(line)': \(result.err)", file: file, line: lineNumber)
        XCTAssertEqual(result.err, "", "bash wrote to stderr on '\(line)'", file: file, line: lineNumber)
        return result.out.split(separator: "\n").map(String.init)
    }

    func testWordsAreSplitLikeBash() {
        XCTAssertEqual(Self.compWords("batchctl --server http://h:1 x "), ["batchctl", "--server", "http", ":", "//h", ":", "1", "x", ""])
        XCTAssertEqual(Self.compWords("batchctl --output=j"), ["batchctl", "--output", "=", "j"])
    }

    func testNouns() {
        XCTAssertEqual(complete("batchctl da"), ["dataset", "datasets"])
        let first = complete("batchctl ")
        for word in ["dataset", "batch-inference-job", "bij", "server", "completion", "man", "create", "list"] {
            XCTAssertTrue(first.contains(word), "'batchctl ' lacks \(word): \(first)")
        }
        XCTAssertFalse(first.contains("__complete"), "the hidden command is offered")
    }

    func testVerbs() {
        XCTAssertEqual(complete("batchctl bij cr"), ["create"])
        XCTAssertEqual(complete("batchctl dataset "), ["create", "upload", "get", "list", "update", "delete", "download", "validate", "split"])
        XCTAssertEqual(complete("batchctl update "), ["dataset", "datasets"], "firectl's update dataset")
        XCTAssertEqual(complete("batchctl server "), ["start", "stop", "status"])
        // firectl's order: the verb first, then the noun.
        XCTAssertEqual(complete("batchctl create b"), ["batch-inference-job", "bij", "batch-inference-jobs", "bijs"])
        XCTAssertEqual(complete("batchctl cancel "), ["batch-inference-job", "bij", "batch-inference-jobs", "bijs"])
    }

    func testFlagsAfterAVerb() {
        XCTAssertEqual(complete("batchctl bij create --in"), ["--input-dataset-id", "--input-file"])
        XCTAssertEqual(complete("batchctl dataset download x --down"), ["--download-lineage"])
        // A flag of another command is not offered, a global one is.
        XCTAssertEqual(complete("batchctl dataset get --w"), [])
        XCTAssertEqual(complete("batchctl -q dataset get --dry"), ["--dry-run"])
        XCTAssertEqual(complete("batchctl server --f"), [], "a hidden flag is offered")
    }

    func testChoiceValues() {
        XCTAssertEqual(complete("batchctl bij get -o j"), ["json", "jsonl"])
        XCTAssertEqual(complete("batchctl -qo j"), ["json", "jsonl"])
        XCTAssertEqual(complete("batchctl bij list --output=j"), ["json", "jsonl"])
        XCTAssertEqual(complete("batchctl server --backend "), ["echo", "openai"])
        XCTAssertEqual(complete("batchctl completion "), ["bash", "zsh", "fish"])
        XCTAssertTrue(complete("batchctl bij create --precision FP8").contains("FP8_MM"))
    }

    func testFilesAndDirectories() {
        XCTAssertEqual(complete("batchctl dataset validate in"), ["input.jsonl"])
        XCTAssertEqual(complete("batchctl bij create --input-file ").sorted(), ["input.jsonl", "outdir"])
        XCTAssertEqual(complete("batchctl dataset download x --output-dir "), ["outdir"], "directories only")
        XCTAssertEqual(complete("batchctl dataset get "), [], "no gateway: no ids, and no files either")
    }

    func testLiveIDsFromTheGatewayOnTheLine() throws {
        let server = try CompletionFixture.gatewayWithJob()
        XCTAssertEqual(complete("batchctl --server \(server.url) -a local bij get "), ["job-one"])
        XCTAssertEqual(complete("batchctl --server \(server.url) -a local bij get j"), ["job-one"])
        XCTAssertEqual(complete("batchctl bij wait --server=\(server.url) --account-id=local "), ["job-one"])
        XCTAssertTrue(complete("batchctl --server \(server.url) -a local bij create -d ").contains("ds1"))
        XCTAssertEqual(complete("batchctl --server \(server.url) -a local bij create --continue-from=j"), ["job-one"])
        // Without the flags the line names another gateway (and no account): nothing.
        XCTAssertEqual(complete("batchctl bij get "), [])
    }
}
