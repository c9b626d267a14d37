// The zsh completion function (_batchctl), generated from the command table, with descriptions.

enum ZshCompletion {
    static func script() -> String {
        typealias M = CompletionModel
        var s = """
        #compdef batchctl
        # zsh completion for batchctl, generated from its command table by `batchctl completion zsh`.
        # Do not edit: regenerate with `batchctl completion zsh > completions/_batchctl`.
        # Install: save as _batchctl in a directory of $fpath before compinit runs.

        # Sets cmd (a command id) and skip (how many positional words name it) from the first two words.
        _batchctl_route() {
            cmd= skip=0
            case "$1 $2" in

        """
        var byCommand: [(String, [String])] = []
        for r in M.twoWordRoutes {
            let spelled = r.words.joined(separator: " ")
            if let i = byCommand.firstIndex(where: { $0.0 == r.command.id }) { byCommand[i].1.append(spelled) } else { byCommand.append((r.command.id, [spelled])) }
        }
        for (id, spellings) in byCommand { s += "        \(label(spellings))) cmd=\(id) skip=2 ;;\n" }
        s += "        *)\n            case $1 in\n"
        for r in M.oneWordRoutes { s += "                \(label(r.words))) cmd=\(r.command.id) skip=1 ;;\n" }
        s += "            esac ;;\n    esac\n}\n\n"

        s += "# Sets next to the words (word:description) that may follow a single first word: a noun's verbs, or the\n"
        s += "# nouns after a firectl-style leading verb. Fails when nothing has to follow.\n"
        s += "_batchctl_next() {\n    case $1 in\n"
        for n in M.nounsWithVerbs {
            s += "        \(label(M.words(of: n)))) next=(\(M.verbs(of: n).map { described($0.verb, $0.summary) }.joined(separator: " "))) ;;\n"
        }
        for (verb, nouns) in M.leadingVerbs {
            let items = nouns.flatMap { n in M.words(of: n).map { described($0, n.summary) } }
            s += "        \(label([verb]))) next=(\(items.joined(separator: " "))) ;;\n"
        }
        s += "        *) return 1 ;;\n    esac\n}\n\n"

        s += "# Sets flags to the flags (spelling:description) valid in command $1: its own, then the global ones.\n"
        s += "_batchctl_flags() {\n    case $1 in\n"
        for c in M.visibleCommands {
            s += "        \(label([c.id]))) flags=(\(flagItems(M.visibleFlags(for: c)))) ;;\n"
        }
        s += "        *) flags=(\(flagItems(M.visibleFlags(for: nil)))) ;;\n"
        s += "    esac\n}\n\n"

        s += BashCompletion.valueKindFunctions()

        s += """
        # Records a flag the line already has; keeps the ones that choose the gateway for `__complete`.
        _batchctl_keep() {
            (( ${connection[(Ie)$1]} )) || return 0
            pass+=("$1")
            (( $# > 1 )) && pass+=("${(Q)2}")
            return 0
        }

        # Offers what kind $1 completes to.
        _batchctl_offer() {
            case $1 in
                choices:*) local -a choices=(${=1#choices:}); _describe -t values 'value' choices ;;
                files) _files ;;
                directories) _files -/ ;;
                datasets|jobs)
                    # The ids that exist on the gateway right now; silent (and empty) when it cannot be asked.
                    local -a ids=(${(f)"$(command batchctl "${pass[@]}" __complete $1 2>/dev/null)"})
                    _describe -t ids "${1%s} id" ids ;;
                *) return 1 ;;
            esac
        }

        _batchctl() {
            local -a valued=(\(M.valueSpellings.joined(separator: " ")))
            local -a connection=(\(M.connectionSpellings.joined(separator: " ")))
            local -a pos=() pass=() flags=() next=()
            local want= endopts=0 w j c cmd skip kind

            for w in "${(@)words[2,CURRENT-1]}"; do
                if [[ -n $want ]]; then
                    _batchctl_keep $want $w
                    want=
                elif (( endopts )); then
                    pos+=("$w")
                else
                    case $w in
                        --) endopts=1 ;;
                        --*=*) _batchctl_keep ${w%%=*} ${w#*=} ;;
                        --*) if (( ${valued[(Ie)$w]} )); then want=$w; else _batchctl_keep $w; fi ;;
                        -?*)
                            # Combined short flags (-qo json): the first that takes a value takes the rest of
                            # the word, or the next word.
                            for (( j = 1; j < ${#w}; j++ )); do
                                c=-${w:$j:1}
                                if (( ${valued[(Ie)$c]} )); then
                                    if (( j + 1 < ${#w} )); then _batchctl_keep $c ${w:$((j + 1))}; else want=$c; fi
                                    break
                                fi
                                _batchctl_keep $c
                            done ;;
                        *) pos+=("$w") ;;
                    esac
                fi
            done

            local cur=${words[CURRENT]}
            _batchctl_route "${pos[1]}" "${pos[2]}"
            if [[ -n $want ]]; then
                _batchctl_flag_value "$cmd" $want
                _batchctl_offer $kind
            elif (( !endopts )) && [[ $cur == --*=* ]]; then
                _batchctl_flag_value "$cmd" ${cur%%=*}
                compset -P '*='
                _batchctl_offer $kind
            elif (( !endopts )) && [[ $cur == -* ]]; then
                _batchctl_flags "$cmd"
                _describe -t options 'flag' flags
            elif (( ${#pos} == 0 )); then
                local -a nouns=(\(M.nounWords.map { described($0.word, $0.summary) }.joined(separator: " ")))
                local -a verbs=(\(M.leadingVerbs.map { described($0.verb, M.leadingVerbSummary($0.verb)) }.joined(separator: " ")))
                _describe -t commands 'command' nouns
                _describe -t verbs 'firectl-style verb' verbs
            else
                local ret=1
                if (( ${#pos} == 1 )) && _batchctl_next "${pos[1]}"; then
                    _describe -t commands 'command' next && ret=0
                fi
                if [[ -n $cmd ]]; then
                    local index=$(( ${#pos} - skip ))
                    _batchctl_arg_value $cmd $index
                    if [[ $kind == command ]]; then
                        # help's argument: a noun, then one of its verbs.
                        if (( index == 0 )); then
                            local -a nouns=(\(M.nounWords.map { described($0.word, $0.summary) }.joined(separator: " ")))
                            _describe -t commands 'command' nouns && ret=0
                        elif (( index == 1 )) && _batchctl_next "${pos[skip + 1]}"; then
                            _describe -t commands 'command' next && ret=0
                        fi
                    else
                        _batchctl_offer $kind && ret=0
                    fi
                fi
                return ret
            fi
        }

        # Autoloaded from $fpath, this file is the body of _batchctl on its first call; sourced, it registers.
        if [[ $funcstack[1] == _batchctl ]]; then
            _batchctl "$@"
        else
            compdef _batchctl batchctl
        fi

        """
        return s
    }

    static func label(_ words: [String]) -> String { BashCompletion.label(words) }

    /// A single-quoted zsh word.
    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// `'word:description'` as _describe reads it (a colon in the word must be escaped).
    static func described(_ word: String, _ doc: String) -> String {
        quoted(word.replacingOccurrences(of: ":", with: "\\:") + ":" + CompletionModel.oneLine(doc))
    }

    static func flagItems(_ flags: [FlagSpec]) -> String {
        flags.flatMap { f in CompletionModel.spellings(f).map { described($0, flagDoc(f)) } }.joined(separator: " ")
    }

    static func flagDoc(_ f: FlagSpec) -> String {
        f.takesValue ? "\(f.doc) (\(f.valueName))" : f.doc
    }
}
