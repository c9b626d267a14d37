// The fish completion in a real fish: source the script and ask `complete -C` what TAB would offer.
import Foundation
import XCTest

final class CompletionFishTests: XCTestCase {
    var fish = ""
    var script = ""
    var cwd = ""

    override func setUpWithError() throws {
        fish = try Harness.requireTool("fish")
        script = try CompletionFixture.script("fish", name: "batchctl.fish")
        cwd = CompletionFixture.workingDirectory()
    }

    /// What fish offers for `line`, as (word, description) pairs.
    func offers(_ line: String, file: StaticString = #filePath, lineNumber: UInt = #line) -> [(word: String, doc: String)] {
        let result = Harness.runProgram(fish, ["--no-config", "-c", "source $argv[1]; and complete -C $argv[2]", script, line],
                                        env: CompletionFixture.environment(), cwd: cwd, timeout: 30)
        XCTAssertEqual(result.status, 0, "fish failed on '\(line)': \(result.err)", file: file, line: lineNumber)
        XCTAssertEqual(result.err, "", "fish wrote to stderr on '\(line)'", file: file, line: lineNumber)
        return result.out.split(separator: "\n").map { entry in
            let parts = entry.split(separator: "\t", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
    }

    func complete(_ line: String, file: StaticString = #filePath, lineNumber: UInt = #line) -> [String] {
        offers(line, file: file, lineNumber: lineNumber).map(\.word).sorted()
    }

    func testNouns() {
        XCTAssertEqual(complete("batchctl da"), ["dataset", "datasets"])
        let first = offers("batchctl ")
        XCTAssertEqual(first.first { $0.word == "bij" }?.doc, "Create, follow and manage batch inference jobs")
        XCTAssertTrue(first.contains { $0.word == "create" }, "firectl's leading verbs are offered")
        XCTAssertFalse(first.contains { $0.word == "__complete" }, "the hidden command is offered")
    }

    func testVerbs() {
        XCTAssertEqual(offers("batchctl bij cr").map(\.word), ["create"])
        XCTAssertEqual(offers("batchctl bij cr").first?.doc, "Create a batch inference job")
        XCTAssertEqual(complete("batchctl server "), ["start", "status", "stop"])
        XCTAssertEqual(complete("batchctl create b"), ["batch-inference-job", "batch-inference-jobs", "bij", "bijs"])
    }

    func testFlagsAfterAVerb() {
        let flags = offers("batchctl bij create --in")
        XCTAssertEqual(flags.map(\.word), ["--input-dataset-id", "--input-file"])
        XCTAssertTrue(flags[0].doc.hasPrefix("Input dataset id or name"), flags[0].doc)
        XCTAssertEqual(complete("batchctl dataset get --w"), [])
        XCTAssertEqual(complete("batchctl server --fa"), [], "a hidden flag is offered")
        // server's own --api-key, not the global one with another meaning, and only once.
        XCTAssertEqual(offers("batchctl server --api-k").map(\.doc), ["Require this bearer key (KEY)"])
    }

    func testChoiceValues() {
        XCTAssertEqual(complete("batchctl bij get -o j"), ["json", "jsonl"])
        XCTAssertEqual(complete("batchctl -qo j"), ["json", "jsonl"])
        XCTAssertEqual(complete("batchctl bij list --output=j"), ["--output=json", "--output=jsonl"])
        XCTAssertEqual(complete("batchctl server --backend "), ["echo", "openai"])
        XCTAssertEqual(complete("batchctl completion "), ["bash", "fish", "zsh"])
    }

    func testFilesAndDirectories() {
        XCTAssertEqual(complete("batchctl dataset validate in"), ["input.jsonl"])
        XCTAssertEqual(complete("batchctl dataset download x --output-dir "), ["outdir/"], "directories only")
        XCTAssertEqual(complete("batchctl dataset get "), [], "no gateway: no ids, and no files either")
    }

    func testLiveIDsFromTheGatewayOnTheLine() throws {
        let server = try CompletionFixture.gatewayWithJob()
        XCTAssertEqual(complete("batchctl --server \(server.url) -a local bij get "), ["job-one"])
        XCTAssertEqual(complete("batchctl bij cancel --server=\(server.url) -alocal j"), ["job-one"])
        XCTAssertTrue(complete("batchctl --server \(server.url) -a local bij create -x ").contains("ds1"))
        XCTAssertEqual(complete("batchctl bij get "), [])
    }
}
