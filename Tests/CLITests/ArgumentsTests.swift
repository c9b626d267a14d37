// The typed arguments against the table: every flag is declared, and every command reads exactly the flags
// of its scope, each as the kind the table gives it, without running a command.
@testable import BatchCLI
import XCTest

final class ArgumentsTests: XCTestCase {
    func testEveryFlagIsDeclaredInTheTableAndEveryTableFlagIsAFlag() {
        let declared = CommandTable.globalFlags + CommandTable.commands.flatMap(\.flags)
        for flag in Flag.allCases {
            XCTAssertTrue(declared.contains { $0.flag == flag }, "--\(flag.rawValue) is a Flag case but no command declares it")
        }
        for spec in declared {
            XCTAssertEqual(Flag(rawValue: spec.name), spec.flag)
        }
        let names = Flag.allCases.map(\.rawValue)
        XCTAssertEqual(names.count, Set(names).count, "two Flag cases share a name")
    }

    func testFlagsSharingANameShareTheirKind() {
        // A flag is read with one accessor whatever command declares it.
        var first: [Flag: FlagSpec] = [:]
        for spec in CommandTable.globalFlags + CommandTable.commands.flatMap(\.flags) {
            if let seen = first[spec.flag] {
                XCTAssertEqual(seen.value, spec.value, "--\(spec.name) is declared with two kinds of value")
                XCTAssertEqual(seen.repeatable, spec.repeatable, "--\(spec.name) is repeatable in one place only")
            } else {
                first[spec.flag] = spec
            }
        }
    }

    /// Each command with every flag of its scope given: its arguments and the global arguments read only
    /// flags in scope, each as its declared kind, and between them every flag the command has.
    func testEachCommandReadsItsOwnFlagsAndNothingElse() throws {
        for command in CommandTable.commands {
            let invocation = try Parser.parse(Self.lineGivingEveryFlag(of: command))
            XCTAssertEqual(invocation.command.id, command.id)
            let implementation = try XCTUnwrap(Batchctl.implementations[command.id], command.id)

            let own = FlagReader(invocation)
            _ = try? implementation.decode(own)
            XCTAssertEqual(own.problems, [], command.id)
            let global = FlagReader(invocation)
            _ = GlobalArguments(global)
            XCTAssertEqual(global.problems, [], command.id)

            for spec in command.flags {
                XCTAssertTrue(own.reads.contains(spec.flag), "\(command.id) declares --\(spec.name) but its arguments never read it")
            }
            for spec in CommandTable.globalFlags where spec.flag != .help {
                XCTAssertTrue(global.reads.contains(spec.flag), "GlobalArguments never reads --\(spec.name)")
            }
        }
    }

    func testTheAuditCatchesAFlagOutsideTheScopeAndAWrongKind() throws {
        let list = FlagReader(try Parser.parse(["dataset", "list"]))
        _ = try? JobCreateArguments(list)
        XCTAssertTrue(list.problems.contains("'dataset.list' reads --max-tokens, which is not one of its flags"), "\(list.problems)")

        // A table that declared --max-tokens as text would no longer match the accessor that reads it.
        var command = try XCTUnwrap(CommandTable.command(id: "batch-inference-job.create"))
        command.flags = command.flags.map { $0.flag == .maxTokens ? FlagSpec(.maxTokens, value: .string, valueName: "N", doc: "d") : $0 }
        let odd = FlagReader(Invocation(command: command, positionals: [], values: [:], helpTopic: nil))
        _ = try? JobCreateArguments(odd)
        XCTAssertEqual(odd.problems, ["'batch-inference-job.create' reads --max-tokens as an integer, but the table declares a string"])

        // Choices read as an enum must be that enum's cases.
        var server = try XCTUnwrap(CommandTable.command(id: "server"))
        server.flags = server.flags.map { $0.flag == .backend ? FlagSpec(.backend, value: .choice(["echo"]), valueName: "NAME", doc: "d") : $0 }
        let narrow = FlagReader(Invocation(command: server, positionals: [], values: [:], helpTopic: nil))
        _ = try? ServerArguments(narrow)
        XCTAssertEqual(narrow.problems.count, 1, "\(narrow.problems)")
    }

    func testGlobalFlagsACommandRedeclaresAreItsOwn() throws {
        var flags = FlagReader(try Parser.parse(["server", "--api-key", "server-key", "-a", "acct"]))
        var global = GlobalArguments(flags)
        XCTAssertNil(global.apiKey, "server --api-key is the key the server requires, not one the client sends")
        XCTAssertNil(global.accountID)
        let server = try ServerArguments(FlagReader(try Parser.parse(["server", "--api-key", "server-key", "-a", "acct"])))
        XCTAssertEqual(server.apiKey, "server-key")
        XCTAssertEqual(server.accountID, "acct")

        // The global --timeout is per request everywhere; how long to wait is --wait-timeout (#13).
        flags = FlagReader(try Parser.parse(["bij", "wait", "j", "--timeout", "2h"]))
        global = GlobalArguments(flags)
        XCTAssertEqual(global.timeout, .seconds(7200), "bij wait --timeout is the per-request timeout, as everywhere")
        var wait = JobWaitArguments(FlagReader(try Parser.parse(["bij", "wait", "j", "--timeout", "2h"])))
        XCTAssertNil(wait.follow.waitTimeout)
        wait = JobWaitArguments(FlagReader(try Parser.parse(["bij", "wait", "j", "--wait-timeout", "2h"])))
        XCTAssertEqual(wait.follow.waitTimeout, .seconds(7200))
        XCTAssertEqual(wait.follow.progressInterval, .seconds(30))
        XCTAssertFalse(wait.follow.failOnRowErrors)
        XCTAssertEqual(wait.interval, .seconds(5))
    }

    func testTypedValues() throws {
        let job = try JobCreateArguments(FlagReader(try Parser.parse([
            "bij", "create", "-m", "m", "-d", "ds", "--max-tokens", "12", "--temperature", "0.5", "--top-k", "3",
            "--extra-body", #"{"stop":[]}"#, "--max-job-duration", "1h30m", "--wait", "--download", "out",
        ])))
        XCTAssertEqual(job.model, "m")
        XCTAssertEqual(job.inputDatasetID, "ds")
        XCTAssertEqual(job.maxTokens, 12)
        XCTAssertEqual(job.temperature, 0.5)
        XCTAssertEqual(job.topK, 3)
        XCTAssertNil(job.topP)
        XCTAssertEqual(job.extraBody?.compactText, #"{"stop":[]}"#)
        XCTAssertEqual(job.maxJobDuration, .seconds(5400))
        XCTAssertTrue(job.wait)
        XCTAssertEqual(job.download, "out")

        XCTAssertThrowsError(try JobCreateArguments(FlagReader(try Parser.parse(["bij", "create", "-m", "m", "-d", "ds", "--max-tokens", "4294967296"])))) {
            XCTAssertEqual($0 as? CLIError, .usage("invalid value '4294967296' for --max-tokens: expected a non-negative 32-bit integer",
                                                   command: "batch-inference-job create"))
        }
        // Zero is a value like any other: kept, never confused with "not given".
        let greedy = try JobCreateArguments(FlagReader(try Parser.parse(["bij", "create", "-m", "m", "-d", "ds", "--temperature", "0",
                                                                         "--top-k", "0", "--max-tokens", "0", "--top-p", "0"])))
        XCTAssertEqual(greedy.temperature, 0)
        XCTAssertEqual(greedy.topK, 0)
        XCTAssertEqual(greedy.maxTokens, 0)
        XCTAssertEqual(greedy.topP, 0)
        XCTAssertNil(greedy.n)
        // Ranges: temperature 0..2, top-p 0..1, counts >= 0, n >= 1.
        for (flag, value, expected) in [("--temperature", "-0.5", "a number from 0 to 2"), ("--temperature", "2.5", "a number from 0 to 2"),
                                        ("--top-p", "1.01", "a number from 0 to 1"), ("--top-p", "-1", "a number from 0 to 1"),
                                        ("--top-k", "-1", "a non-negative 32-bit integer"), ("--max-tokens", "-3", "a non-negative 32-bit integer"),
                                        ("--n", "0", "a 32-bit integer of at least 1")] {
            XCTAssertThrowsError(try JobCreateArguments(FlagReader(try Parser.parse(["bij", "create", "-m", "m", "-d", "ds", flag, value]))), flag) {
                XCTAssertEqual(($0 as? CLIError).map { "\($0)" }?.contains(expected), true, "\(flag) \(value): \($0)")
            }
        }
        XCTAssertEqual(try JobCreateArguments(FlagReader(try Parser.parse(["bij", "create", "-m", "m", "-d", "ds", "--temperature", "2",
                                                                           "--top-p", "1", "--n", "1"]))).n, 1, "the bounds are allowed")

        XCTAssertThrowsError(try JobCreateArguments(FlagReader(try Parser.parse(["bij", "create", "-m", "m", "-d", "ds", "--download", "out"])))) {
            XCTAssertEqual($0 as? CLIError, .usage("--download needs --wait", command: "batch-inference-job create"))
        }

        let dataset = try DatasetCreateArguments(FlagReader(try Parser.parse(["dataset", "create", "d", "--format", "COMPLETION", "--no-validate"])))
        XCTAssertEqual(dataset.format, .completion)
        XCTAssertEqual(dataset.format?.wireName, "COMPLETION")
        XCTAssertFalse(dataset.validate)

        // firectl: --no-paginate lists everything (as listing does anyway); only --page-token asks for one page.
        var list = try ListArguments(FlagReader(try Parser.parse(["dataset", "list", "--no-paginate", "--limit", "5"])))
        XCTAssertFalse(list.onePage)
        XCTAssertEqual(list.limit, 5)
        list = try ListArguments(FlagReader(try Parser.parse(["dataset", "list", "--page-token", "abc"])))
        XCTAssertTrue(list.onePage)
        XCTAssertThrowsError(try ListArguments(FlagReader(try Parser.parse(["dataset", "list", "--limit", "0"]))))
    }

    func testServerBackendIsAnEnumAndServerStartSpellsItsFlagsOut() throws {
        let args = try ServerArguments(FlagReader(try Parser.parse([
            "server", "start", "--backend", "openai", "--inference-url", "http://127.0.0.1:1/v1", "--model-map", "a=b",
            "--model-map", "c=d", "--concurrency", "8", "--request-timeout", "300ms", "--fail-requests", "503x2",
        ])))
        XCTAssertEqual(args.backend, .openai)
        XCTAssertEqual(args.concurrency, 8)
        XCTAssertEqual(args.requestTimeout, .milliseconds(300))
        XCTAssertEqual(args.injectedFault?.status, 503)
        XCTAssertEqual(args.injectedFault?.count, 2)
        XCTAssertEqual(args.spelledOut, ["--backend", "openai", "--inference-url", "http://127.0.0.1:1/v1", "--model-map", "a=b",
                                         "--model-map", "c=d", "--concurrency", "8", "--request-timeout", "0.3s",
                                         "--fail-requests", "503x2"])
        // What is spelled out parses back to the same arguments.
        let again = try ServerArguments(FlagReader(try Parser.parse(["server"] + args.spelledOut)))
        XCTAssertEqual(again.spelledOut, args.spelledOut)
        XCTAssertEqual(try ServerArguments(FlagReader(try Parser.parse(["server"]))).backend, .echo)
        XCTAssertEqual(type(of: args.backend).allCases.map(\.rawValue), CommandTable.command(id: "server")?.flags.first { $0.flag == .backend }?.choices)
    }

    /// `noun verb POSITIONALS --every-flag-in-scope VALUE`, with a sample value of each flag's kind.
    static func lineGivingEveryFlag(of command: CommandSpec) -> [String] {
        var line = [command.noun] + (command.verb.map { [$0] } ?? [])
        if command.id == "help" { return line }
        line += command.positionals.filter(\.required).map { _ in "x" }
        for spec in CommandTable.flags(for: command) where spec.flag != .help {
            line.append("--\(spec.name)")
            switch spec.value {
            case nil: continue
            case .string?, .path?: line.append("x")
            case .integer?: line.append("1")
            case .number?: line.append("0.5")
            case .duration?: line.append("1s")
            case .json?: line.append("{}")
            case let .choice(choices)?: line.append(choices[0])
            }
        }
        return line
    }
}
