// The bash completion script, generated from the command table.

enum BashCompletion {
    static func script() -> String {
        typealias M = CompletionModel
        var s = """
        # bash completion for batchctl, generated from its command table by `batchctl completion bash`.
        # Do not edit: regenerate with `batchctl completion bash > completions/batchctl.bash`.
        # Install: batchctl completion bash > ~/.local/share/bash-completion/completions/batchctl

        # Every spelling of a flag that takes a value: the walk skips the value wherever the flag stands.
        _batchctl_valued=' \(M.valueSpellings.joined(separator: " ")) '
        # Flags that choose the gateway; passed on to `batchctl __complete` so live ids come from the same one.
        _batchctl_connection=' \(M.connectionSpellings.joined(separator: " ")) '


        """

        s += "# Sets cmd (a command id) and skip (how many positional words name it) from the first two words.\n"
        s += "_batchctl_route() {\n    cmd= skip=0\n    case \"$1 $2\" in\n"
        var byCommand: [(String, [String])] = []
        for r in M.twoWordRoutes {
            let spelled = r.words.joined(separator: " ")
            if let i = byCommand.firstIndex(where: { $0.0 == r.command.id }) { byCommand[i].1.append(spelled) } else { byCommand.append((r.command.id, [spelled])) }
        }
        for (id, spellings) in byCommand {
            s += "        \(label(spellings))) cmd=\(id) skip=2 ;;\n"
        }
        s += "        *)\n            case $1 in\n"
        for r in M.oneWordRoutes {
            s += "                \(label(r.words))) cmd=\(r.command.id) skip=1 ;;\n"
        }
        s += "            esac ;;\n    esac\n}\n\n"

        s += "# Sets next to the words that may follow a single first word: a noun's verbs, or the nouns after a\n"
        s += "# firectl-style leading verb. Fails when nothing has to follow.\n"
        s += "_batchctl_next() {\n    case $1 in\n"
        for n in M.nounsWithVerbs {
            s += "        \(label(M.words(of: n)))) next='\(M.verbs(of: n).map(\.verb).joined(separator: " "))' ;;\n"
        }
        for (verb, nouns) in M.leadingVerbs {
            s += "        \(label([verb]))) next='\(nouns.flatMap(M.words(of:)).joined(separator: " "))' ;;\n"
        }
        s += "        *) return 1 ;;\n    esac\n}\n\n"

        s += "# Sets flags to the flags valid in command $1 (its own, then the global ones).\n"
        s += "_batchctl_flags() {\n    case $1 in\n"
        for c in M.visibleCommands {
            s += "        \(label([c.id]))) flags='\(M.visibleFlags(for: c).flatMap(M.spellings).joined(separator: " "))' ;;\n"
        }
        s += "        *) flags='\(M.visibleFlags(for: nil).flatMap(M.spellings).joined(separator: " "))' ;;\n"
        s += "    esac\n}\n\n"

        s += valueKindFunctions()

        s += """
        # Records a flag the line already has; keeps the ones that choose the gateway for `__complete`.
        _batchctl_keep() {
            [[ $_batchctl_connection == *" $1 "* ]] || return 0
            pass+=("$1")
            if (( $# > 1 )); then
                local v=$2
                v=${v#[\\"\\']}
                v=${v%[\\"\\']}
                pass+=("$v")
            fi
        }

        # Appends to cands what kind $1 offers for vcur.
        _batchctl_offer() {
            case $1 in
                choices:*) mapfile -t -O "${#cands[@]}" cands < <(compgen -W "${1#choices:}" -- "$vcur") ;;
                files)
                    compopt -o filenames 2>/dev/null
                    mapfile -t -O "${#cands[@]}" cands < <(compgen -f -- "$vcur") ;;
                directories)
                    compopt -o filenames 2>/dev/null
                    mapfile -t -O "${#cands[@]}" cands < <(compgen -d -- "$vcur") ;;
                datasets|jobs)
                    # The ids that exist on the gateway right now; silent (and empty) when it cannot be asked.
                    local ids
                    ids=$(command batchctl "${pass[@]}" __complete "$1" 2>/dev/null)
                    mapfile -t -O "${#cands[@]}" cands < <(compgen -W "$ids" -- "$vcur") ;;
            esac
        }

        _batchctl() {
            # bash splits words at ':' and '=' (COMP_WORDBREAKS); glue them back so that a URL or --flag=value
            # is one word, as batchctl will see it.
            local -a words=()
            local i w glue=0
            for ((i = 1; i <= COMP_CWORD; i++)); do
                w=${COMP_WORDS[i]}
                if [[ $w =~ ^[:=]+$ ]] && (( ${#words[@]} )); then
                    words[-1]+=$w
                    glue=1
                elif (( glue )); then
                    words[-1]+=$w
                    glue=0
                else
                    words+=("$w")
                fi
            done
            (( ${#words[@]} )) || words=("")
            local cur=${words[-1]} rl=${COMP_WORDS[COMP_CWORD]}
            [[ $rl =~ ^[:=]+$ ]] && rl=

            local -a pos=() pass=() cands=()
            local want= endopts=0 j c
            for w in "${words[@]:0:${#words[@]}-1}"; do
                if [[ -n $want ]]; then
                    _batchctl_keep "$want" "$w"
                    want=
                elif (( endopts )); then
                    pos+=("$w")
                else
                    case $w in
                        --) endopts=1 ;;
                        --*=*) _batchctl_keep "${w%%=*}" "${w#*=}" ;;
                        --*)
                            if [[ $_batchctl_valued == *" $w "* ]]; then want=$w; else _batchctl_keep "$w"; fi ;;
                        -?*)
                            # Combined short flags (-qo json): the first that takes a value takes the rest of
                            # the word, or the next word.
                            for ((j = 1; j < ${#w}; j++)); do
                                c=-${w:j:1}
                                if [[ $_batchctl_valued == *" $c "* ]]; then
                                    if (( j + 1 < ${#w} )); then _batchctl_keep "$c" "${w:j+1}"; else want=$c; fi
                                    break
                                fi
                                _batchctl_keep "$c"
                            done ;;
                        *) pos+=("$w") ;;
                    esac
                fi
            done

            local cmd skip kind next flags vcur=$cur vpre=
            _batchctl_route "${pos[0]}" "${pos[1]}"
            if [[ -n $want ]]; then
                _batchctl_flag_value "$cmd" "$want"
                _batchctl_offer "$kind"
            elif (( !endopts )) && [[ $cur == --*=* ]]; then
                vpre=${cur%%=*}=
                vcur=${cur#*=}
                _batchctl_flag_value "$cmd" "${cur%%=*}"
                _batchctl_offer "$kind"
            elif (( !endopts )) && [[ $cur == -* ]]; then
                _batchctl_flags "$cmd"
                mapfile -t cands < <(compgen -W "$flags" -- "$cur")
            elif (( ${#pos[@]} == 0 )); then
                mapfile -t cands < <(compgen -W '\(M.nounWords.map(\.word).joined(separator: " ")) \(M.leadingVerbs.map(\.verb).joined(separator: " "))' -- "$cur")
            else
                if (( ${#pos[@]} == 1 )) && _batchctl_next "${pos[0]}"; then
                    mapfile -t cands < <(compgen -W "$next" -- "$cur")
                fi
                if [[ -n $cmd ]]; then
                    local index=$(( ${#pos[@]} - skip ))
                    _batchctl_arg_value "$cmd" "$index"
                    if [[ $kind == command ]]; then
                        # help's argument: a noun, then one of its verbs.
                        if (( index == 0 )); then
                            kind='choices:\(M.nounWords.map(\.word).joined(separator: " "))'
                        elif (( index == 1 )) && _batchctl_next "${pos[skip]}"; then
                            kind="choices:$next"
                        else
                            kind=
                        fi
                    fi
                    _batchctl_offer "$kind"
                fi
            fi

            # Candidates are whole words; bash replaces only the part after the last ':' or '=' it split at.
            local lead=${cur:0:${#cur}-${#rl}}
            COMPREPLY=()
            for w in "${cands[@]}"; do
                w=$vpre$w
                COMPREPLY+=("${w#"$lead"}")
            done
        }

        complete -F _batchctl batchctl

        """
        return s
    }

    /// `'a'|'b c'`: a case label matching any of `words` literally.
    /// `_batchctl_flag_value` and `_batchctl_arg_value`: plain case statements that bash and zsh both run.
    static func valueKindFunctions() -> String {
        typealias M = CompletionModel
        var s = ""
        s += "# Sets kind to what the value of flag $2 in command $1 completes to. A command's own flags come first:\n"
        s += "# they shadow the global flag of the same name.\n"
        s += "_batchctl_flag_value() {\n    case \"$1 $2\" in\n"
        for c in M.visibleCommands {
            for f in M.ownValueFlags(c) {
                s += "        \(label(M.spellings(f).map { "\(c.id) \($0)" }))) kind=\(kind(M.value(of: f))) ;;\n"
            }
        }
        for f in CommandTable.globalFlags where f.takesValue && !f.hidden {
            s += "        " + M.spellings(f).map { "*' \($0)'" }.joined(separator: "|") + ") kind=\(kind(M.value(of: f))) ;;\n"
        }
        s += "        *) kind= ;;\n    esac\n}\n\n"

        s += "# Sets kind to what positional argument $2 (from 0) of command $1 completes to.\n"
        s += "_batchctl_arg_value() {\n    case \"$1 $2\" in\n"
        for c in M.visibleCommands {
            for (i, p) in c.positionals.enumerated() where M.value(of: p, in: c) != .nothing {
                // help's COMMAND is two words, a noun and its verb.
                let indexes = M.value(of: p, in: c) == .commandPath ? [i, i + 1] : [i]
                s += "        \(label(indexes.map { "\(c.id) \($0)" }))) kind=\(kind(M.value(of: p, in: c))) ;;\n"
            }
        }
        s += "        *) kind= ;;\n    esac\n}\n\n"
        return s
    }

    static func label(_ words: [String]) -> String {
        words.map { "'\($0)'" }.joined(separator: "|")
    }

    static func kind(_ value: CompletionModel.Value) -> String {
        switch value {
        case .nothing: return "''"
        case let .choices(c): return "'choices:\(c.joined(separator: " "))'"
        case .files: return "files"
        case .directories: return "directories"
        case .datasetIDs: return "datasets"
        case .jobIDs: return "jobs"
        case .commandPath: return "command"
        }
    }
}
