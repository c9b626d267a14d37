// The lexopt-style tokenizer: turns argv into long flags, short flags, values and positionals.

/// One token of the command line. The tokenizer does not know which flags take values: the parser asks for
/// the next value when a flag needs one (`takeValue`), so `-ojson`, `-o json`, `--output=json` all work.
enum Token: Equatable {
    case long(String, attached: String?)
    case short(Character)
    case positional(String)
}

struct Tokenizer {
    private var args: [String]
    private var index = 0
    /// Characters left over from a cluster like `-qo json` after `-q`.
    private var pendingShorts: [Character] = []
    private var afterDoubleDash = false
    private(set) var lastLongHadValue = false

    init(_ args: [String]) { self.args = args }

    mutating func next() -> Token? {
        if !pendingShorts.isEmpty { return .short(pendingShorts.removeFirst()) }
        guard index < args.count else { return nil }
        let arg = args[index]
        index += 1
        if afterDoubleDash { return .positional(arg) }
        if arg == "--" { afterDoubleDash = true; return next() }
        if arg.hasPrefix("--") {
            let body = arg.dropFirst(2)
            if let eq = body.firstIndex(of: "=") {
                return .long(String(body[..<eq]), attached: String(body[body.index(after: eq)...]))
            }
            return .long(String(body), attached: nil)
        }
        if arg.hasPrefix("-"), arg.count > 1, !Tokenizer.looksNumeric(arg) {
            var chars = Array(arg.dropFirst())
            let first = chars.removeFirst()
            pendingShorts = chars
            return .short(first)
        }
        return .positional(arg)
    }

    /// The value of a short flag that takes one: the rest of its cluster (`-ojson`) or the next argument.
    /// Returns nil at the end of the line.
    mutating func takeValue() -> String? {
        if !pendingShorts.isEmpty {
            var rest = String(pendingShorts)
            pendingShorts = []
            if rest.hasPrefix("=") { rest.removeFirst() }
            return rest
        }
        guard index < args.count else { return nil }
        let value = args[index]
        index += 1
        return value
    }

    /// Whether the next argument exists and is not itself a flag (so `--timeout --quiet` is a missing value).
    /// A dash then a digit is a value (`--temperature -0.5`, `--timeout -5m`): no flag is spelled `-<digit>`,
    /// and the value's own check then says what is wrong with it ("must be positive").
    func nextIsValue() -> Bool {
        guard index < args.count else { return false }
        let arg = args[index]
        return arg == "-" || !arg.hasPrefix("-") || Tokenizer.looksNumeric(arg) || Tokenizer.startsWithDigit(arg.dropFirst())
    }

    private static func startsWithDigit(_ text: Substring) -> Bool { text.first.map { $0.isASCII && $0.isNumber } ?? false }

    var hasPendingShorts: Bool { !pendingShorts.isEmpty }

    /// `-1` or `-0.5` is a value, not a cluster of flags.
    static func looksNumeric(_ arg: String) -> Bool {
        arg.count > 1 && Double(arg) != nil
    }
}
