// The table-driven parser: resolves the command (noun-verb or firectl's verb-noun), then checks and converts
// every flag value against the table.
import BatchAPI
import BatchJSONL

public enum HelpTopic: Equatable {
    case top
    case noun(String)
    case command(String)
}

public enum Parser {
    /// Every flag by long name across the whole table. Flags that share a name share their arity (a test
    /// checks it), so the tokenizer can tell whether a flag takes a value before the command is known.
    static let flagsByName: [String: FlagSpec] = {
        var map: [String: FlagSpec] = [:]
        for f in CommandTable.globalFlags + CommandTable.commands.flatMap(\.flags) where map[f.name] == nil { map[f.name] = f }
        return map
    }()

    static let flagsByShort: [Character: FlagSpec] = {
        var map: [Character: FlagSpec] = [:]
        for f in CommandTable.globalFlags + CommandTable.commands.flatMap(\.flags) {
            if let s = f.short, map[s] == nil { map[s] = f }
        }
        return map
    }()

    private struct RawFlag { var spelling: String; var flag: Flag?; var value: String? }

    public static func parse(_ args: [String]) throws -> Invocation {
        var tokenizer = Tokenizer(args)
        var raw: [RawFlag] = []
        var words: [String] = []
        var missingValue: String?

        while let token = tokenizer.next() {
            switch token {
            case let .positional(word):
                words.append(word)
            case let .long(name, attached):
                let spec = flagsByName[name]
                if let spec, spec.takesValue {
                    if let attached { raw.append(RawFlag(spelling: "--\(name)", flag: spec.flag, value: attached)) } else if tokenizer.nextIsValue(), let v = tokenizer.takeValue() {
                        raw.append(RawFlag(spelling: "--\(name)", flag: spec.flag, value: v))
                    } else {
                        missingValue = missingValue ?? "--\(name)"
                    }
                } else if let spec, attached != nil {
                    throw CLIError.usage("flag --\(spec.name) takes no value", command: nil)
                } else {
                    raw.append(RawFlag(spelling: "--\(name)", flag: spec?.flag, value: nil))
                }
            case let .short(c):
                guard let spec = flagsByShort[c] else {
                    raw.append(RawFlag(spelling: "-\(c)", flag: nil, value: nil))
                    continue
                }
                if spec.takesValue {
                    if tokenizer.hasPendingShorts || tokenizer.nextIsValue(), let v = tokenizer.takeValue() {
                        raw.append(RawFlag(spelling: "-\(c)", flag: spec.flag, value: v))
                    } else {
                        missingValue = missingValue ?? "-\(c)"
                    }
                } else {
                    raw.append(RawFlag(spelling: "-\(c)", flag: spec.flag, value: nil))
                }
            }
        }

        let wantsHelp = raw.contains { $0.flag == .help }
        let wantsVersion = raw.contains { $0.flag == .version }
        let (command, positionals, helpTopic) = try resolveCommand(words: words, wantsHelp: wantsHelp, wantsVersion: wantsVersion)

        // Help is answered before anything else can fail (a half-typed line plus -h still gets help).
        if helpTopic != nil {
            return Invocation(command: command, positionals: positionals, values: [:], helpTopic: helpTopic)
        }
        if let missingValue {
            let spec = missingValue.hasPrefix("--") ? flagsByName[String(missingValue.dropFirst(2))] : flagsByShort[missingValue.last!]
            throw CLIError.usage("flag \(missingValue) needs a value (\(spec?.valueName ?? "VALUE"))", command: command.path)
        }

        let scope = CommandTable.flags(for: command)
        var values: [Flag: ParsedValue] = [:]
        for flag in raw {
            guard let name = flag.flag, let spec = scope.first(where: { $0.flag == name }) else {
                let candidates = scope.filter { !$0.hidden }.map { "--\($0.name)" }
                var message = "unknown flag \(flag.spelling) for 'batchctl \(command.path)'"
                if flag.spelling.hasPrefix("--"), let s = Suggest.closest(to: flag.spelling, in: candidates) {
                    message += "; did you mean '\(s)'?"
                }
                throw CLIError.usage(message, command: command.path)
            }
            guard let text = flag.value else { values[name] = .present; continue }
            let converted = try convert(text, for: spec, command: command)
            if spec.repeatable {
                var list: [String] = []
                if case let .list(l)? = values[name] { list = l }
                list.append(text)
                values[name] = .list(list)
            } else {
                values[name] = converted
            }
        }

        let maxPositionals = command.positionals.last?.repeats == true ? Int.max : command.positionals.count
        if positionals.count > maxPositionals {
            throw CLIError.usage("unexpected argument '\(positionals[maxPositionals])' for 'batchctl \(command.path)'",
                                 command: command.path)
        }
        if wantsVersion == false, let missing = command.positionals.dropFirst(positionals.count).first(where: \.required) {
            throw CLIError.usage("missing \(missing.name): \(command.usage)", command: command.path)
        }
        return Invocation(command: command, positionals: positionals, values: values, helpTopic: nil)
    }

    static func convert(_ text: String, for spec: FlagSpec, command: CommandSpec) throws -> ParsedValue {
        func bad(_ what: String) -> CLIError {
            CLIError.usage("invalid value '\(text)' for --\(spec.name): \(what)", command: command.path)
        }
        switch spec.value {
        case .none: return .present
        case .string?, .path?:
            return .string(text)
        case .integer?:
            guard let n = Int(text) else { throw bad("expected an integer") }
            return .integer(n)
        case .number?:
            guard let d = Double(text), d.isFinite else { throw bad("expected a number") }
            return .number(d)
        case .duration?:
            switch DurationText.parse(text) {
            case let .success(d): return .duration(d)
            case let .failure(problem): throw bad(problem.description)
            }
        case .json?:
            do {
                let value = try JSONValue(parsing: text)
                guard case .object = value else { throw bad("expected a JSON object") }
                return .json(value)
            } catch let e as JSONParseError {
                throw bad("invalid JSON: \(e)")
            }
        case let .choice(choices)?:
            if let exact = choices.first(where: { $0 == text }) ?? choices.first(where: { $0.lowercased() == text.lowercased() }) {
                return .string(exact)
            }
            throw bad("expected one of \(choices.joined(separator: ", "))")
        }
    }

    /// Finds the command from the positional words; returns it, the remaining positionals and a help topic.
    static func resolveCommand(words: [String], wantsHelp: Bool, wantsVersion: Bool) throws -> (CommandSpec, [String], HelpTopic?) {
        let help = CommandTable.command(id: "help")!
        guard let first = words.first else {
            if wantsVersion, !wantsHelp { return (CommandTable.command(id: "version")!, [], nil) }
            return (help, [], .top)
        }
        // `batchctl help dataset create`
        if first == "help" {
            let topic = Array(words.dropFirst())
            if topic.isEmpty { return (help, [], .top) }
            let (_, _, inner) = try resolveCommand(words: topic, wantsHelp: true, wantsVersion: false)
            return (help, [], inner ?? .top)
        }

        var noun: NounSpec?
        var verb: String?
        var rest: [String]
        if let n = CommandTable.noun(named: first) {
            noun = n
            rest = Array(words.dropFirst())
            let verbs = CommandTable.verbs(of: n.name).compactMap(\.verb)
            if let next = rest.first, verbs.contains(next) {
                verb = next
                rest.removeFirst()
            } else if !n.runsWithoutVerb {
                if let next = rest.first {
                    if wantsHelp { return (help, [], .noun(n.name)) }
                    var message = "unknown command '\(next)' for 'batchctl \(n.name)'"
                    if let s = Suggest.closest(to: next, in: verbs) { message += "; did you mean '\(s)'?" }
                    throw CLIError.usage(message, command: n.name)
                }
                if wantsHelp { return (help, [], .noun(n.name)) }
                throw CLIError.usage("'batchctl \(n.name)' needs a command: \(verbs.joined(separator: ", "))", command: n.name)
            }
        } else if CommandTable.leadingVerbs.contains(first), words.count >= 2, let n = CommandTable.noun(named: words[1]),
                  CommandTable.command(noun: n.name, verb: first) != nil {
            noun = n
            verb = first
            rest = Array(words.dropFirst(2))
        } else {
            if CommandTable.leadingVerbs.contains(first) {
                let nounNames = CommandTable.nouns.filter { !CommandTable.verbs(of: $0.name).isEmpty }.map(\.name)
                if words.count < 2 {
                    throw CLIError.usage("'\(first)' needs a resource: \(nounNames.joined(separator: " or "))", command: nil)
                }
                var message = "unknown resource '\(words[1])' for '\(first)'"
                if let s = Suggest.closest(to: words[1], in: nounNames + ["bij"]) { message += "; did you mean '\(s)'?" }
                throw CLIError.usage(message, command: nil)
            }
            let candidates = CommandTable.nouns.filter { !$0.hidden }.flatMap { [$0.name] + $0.aliases } + CommandTable.leadingVerbs
            var message = "unknown command '\(first)'"
            if let s = Suggest.closest(to: first, in: candidates) { message += "; did you mean '\(s)'?" }
            throw CLIError.usage(message, command: nil)
        }
        guard let noun, let command = CommandTable.command(noun: noun.name, verb: verb) else {
            throw CLIError.usage("unknown command '\(words.joined(separator: " "))'", command: nil)
        }
        if wantsHelp { return (help, [], .command(command.id)) }
        return (command, rest, nil)
    }
}
