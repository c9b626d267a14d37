// Invariants of the command table that the parser, help, man page and completion scripts rely on.
@testable import BatchCLI
import XCTest

final class CommandTableTests: XCTestCase {
    func testNoDuplicateNamesWithinACommandsScope() {
        for command in CommandTable.commands {
            var long: [String: FlagSpec] = [:]
            var short: [Character: String] = [:]
            for flag in command.flags {
                XCTAssertNil(long[flag.name], "\(command.id): --\(flag.name) is declared twice")
                long[flag.name] = flag
                if let s = flag.short {
                    XCTAssertNil(short[s], "\(command.id): -\(s) is both --\(short[s] ?? "") and --\(flag.name)")
                    short[s] = flag.name
                }
            }
            for global in CommandTable.globalFlags {
                if let own = long[global.name] {
                    // An own flag named like a global is an intended shadow; the tokenizer needs the same arity.
                    XCTAssertEqual(own.takesValue, global.takesValue,
                                   "\(command.id): --\(own.name) shadows the global flag with a different arity")
                    XCTAssertEqual(own.short, global.short,
                                   "\(command.id): --\(own.name) shadows the global flag with another short letter")
                    continue
                }
                if let s = global.short, let other = short[s] {
                    XCTFail("\(command.id): -\(s) is both the global --\(global.name) and --\(other)")
                }
            }
        }
        let globalNames = CommandTable.globalFlags.map(\.name)
        XCTAssertEqual(globalNames.count, Set(globalNames).count, "a global flag is declared twice")
        let globalShorts = CommandTable.globalFlags.compactMap(\.short)
        XCTAssertEqual(globalShorts.count, Set(globalShorts).count, "a global short letter is used twice")
    }

    func testFlagsSharingANameShareArityAndShortLetter() {
        let all = CommandTable.globalFlags.map { ($0, "global") } + CommandTable.commands.flatMap { c in c.flags.map { ($0, c.id) } }
        var first: [String: (flag: FlagSpec, owner: String)] = [:]
        var byShort: [Character: (name: String, owner: String)] = [:]
        for (flag, owner) in all {
            if let seen = first[flag.name] {
                XCTAssertEqual(flag.takesValue, seen.flag.takesValue,
                               "--\(flag.name) takes a value in one of \(seen.owner) and \(owner) but not in the other")
                XCTAssertEqual(flag.short, seen.flag.short, "--\(flag.name) has different short letters in \(seen.owner) and \(owner)")
            } else {
                first[flag.name] = (flag, owner)
            }
            // The tokenizer maps a short letter to one flag across the whole table.
            if let s = flag.short {
                if let seen = byShort[s] {
                    XCTAssertEqual(seen.name, flag.name, "-\(s) means --\(seen.name) in \(seen.owner) but --\(flag.name) in \(owner)")
                } else {
                    byShort[s] = (flag.name, owner)
                }
            }
        }
    }

    func testEveryValueFlagHasAValueNameAndDeclaredChoicesAreNotEmpty() {
        for flag in CommandTable.globalFlags + CommandTable.commands.flatMap(\.flags) {
            if flag.takesValue {
                XCTAssertFalse(flag.valueName.isEmpty, "--\(flag.name) takes a value but has no value name")
                XCTAssertEqual(flag.valueName, flag.valueName.uppercased(), "--\(flag.name): value names are upper case")
            } else {
                XCTAssertTrue(flag.valueName.isEmpty, "--\(flag.name) is a switch but has value name \(flag.valueName)")
                XCTAssertFalse(flag.repeatable, "--\(flag.name) is a repeatable switch")
            }
            if case let .choice(choices)? = flag.value {
                XCTAssertFalse(choices.isEmpty, "--\(flag.name) declares no choices")
                XCTAssertEqual(choices.count, Set(choices).count, "--\(flag.name) repeats a choice")
            }
            XCTAssertFalse(flag.doc.isEmpty, "--\(flag.name) has no doc line")
            XCTAssertFalse(flag.doc.contains("\n"), "--\(flag.name): the doc line is one line")
        }
        for command in CommandTable.commands {
            for p in command.positionals where p.completion == .choice {
                XCTAssertNotEqual(CompletionModel.value(of: p, in: command), .nothing,
                                  "\(command.id) \(p.name) completes to choices but none are known")
            }
        }
    }

    func testEveryCommandHasAnImplementationAndANoun() {
        for command in CommandTable.commands {
            XCTAssertTrue(Batchctl.isImplemented(command.id), "\(command.id) has no implementation in Batchctl.implementations")
            XCTAssertNotNil(CommandTable.noun(named: command.noun), "\(command.id): noun \(command.noun) is not in CommandTable.nouns")
        }
        let ids = CommandTable.commands.map(\.id)
        XCTAssertEqual(ids.count, Set(ids).count, "a command id is declared twice")
        let words = CommandTable.nouns.flatMap { [$0.name] + $0.aliases }
        XCTAssertEqual(words.count, Set(words).count, "a noun or alias is declared twice")
        for verb in CommandTable.leadingVerbs {
            XCTAssertNil(CommandTable.noun(named: verb), "leading verb \(verb) is also a noun: the parser could not tell them apart")
        }
    }

    func testConnectionFlagsPassedToCompleteAreGlobalFlags() {
        let globals = Set(CommandTable.globalFlags.map(\.name))
        for flag in CompletionModel.connectionFlags {
            XCTAssertTrue(globals.contains(flag.rawValue), "--\(flag.rawValue) is passed on to __complete but is not a global flag")
        }
        XCTAssertNotNil(CommandTable.command(id: "__complete"), "the scripts call `batchctl __complete`")
    }

    func testEveryVisibleFlagIsInTheManPageAndEachCompletionScript() {
        let man = ManPage.roff()
        let scripts = CommandTable.shells.map { ($0, Completion.script(for: $0)) }
        let scopes = [("global", CommandTable.globalFlags)] + CommandTable.commands.filter { !$0.hidden }.map { ($0.id, $0.flags) }
        for (place, flags) in scopes {
            for flag in flags where !flag.hidden {
                XCTAssertTrue(man.contains("\\fB" + ManPage.code("--" + flag.name) + "\\fR"), "\(place) --\(flag.name) is not in the man page")
                for (shell, script) in scripts {
                    // fish names flags without dashes (-l name); bash and zsh spell them out.
                    let spelled = shell == .fish ? "-l \(flag.name) " : "--\(flag.name)"
                    XCTAssertTrue(script.contains(spelled), "\(place) --\(flag.name) is not in the \(shell) completion")
                }
            }
        }
    }

    func testHiddenFlagsAndCommandsStayOutOfTheDocs() {
        let hidden = (CommandTable.globalFlags + CommandTable.commands.flatMap(\.flags)).filter(\.hidden).map(\.name)
        XCTAssertFalse(hidden.isEmpty, "no hidden flag in the table: this test would prove nothing")
        let man = ManPage.roff()
        for name in hidden {
            XCTAssertFalse(man.contains(ManPage.code(name)), "hidden --\(name) is in the man page")
            for shell in CommandTable.shells {
                // The scripts list hidden value flags once, in `valued`, so that the walk skips their values.
                let offering = Completion.script(for: shell).split(separator: "\n").filter { !$0.contains("valued") }
                let spelled = shell == .fish ? "-l \(name) " : "--\(name)"
                XCTAssertFalse(offering.contains { $0.contains(spelled) }, "hidden --\(name) is offered by the \(shell) completion")
            }
        }
        XCTAssertFalse(man.contains("__complete"), "the hidden __complete command is in the man page")
        for shell in CommandTable.shells {
            for line in Completion.script(for: shell).split(separator: "\n") where line.contains("__complete") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                XCTAssertTrue(trimmed.hasPrefix("#") || trimmed.contains("command batchctl"),
                              "the \(shell) completion mentions the hidden __complete outside its call: \(trimmed)")
            }
        }
    }
}
