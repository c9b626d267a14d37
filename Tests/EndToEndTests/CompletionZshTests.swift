// The zsh completion in a real interactive zsh on a pseudo-terminal (zsh/zpty): the script is autoloaded
// from $fpath by compinit, the line is typed and TAB pressed; a compadd wrapper reports each match added.
import Foundation
import XCTest

final class CompletionZshTests: XCTestCase {
    var zsh = ""
    var directory = ""
    var cwd = ""

    /// Sourced by the interactive zsh: compinit with our script on $fpath, TAB bound to complete-word, and a
    /// compadd that prints what it adds (after zsh's own matching) between two markers.
    static let setup = #"""
    PROMPT='' RPROMPT=''
    fpath=($BATCHCTL_COMPLETIONS $fpath)
    autoload -Uz compinit && compinit -u -d $BATCHCTL_COMPLETIONS/.zcompdump
    bindkey '^I' complete-word
    compadd() {
        if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
        local -a __hits __dscr
        if (( $@[(I)-d] )); then
            local __tmp=${@[$@[(i)-d]+1]}
            if [[ $__tmp == \(* ]]; then eval "__dscr=$__tmp"; else __dscr=("${(@P)__tmp}"); fi
        fi
        builtin compadd -A __hits -D __dscr "$@"
        builtin compadd "$@"
        local i
        for (( i = 1; i <= $#__hits; i++ )); do print -r -- "MATCH:$__hits[i]${__dscr[i]:+ -- $__dscr[i]}"; done
    }
    _capture_begin() { print -r -- '<<BEGIN>>' }
    _capture_end() { print -r -- '<<END>>'; exit }
    compprefuncs=(_capture_begin)
    comppostfuncs=(_capture_end)
    print -r -- '<<READY>>'
    """#

    /// Runs zsh on a pty, types the line and TAB, prints the reported matches one a line.
    static let driver = #"""
    zmodload zsh/zpty || exit 3
    zpty z zsh -f -i
    zpty -w z "source ${(q)1}"
    local line
    while zpty -r z line; do [[ $line == *'<<READY>>'* && $line != *source* ]] && break; done
    zpty -w -n z "$2"$'\t'
    integer on=0
    while zpty -r z line; do
        line=${line//$'\r'/}
        if [[ $line == *'<<BEGIN>>'* ]]; then on=1; continue; fi
        [[ $line == *'<<END>>'* ]] && break
        (( on )) && [[ $line == MATCH:* ]] && print -r -- ${line#MATCH:}
    done
    zpty -d z
    """#

    override func setUpWithError() throws {
        zsh = try Harness.requireTool("zsh")
        let script = try CompletionFixture.script("zsh", name: "_batchctl")
        directory = URL(fileURLWithPath: script).deletingLastPathComponent().path
        try Self.setup.write(toFile: directory + "/setup.zsh", atomically: true, encoding: .utf8)
        try Self.driver.write(toFile: directory + "/driver.zsh", atomically: true, encoding: .utf8)
        cwd = CompletionFixture.workingDirectory()
    }

    /// What TAB offers for `line`, as (word, description shown) pairs.
    func offers(_ line: String, file: StaticString = #filePath, lineNumber: UInt = #line) -> [(word: String, display: String)] {
        var env = CompletionFixture.environment()
        env["BATCHCTL_COMPLETIONS"] = directory
        let result = Harness.runProgram(zsh, ["-f", directory + "/driver.zsh", directory + "/setup.zsh", line],
                                        env: env, cwd: cwd, timeout: 30)
        XCTAssertEqual(result.status, 0, "zsh failed on '\(line)': \(result.err)", file: file, line: lineNumber)
        return result.out.split(separator: "\n").map { entry in
            let parts = entry.components(separatedBy: " -- ")
            return (parts[0], parts.dropFirst().joined(separator: " -- "))
        }
    }

    /// The words TAB offers, sorted; zsh shows a word added twice (as _files may add it) once.
    func complete(_ line: String, file: StaticString = #filePath, lineNumber: UInt = #line) -> [String] {
        Array(Set(offers(line, file: file, lineNumber: lineNumber).map(\.word))).sorted()
    }

    func testNouns() {
        XCTAssertEqual(complete("batchctl da"), ["dataset", "datasets"])
        let first = complete("batchctl ")
        for word in ["dataset", "bij", "server", "create", "wait"] { XCTAssertTrue(first.contains(word), "lacks \(word): \(first)") }
        XCTAssertFalse(first.contains("__complete"), "the hidden command is offered")
    }

    func testVerbsWithDescriptions() {
        let verbs = offers("batchctl bij cr")
        XCTAssertEqual(verbs.map(\.word), ["create"])
        XCTAssertTrue(verbs[0].display.contains("Create a batch inference job"), verbs[0].display)
        XCTAssertEqual(complete("batchctl help dataset d"), ["delete", "download"])
        XCTAssertEqual(complete("batchctl list b"), ["batch-inference-job", "batch-inference-jobs", "bij", "bijs"])
    }

    func testFlagsAfterAVerb() {
        let flags = offers("batchctl bij create --in")
        XCTAssertEqual(flags.map(\.word).sorted(), ["--input-dataset-id", "--input-file"])
        XCTAssertTrue(flags.contains { $0.display.contains("Create the input dataset from FILE first") }, "\(flags)")
        XCTAssertEqual(complete("batchctl dataset get --w"), [])
        XCTAssertEqual(complete("batchctl server --fa"), [], "a hidden flag is offered")
    }

    func testChoiceValues() {
        XCTAssertEqual(complete("batchctl bij get -o j"), ["json", "jsonl"])
        XCTAssertEqual(complete("batchctl -qo j"), ["json", "jsonl"])
        XCTAssertEqual(complete("batchctl bij list --output=j"), ["json", "jsonl"])
        XCTAssertEqual(complete("batchctl completion "), ["bash", "fish", "zsh"])
    }

    func testFilesAndDirectories() {
        XCTAssertEqual(complete("batchctl dataset validate in"), ["input.jsonl"])
        XCTAssertEqual(complete("batchctl dataset download x --output-dir "), ["outdir"], "directories only")
    }

    func testLiveIDsFromTheGatewayOnTheLine() throws {
        let server = try CompletionFixture.gatewayWithJob()
        XCTAssertEqual(complete("batchctl --server \(server.url) -a local bij get "), ["job-one"])
        XCTAssertEqual(complete("batchctl bij delete --server=\(server.url) --account-id local j"), ["job-one"])
        XCTAssertTrue(complete("batchctl --server \(server.url) -a local dataset get ").contains("ds1"))
        XCTAssertEqual(complete("batchctl bij get "), [])
    }
}
