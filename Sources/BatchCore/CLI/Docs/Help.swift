// Help text generated from the command table: top level, per noun and per command.

public enum Help {
    public static func text(for topic: HelpTopic) -> String {
        switch topic {
        case .top: return top()
        case let .noun(noun): return nounHelp(noun)
        case let .command(id): return CommandTable.command(id: id).map(commandHelp) ?? top()
        }
    }

    static func flagLines(_ flags: [FlagSpec]) -> String {
        let visible = flags.filter { !$0.hidden }
        let width = min(34, (visible.map(\.signature.count).max() ?? 0) + 2)
        return visible.map { f in
            var doc = f.doc
            if !f.choices.isEmpty, f.choices.count <= 8, !doc.contains(f.choices[0]) { doc += " (\(f.choices.joined(separator: "|")))" }
            if f.repeatable { doc += " (repeatable)" }
            let sig = "  " + f.signature
            return sig.count >= width + 2 ? "\(sig)\n" + String(repeating: " ", count: width + 2) + doc : sig.padding(width + 2) + doc
        }.joined(separator: "\n") + "\n"
    }

    static func top() -> String {
        var s = "batchctl: batch LLM inference from the shell, on Fireworks or on the local gateway.\n\n"
        s += "Usage:\n  batchctl [global flags] <command> [args] [flags]\n\nCommands:\n"
        let visible = CommandTable.nouns.filter { !$0.hidden }
        for n in visible {
            let alias = n.aliases.first.map { " (alias: \($0))" } ?? ""
            s += "  " + n.name.padding(22) + n.summary + alias + "\n"
        }
        s += "\nfirectl's order works too: batchctl create dataset ..., batchctl list batch-inference-jobs.\n"
        s += "\nGlobal flags:\n" + flagLines(CommandTable.globalFlags)
        s += "\nExamples:\n  batchctl --local bij create --input-file examples/chat.jsonl -m echo --wait --download out\n"
        s += "  batchctl dataset validate data.jsonl\n  batchctl bij list -o json | jq '.[].state'\n"
        s += "\nRun 'batchctl <command> --help' for more about a command.\n"
        return s
    }

    static func nounHelp(_ noun: String) -> String {
        guard let spec = CommandTable.noun(named: noun) else { return top() }
        var s = "\(spec.summary).\n\nUsage:\n  batchctl \(spec.name) <command> [flags]\n"
        if !spec.aliases.isEmpty { s += "\nAliases: \(spec.aliases.joined(separator: ", "))\n" }
        s += "\nCommands:\n"
        for c in CommandTable.verbs(of: spec.name) where !c.hidden {
            s += "  " + (c.verb ?? "").padding(12) + c.summary + "\n"
        }
        s += "\nGlobal flags:\n" + flagLines(CommandTable.globalFlags)
        s += "\nRun 'batchctl \(spec.name) <command> --help' for more about a command.\n"
        return s
    }

    static func commandHelp(_ c: CommandSpec) -> String {
        var s = c.summary + ".\n"
        if !c.description.isEmpty { s += "\n" + wrap(c.description, width: 100) + "\n" }
        s += "\nUsage:\n  \(c.usage)\n"
        // A noun that runs by itself (`server`) still has verbs of its own: list them.
        let verbs = c.verb == nil ? CommandTable.verbs(of: c.noun).filter { !$0.hidden } : []
        if !verbs.isEmpty {
            s += "  batchctl \(c.noun) <command> [flags]\n\nCommands:\n"
            for v in verbs { s += "  " + (v.verb ?? "").padding(12) + v.summary + "\n" }
        }
        if !c.positionals.isEmpty {
            s += "\nArguments:\n"
            for p in c.positionals { s += "  " + p.name.padding(14) + p.doc + (p.required ? "" : " (optional)") + "\n" }
        }
        var groups: [String: [FlagSpec]] = [:]
        var order: [String] = []
        for f in c.flags where !f.hidden {
            if groups[f.group] == nil { order.append(f.group) }
            groups[f.group, default: []].append(f)
        }
        for g in order {
            s += "\n" + (g.isEmpty ? "Flags" : "\(g) flags") + ":\n" + flagLines(groups[g]!)
        }
        let own = Set(c.flags.map(\.name))
        s += "\nGlobal flags:\n" + flagLines(CommandTable.globalFlags.filter { !own.contains($0.name) })
        if !c.examples.isEmpty { s += "\nExamples:\n" + c.examples.map { "  \($0)\n" }.joined() }
        return s
    }

    static func wrap(_ text: String, width: Int) -> String {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + word.count + 1 > width { lines.append(line); line = "" }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
