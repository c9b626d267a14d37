// The shapes the command table is written in: flags, positionals, commands and nouns.

/// What kind of value a flag takes; the parser checks and converts it.
public enum ValueKind: Equatable, Sendable {
    case string
    case integer
    case number
    case duration
    case json
    case choice([String])
    case path

    /// The choices of a closed set of names: the enum's raw values, in its order.
    public static func choice<Choice: CaseIterable & RawRepresentable>(of _: Choice.Type) -> ValueKind where Choice.RawValue == String {
        .choice(Choice.allCases.map(\.rawValue))
    }
}

/// What TAB should offer for a flag's value or a positional argument.
public enum CompletionKind: String, Sendable {
    case none, file, directory, choice, datasetID, jobID, command
}

/// One flag, declared once. `value == nil` makes it a switch.
public struct FlagSpec: Sendable {
    public var flag: Flag
    public var short: Character?
    public var value: ValueKind?
    public var valueName: String
    public var repeatable: Bool
    public var doc: String
    public var longDoc: String
    public var completion: CompletionKind
    public var hidden: Bool
    public var group: String

    public init(_ flag: Flag, short: Character? = nil, value: ValueKind? = nil, valueName: String = "",
                repeatable: Bool = false, doc: String, longDoc: String = "", completion: CompletionKind = .none,
                hidden: Bool = false, group: String = "") {
        self.flag = flag; self.short = short; self.value = value; self.valueName = valueName
        self.repeatable = repeatable; self.doc = doc; self.longDoc = longDoc; self.hidden = hidden; self.group = group
        if case .choice = value, completion == .none { self.completion = .choice } else { self.completion = completion }
        if value == .path, completion == .none { self.completion = .file }
    }

    /// The long name, `--name` on the command line.
    public var name: String { flag.rawValue }
    public var takesValue: Bool { value != nil }
    public var choices: [String] { if case let .choice(c) = value { return c }; return [] }

    /// `-o, --output FORMAT` as help and man show it.
    public var signature: String {
        var s = short.map { "-\($0), " } ?? "    "
        s += "--\(name)"
        if takesValue { s += " \(valueName)" }
        return s
    }
}

public struct PositionalSpec: Sendable {
    public var name: String
    public var required: Bool
    public var doc: String
    public var completion: CompletionKind
    /// The last positional may take any number of words (`bij results JOB...`; its name carries the dots).
    public var repeats: Bool
    public init(_ name: String, required: Bool = true, doc: String, completion: CompletionKind = .none, repeats: Bool = false) {
        self.name = name; self.required = required; self.doc = doc; self.completion = completion; self.repeats = repeats
    }
}

/// One command (`dataset create`, `server start`, `version`). `id` names it for dispatch.
public struct CommandSpec: Sendable {
    public var id: String
    public var noun: String
    public var verb: String?
    public var summary: String
    public var description: String
    public var positionals: [PositionalSpec]
    public var flags: [FlagSpec]
    public var examples: [String]
    public var hidden: Bool
    /// Whether the command talks to a gateway (and so honours --dry-run, --server, --account-id ...).
    public var callsGateway: Bool
    /// The `-o` formats the command prints; any other is a usage error naming these (every command either
    /// honours a format or refuses it, never ignores it).
    public var formats: [OutputFormat]

    public init(_ id: String, noun: String, verb: String? = nil, summary: String, description: String = "",
                positionals: [PositionalSpec] = [], flags: [FlagSpec] = [], examples: [String] = [],
                hidden: Bool = false, callsGateway: Bool = false, formats: [OutputFormat] = OutputFormat.allCases) {
        self.id = id; self.noun = noun; self.verb = verb; self.summary = summary; self.description = description
        self.positionals = positionals; self.flags = flags; self.examples = examples; self.hidden = hidden
        self.callsGateway = callsGateway; self.formats = formats
    }

    /// `dataset create`, `server`, ...
    public var path: String { verb.map { "\(noun) \($0)" } ?? noun }

    public var usage: String {
        var parts = ["batchctl", path]
        for p in positionals { parts.append(p.required ? p.name : "[\(p.name)]") }
        parts.append("[flags]")
        return parts.joined(separator: " ")
    }
}

/// A noun groups verbs; `aliases` include firectl's plural and short forms (`bij`, `datasets`).
public struct NounSpec: Sendable {
    public var name: String
    public var aliases: [String]
    public var summary: String
    /// A noun that is itself a command when no verb follows (`server`, `version`).
    public var runsWithoutVerb: Bool
    public var hidden: Bool
    public init(_ name: String, aliases: [String] = [], summary: String, runsWithoutVerb: Bool = false, hidden: Bool = false) {
        self.name = name; self.aliases = aliases; self.summary = summary; self.runsWithoutVerb = runsWithoutVerb
        self.hidden = hidden
    }
}
