// What the three completion scripts are generated from: the command table seen as words a shell walks.

/// The part of a completion that depends only on the table, shared by the bash, zsh and fish generators so
/// the three scripts agree on what is valid where.
enum CompletionModel {
    /// The flags that choose the gateway and account; the scripts pass them on to `batchctl __complete`
    /// so TAB lists the ids of the gateway the line is about to talk to.
    static let connectionFlags: [Flag] = [.server, .accountID, .apiKey, .profile, .local]

    /// What TAB offers for one value, in shell-neutral terms.
    enum Value: Equatable {
        case nothing
        case choices([String])
        case files
        case directories
        case datasetIDs
        case jobIDs
        /// A noun then its verb (`help`'s argument).
        case commandPath
    }

    /// One way to spell a command: `dataset create`, `bij get`, `create dataset` (firectl's order), `server`.
    struct Route {
        var words: [String]
        var command: CommandSpec
    }

    static var visibleNouns: [NounSpec] { CommandTable.nouns.filter { !$0.hidden } }
    static var visibleCommands: [CommandSpec] { CommandTable.commands.filter { !$0.hidden } }

    /// Every word that names a visible noun, with the noun's summary.
    static var nounWords: [(word: String, summary: String)] {
        visibleNouns.flatMap { n in ([n.name] + n.aliases).map { ($0, n.summary) } }
    }

    static func words(of noun: NounSpec) -> [String] { [noun.name] + noun.aliases }

    /// firectl's leading verbs, each with the nouns that have it.
    static var leadingVerbs: [(verb: String, nouns: [NounSpec])] {
        CommandTable.leadingVerbs.map { verb in
            (verb, visibleNouns.filter { CommandTable.command(noun: $0.name, verb: verb).map { !$0.hidden } ?? false })
        }.filter { !$0.nouns.isEmpty }
    }

    static func leadingVerbSummary(_ verb: String) -> String {
        let noun = leadingVerbs.first { $0.verb == verb }?.nouns.first?.name ?? "dataset"
        return "firectl order: \(verb) \(noun) ..."
    }

    /// Two-word routes first: a shell tries them before the one-word routes of nouns that run without a verb.
    static var twoWordRoutes: [Route] {
        var routes: [Route] = []
        for c in visibleCommands {
            guard let verb = c.verb, let noun = CommandTable.noun(named: c.noun) else { continue }
            for w in words(of: noun) { routes.append(Route(words: [w, verb], command: c)) }
            if CommandTable.leadingVerbs.contains(verb) {
                for w in words(of: noun) { routes.append(Route(words: [verb, w], command: c)) }
            }
        }
        return routes
    }

    static var oneWordRoutes: [Route] {
        visibleCommands.filter { $0.verb == nil }.compactMap { c in
            CommandTable.noun(named: c.noun).map { Route(words: [$0.name], command: c) }
        }
    }

    /// Visible verbs of a noun with their summaries.
    static func verbs(of noun: NounSpec) -> [(verb: String, summary: String)] {
        CommandTable.verbs(of: noun.name).filter { !$0.hidden }.compactMap { c in c.verb.map { ($0, c.summary) } }
    }

    /// Nouns that take a verb next (so a one-word line offers verbs).
    static var nounsWithVerbs: [NounSpec] { visibleNouns.filter { !verbs(of: $0).isEmpty } }

    /// The flags TAB offers inside `command` (nil: before any command is known, the globals).
    static func visibleFlags(for command: CommandSpec?) -> [FlagSpec] {
        (command.map { CommandTable.flags(for: $0) } ?? CommandTable.globalFlags).filter { !$0.hidden }
    }

    /// `--name` and `-s` for a flag.
    static func spellings(_ flag: FlagSpec) -> [String] {
        ["--\(flag.name)"] + (flag.short.map { ["-\($0)"] } ?? [])
    }

    /// Every spelling of a flag that takes a value, hidden ones included: a script walking the line must
    /// skip their values wherever they stand. Flags sharing a name share arity (a table test checks it).
    static var valueSpellings: [String] {
        var seen = Set<String>()
        var out: [String] = []
        for f in CommandTable.globalFlags + CommandTable.commands.flatMap(\.flags) where f.takesValue {
            for s in spellings(f) where seen.insert(s).inserted { out.append(s) }
        }
        return out
    }

    static var connectionSpellings: [String] {
        CommandTable.globalFlags.filter { connectionFlags.contains($0.flag) }.flatMap(spellings)
    }

    static func value(of flag: FlagSpec) -> Value {
        guard flag.takesValue else { return .nothing }
        return value(flag.completion, choices: flag.choices)
    }

    static func value(of positional: PositionalSpec, in command: CommandSpec) -> Value {
        // The table has no choices on positionals; `completion SHELL` is the one that needs them.
        let choices = command.id == "completion" ? CommandTable.shells.map(\.rawValue) : []
        return value(positional.completion, choices: choices)
    }

    static func value(_ kind: CompletionKind, choices: [String]) -> Value {
        switch kind {
        case .none: return .nothing
        case .file: return .files
        case .directory: return .directories
        case .choice: return choices.isEmpty ? .nothing : .choices(choices)
        case .datasetID: return .datasetIDs
        case .jobID: return .jobIDs
        case .command: return .commandPath
        }
    }

    /// A command's own visible value flags. The scripts list them before the globals, so that an own flag
    /// shadowing a global (`server --api-key`) gets its own completion.
    static func ownValueFlags(_ command: CommandSpec) -> [FlagSpec] { command.flags.filter { $0.takesValue && !$0.hidden } }

    /// Global flags a command redeclares (`server --api-key`): the scripts describe the command's own.
    static func commandsShadowing(_ global: FlagSpec) -> [CommandSpec] {
        visibleCommands.filter { c in c.flags.contains { $0.flag == global.flag } }
    }

    /// A doc line on one line, for a shell's description column.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
