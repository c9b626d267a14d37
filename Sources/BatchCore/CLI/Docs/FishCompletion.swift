// The fish completion script, generated from the command table, with descriptions.

enum FishCompletion {
    static func script() -> String {
        typealias M = CompletionModel
        var s = """
        # fish completion for batchctl, generated from its command table by `batchctl completion fish`.
        # Do not edit: regenerate with `batchctl completion fish > completions/batchctl.fish`.
        # Install: batchctl completion fish > ~/.config/fish/completions/batchctl.fish

        # Walks the line before the cursor: sets __batchctl_pos (positional words), __batchctl_cmd and
        # __batchctl_skip (the command and how many words name it), __batchctl_want (a flag still waiting for
        # its value) and __batchctl_pass (the flags that choose the gateway, for `__complete`).
        function __batchctl_state
            set -l valued \(M.valueSpellings.joined(separator: " "))
            set -l connection \(M.connectionSpellings.joined(separator: " "))
            set -g __batchctl_pos
            set -g __batchctl_pass
            set -l want
            set -l endopts 0
            set -l tokens (commandline -opc)
            set -e tokens[1]
            for w in $tokens
                if test -n "$want"
                    contains -- $want $connection; and set -a __batchctl_pass $want $w
                    set want
                else if test $endopts = 1
                    set -a __batchctl_pos $w
                else
                    switch $w
                        case --
                            set endopts 1
                        case '--*=*'
                            set -l pair (string split -m 1 = -- $w)
                            contains -- $pair[1] $connection; and set -a __batchctl_pass $pair
                        case '--*'
                            if contains -- $w $valued
                                set want $w
                            else if contains -- $w $connection
                                set -a __batchctl_pass $w
                            end
                        case '-?*'
                            # Combined short flags (-qo json): the first that takes a value takes the rest of
                            # the word, or the next word.
                            set -l n (string length -- $w)
                            for j in (seq 2 $n)
                                set -l c (string join '' -- - (string sub -s $j -l 1 -- $w))
                                if contains -- $c $valued
                                    if test $j -lt $n
                                        contains -- $c $connection; and set -a __batchctl_pass $c (string sub -s (math $j + 1) -- $w)
                                    else
                                        set want $c
                                    end
                                    break
                                end
                                contains -- $c $connection; and set -a __batchctl_pass $c
                            end
                        case '*'
                            set -a __batchctl_pos $w
                    end
                end
            end
            set -g __batchctl_want $want
            set -g __batchctl_cmd ''
            set -g __batchctl_skip 0
            switch "$__batchctl_pos[1] $__batchctl_pos[2]"

        """
        var byCommand: [(String, [String])] = []
        for r in M.twoWordRoutes {
            let spelled = r.words.joined(separator: " ")
            if let i = byCommand.firstIndex(where: { $0.0 == r.command.id }) { byCommand[i].1.append(spelled) } else { byCommand.append((r.command.id, [spelled])) }
        }
        for (id, spellings) in byCommand {
            s += "        case \(spellings.map(quoted).joined(separator: " "))\n"
            s += "            set __batchctl_cmd \(id); set __batchctl_skip 2\n"
        }
        s += "        case '*'\n            switch \"$__batchctl_pos[1]\"\n"
        for r in M.oneWordRoutes {
            s += "                case \(r.words.map(quoted).joined(separator: " "))\n"
            s += "                    set __batchctl_cmd \(r.command.id); set __batchctl_skip 1\n"
        }
        s += "            end\n    end\nend\n\n"

        s += """
        # True at the first positional word.
        function __batchctl_none
            __batchctl_state
            test -z "$__batchctl_want"; and test (count $__batchctl_pos) -eq 0
        end

        # True at the second positional word when the first is one of $argv.
        function __batchctl_after
            __batchctl_state
            test -z "$__batchctl_want"; and test (count $__batchctl_pos) -eq 1; and contains -- $__batchctl_pos[1] $argv
        end

        # True inside any of the commands $argv.
        function __batchctl_in
            __batchctl_state
            contains -- "$__batchctl_cmd" $argv
        end

        # True at positional argument $argv[2] (from 0) of command $argv[1]; with more arguments, only when
        # the word before is one of them.
        function __batchctl_arg
            __batchctl_state
            test -z "$__batchctl_want"; and test "$__batchctl_cmd" = $argv[1]; or return 1
            set -l index (math (count $__batchctl_pos) - $__batchctl_skip)
            test $index -eq $argv[2]; or return 1
            test (count $argv) -le 2; or contains -- $__batchctl_pos[-1] $argv[3..-1]
        end

        # The ids that exist on the gateway right now; silent (and empty) when it cannot be asked.
        function __batchctl_ids
            __batchctl_state
            command batchctl $__batchctl_pass __complete $argv[1] 2>/dev/null
        end

        # Files only where the table says FILE.
        complete -c batchctl -f


        """

        s += "# Nouns, and firectl's leading verbs.\n"
        for (word, summary) in M.nounWords {
            s += "complete -c batchctl -n __batchctl_none -a \(quoted(word)) -d \(quoted(summary))\n"
        }
        for (verb, nouns) in M.leadingVerbs {
            s += "complete -c batchctl -n __batchctl_none -a \(quoted(verb)) -d \(quoted(M.leadingVerbSummary(verb)))\n"
            for n in nouns {
                s += "complete -c batchctl -n \(quoted("__batchctl_after \(verb)")) -a \(quoted(M.words(of: n).joined(separator: " "))) -d \(quoted(n.summary))\n"
            }
        }
        s += "\n# Verbs.\n"
        for n in M.nounsWithVerbs {
            for (verb, summary) in M.verbs(of: n) {
                s += "complete -c batchctl -n \(quoted("__batchctl_after " + M.words(of: n).joined(separator: " "))) -a \(quoted(verb)) -d \(quoted(summary))\n"
            }
        }

        s += "\n# Positional arguments.\n"
        for c in M.visibleCommands {
            for (i, p) in c.positionals.enumerated() {
                let value = M.value(of: p, in: c)
                if value == .commandPath {
                    for (word, summary) in M.nounWords {
                        s += "complete -c batchctl -n \(quoted("__batchctl_arg \(c.id) \(i)")) -a \(quoted(word)) -d \(quoted(summary))\n"
                    }
                    for n in M.nounsWithVerbs {
                        for (verb, summary) in M.verbs(of: n) {
                            let condition = "__batchctl_arg \(c.id) \(i + 1) " + M.words(of: n).joined(separator: " ")
                            s += "complete -c batchctl -n \(quoted(condition)) -a \(quoted(verb)) -d \(quoted(summary))\n"
                        }
                    }
                } else if let args = arguments(value) {
                    s += "complete -c batchctl -n \(quoted("__batchctl_arg \(c.id) \(i)")) \(args) -d \(quoted(p.doc))\n"
                }
            }
        }

        s += "\n# Flags of each command.\n"
        for c in M.visibleCommands {
            for f in c.flags where !f.hidden {
                s += "complete -c batchctl -n \(quoted("__batchctl_in \(c.id)")) \(flagOptions(f))\n"
            }
        }
        s += "\n# Global flags (a command that declares a flag of the same name describes its own).\n"
        for f in CommandTable.globalFlags where !f.hidden {
            let shadows = M.commandsShadowing(f).map(\.id)
            let condition = shadows.isEmpty ? "" : "-n \(quoted("not __batchctl_in " + shadows.joined(separator: " "))) "
            s += "complete -c batchctl \(condition)\(flagOptions(f))\n"
        }
        return s
    }

    /// A single-quoted fish word.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// `complete` options for a value, or nil when nothing is offered.
    static func arguments(_ value: CompletionModel.Value) -> String? {
        switch value {
        case .nothing, .commandPath: return nil
        case let .choices(c): return "-a \(quoted(c.joined(separator: " ")))"
        case .files: return "-F"
        case .directories: return "-a '(__fish_complete_directories)'"
        case .datasetIDs: return "-a '(__batchctl_ids datasets)'"
        case .jobIDs: return "-a '(__batchctl_ids jobs)'"
        }
    }

    static func flagOptions(_ f: FlagSpec) -> String {
        var s = f.short.map { "-s \($0) " } ?? ""
        s += "-l \(f.name)"
        if f.takesValue {
            let value = CompletionModel.value(of: f)
            // -r: the next word is the value; -x adds "no files", right for every value that is not a file.
            s += value == .files ? " -r -F" : " -x"
            if value != .files, let args = arguments(value) { s += " " + args }
        }
        return s + " -d \(quoted(ZshCompletion.flagDoc(f)))"
    }
}
