# bash completion for batchctl, generated from its command table by `batchctl completion bash`.
# Do not edit: regenerate with `batchctl completion bash > completions/batchctl.bash`.
# Install: batchctl completion bash > ~/.local/share/bash-completion/completions/batchctl

# Every spelling of a flag that takes a value: the walk skips the value wherever the flag stands.
_batchctl_valued=' --account-id -a --api-key --profile -p --server --output -o --timeout --cacert --display-name --format --external-url --filter --order-by --page-size --page-token --limit --wait-timeout --output-dir --max-bytes --rows --job-id --model -m --input-dataset-id -d --output-dataset-id -x --continue-from --max-tokens --temperature --top-p --top-k --n --extra-body --precision --system-prompt --max-job-duration --input-file --download --progress-interval --interval --status --listen --data-dir --openai-account --backend --inference-url --inference-api-key --model-map --allow-origin --concurrency --max-response-bytes --request-timeout --public-url --created-by --min-job-duration --fail-requests '
# Flags that choose the gateway; passed on to `batchctl __complete` so live ids come from the same one.
_batchctl_connection=' --account-id -a --api-key --profile -p --server --local '

# Sets cmd (a command id) and skip (how many positional words name it) from the first two words.
_batchctl_route() {
    cmd= skip=0
    case "$1 $2" in
        'dataset create'|'datasets create'|'create dataset'|'create datasets') cmd=dataset.create skip=2 ;;
        'dataset upload'|'datasets upload'|'upload dataset'|'upload datasets') cmd=dataset.upload skip=2 ;;
        'dataset get'|'datasets get'|'get dataset'|'get datasets') cmd=dataset.get skip=2 ;;
        'dataset list'|'datasets list'|'list dataset'|'list datasets') cmd=dataset.list skip=2 ;;
        'dataset update'|'datasets update'|'update dataset'|'update datasets') cmd=dataset.update skip=2 ;;
        'dataset delete'|'datasets delete'|'delete dataset'|'delete datasets') cmd=dataset.delete skip=2 ;;
        'dataset download'|'datasets download'|'download dataset'|'download datasets') cmd=dataset.download skip=2 ;;
        'dataset validate'|'datasets validate'|'validate dataset'|'validate datasets') cmd=dataset.validate skip=2 ;;
        'dataset split'|'datasets split') cmd=dataset.split skip=2 ;;
        'batch-inference-job create'|'bij create'|'batch-inference-jobs create'|'bijs create'|'create batch-inference-job'|'create bij'|'create batch-inference-jobs'|'create bijs') cmd=batch-inference-job.create skip=2 ;;
        'batch-inference-job get'|'bij get'|'batch-inference-jobs get'|'bijs get'|'get batch-inference-job'|'get bij'|'get batch-inference-jobs'|'get bijs') cmd=batch-inference-job.get skip=2 ;;
        'batch-inference-job list'|'bij list'|'batch-inference-jobs list'|'bijs list'|'list batch-inference-job'|'list bij'|'list batch-inference-jobs'|'list bijs') cmd=batch-inference-job.list skip=2 ;;
        'batch-inference-job delete'|'bij delete'|'batch-inference-jobs delete'|'bijs delete'|'delete batch-inference-job'|'delete bij'|'delete batch-inference-jobs'|'delete bijs') cmd=batch-inference-job.delete skip=2 ;;
        'batch-inference-job cancel'|'bij cancel'|'batch-inference-jobs cancel'|'bijs cancel'|'cancel batch-inference-job'|'cancel bij'|'cancel batch-inference-jobs'|'cancel bijs') cmd=batch-inference-job.cancel skip=2 ;;
        'batch-inference-job wait'|'bij wait'|'batch-inference-jobs wait'|'bijs wait'|'wait batch-inference-job'|'wait bij'|'wait batch-inference-jobs'|'wait bijs') cmd=batch-inference-job.wait skip=2 ;;
        'batch-inference-job results'|'bij results'|'batch-inference-jobs results'|'bijs results') cmd=batch-inference-job.results skip=2 ;;
        'server start') cmd=server.start skip=2 ;;
        'server stop') cmd=server.stop skip=2 ;;
        'server status') cmd=server.status skip=2 ;;
        *)
            case $1 in
                'whoami') cmd=whoami skip=1 ;;
                'set-api-key') cmd=set-api-key skip=1 ;;
                'server') cmd=server skip=1 ;;
                'completion') cmd=completion skip=1 ;;
                'man') cmd=man skip=1 ;;
                'version') cmd=version skip=1 ;;
                'help') cmd=help skip=1 ;;
            esac ;;
    esac
}

# Sets next to the words that may follow a single first word: a noun's verbs, or the nouns after a
# firectl-style leading verb. Fails when nothing has to follow.
_batchctl_next() {
    case $1 in
        'dataset'|'datasets') next='create upload get list update delete download validate split' ;;
        'batch-inference-job'|'bij'|'batch-inference-jobs'|'bijs') next='create get list delete cancel wait results' ;;
        'server') next='start stop status' ;;
        'create') next='dataset datasets batch-inference-job bij batch-inference-jobs bijs' ;;
        'get') next='dataset datasets batch-inference-job bij batch-inference-jobs bijs' ;;
        'list') next='dataset datasets batch-inference-job bij batch-inference-jobs bijs' ;;
        'update') next='dataset datasets' ;;
        'delete') next='dataset datasets batch-inference-job bij batch-inference-jobs bijs' ;;
        'download') next='dataset datasets' ;;
        'upload') next='dataset datasets' ;;
        'validate') next='dataset datasets' ;;
        'cancel') next='batch-inference-job bij batch-inference-jobs bijs' ;;
        'wait') next='batch-inference-job bij batch-inference-jobs bijs' ;;
        *) return 1 ;;
    esac
}

# Sets flags to the flags valid in command $1 (its own, then the global ones).
_batchctl_flags() {
    case $1 in
        'dataset.create') flags='--display-name --format --no-validate --external-url --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'dataset.upload') flags='--no-validate --force --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'dataset.get') flags='--account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'dataset.list') flags='--filter --order-by --page-size --page-token --no-paginate --limit --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'dataset.update') flags='--display-name --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'dataset.delete') flags='--wait --wait-timeout --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'dataset.download') flags='--output-dir --download-lineage --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'dataset.validate') flags='--format --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'dataset.split') flags='--max-bytes --rows --output-dir --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'batch-inference-job.create') flags='--job-id --display-name --model -m --input-dataset-id -d --output-dataset-id -x --continue-from --max-tokens --temperature --top-p --top-k --n --extra-body --precision --system-prompt --max-job-duration --input-file --wait --download --wait-timeout --fail-on-row-errors --progress-interval --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'batch-inference-job.get') flags='--watch --wait-timeout --fail-on-row-errors --progress-interval --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'batch-inference-job.list') flags='--filter --order-by --page-size --page-token --no-paginate --limit --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'batch-inference-job.delete') flags='--wait --wait-timeout --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'batch-inference-job.cancel') flags='--account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'batch-inference-job.wait') flags='--interval --wait-timeout --fail-on-row-errors --progress-interval --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'batch-inference-job.results') flags='--status --with-request --content --no-lineage --follow --fail-on-row-errors --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'whoami') flags='--account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'set-api-key') flags='--account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'server') flags='--listen --data-dir --api-key --account-id -a --openai-account --backend --inference-url --inference-api-key --model-map --allow-origin --concurrency --fixed-concurrency --max-response-bytes --request-timeout --public-url --created-by --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'server.start') flags='--listen --data-dir --api-key --account-id -a --openai-account --backend --inference-url --inference-api-key --model-map --allow-origin --concurrency --fixed-concurrency --max-response-bytes --request-timeout --public-url --created-by --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'server.stop') flags='--data-dir --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'server.status') flags='--data-dir --account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'completion') flags='--account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'man') flags='--account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'version') flags='--account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        'help') flags='--account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
        *) flags='--account-id -a --api-key --profile -p --server --local --output -o --dry-run --quiet -q --no-color --timeout --cacert --help -h --version' ;;
    esac
}

# Sets kind to what the value of flag $2 in command $1 completes to. A command's own flags come first:
# they shadow the global flag of the same name.
_batchctl_flag_value() {
    case "$1 $2" in
        'dataset.create --display-name') kind='' ;;
        'dataset.create --format') kind='choices:chat completion' ;;
        'dataset.create --external-url') kind='' ;;
        'dataset.list --filter') kind='' ;;
        'dataset.list --order-by') kind='' ;;
        'dataset.list --page-size') kind='' ;;
        'dataset.list --page-token') kind='' ;;
        'dataset.list --limit') kind='' ;;
        'dataset.update --display-name') kind='' ;;
        'dataset.delete --wait-timeout') kind='' ;;
        'dataset.download --output-dir') kind=directories ;;
        'dataset.validate --format') kind='choices:chat completion' ;;
        'dataset.split --max-bytes') kind='' ;;
        'dataset.split --rows') kind='' ;;
        'dataset.split --output-dir') kind=directories ;;
        'batch-inference-job.create --job-id') kind='' ;;
        'batch-inference-job.create --display-name') kind='' ;;
        'batch-inference-job.create --model'|'batch-inference-job.create -m') kind='' ;;
        'batch-inference-job.create --input-dataset-id'|'batch-inference-job.create -d') kind=datasets ;;
        'batch-inference-job.create --output-dataset-id'|'batch-inference-job.create -x') kind=datasets ;;
        'batch-inference-job.create --continue-from') kind=jobs ;;
        'batch-inference-job.create --max-tokens') kind='' ;;
        'batch-inference-job.create --temperature') kind='' ;;
        'batch-inference-job.create --top-p') kind='' ;;
        'batch-inference-job.create --top-k') kind='' ;;
        'batch-inference-job.create --n') kind='' ;;
        'batch-inference-job.create --extra-body') kind='' ;;
        'batch-inference-job.create --precision') kind='choices:FP16 FP8 FP8_MM FP8_AR FP8_MM_KV_ATTN FP8_KV FP8_MM_V2 FP8_V2 FP8_MM_KV_ATTN_V2 NF4 FP4 BF16 FP4_BLOCKSCALED_MM FP4_MX_MOE' ;;
        'batch-inference-job.create --system-prompt') kind='' ;;
        'batch-inference-job.create --max-job-duration') kind='' ;;
        'batch-inference-job.create --input-file') kind=files ;;
        'batch-inference-job.create --download') kind=directories ;;
        'batch-inference-job.create --wait-timeout') kind='' ;;
        'batch-inference-job.create --progress-interval') kind='' ;;
        'batch-inference-job.get --wait-timeout') kind='' ;;
        'batch-inference-job.get --progress-interval') kind='' ;;
        'batch-inference-job.list --filter') kind='' ;;
        'batch-inference-job.list --order-by') kind='' ;;
        'batch-inference-job.list --page-size') kind='' ;;
        'batch-inference-job.list --page-token') kind='' ;;
        'batch-inference-job.list --limit') kind='' ;;
        'batch-inference-job.delete --wait-timeout') kind='' ;;
        'batch-inference-job.wait --interval') kind='' ;;
        'batch-inference-job.wait --wait-timeout') kind='' ;;
        'batch-inference-job.wait --progress-interval') kind='' ;;
        'batch-inference-job.results --status') kind='' ;;
        'server --listen') kind='' ;;
        'server --data-dir') kind=directories ;;
        'server --api-key') kind='' ;;
        'server --account-id'|'server -a') kind='' ;;
        'server --openai-account') kind='' ;;
        'server --backend') kind='choices:echo openai' ;;
        'server --inference-url') kind='' ;;
        'server --inference-api-key') kind='' ;;
        'server --model-map') kind='' ;;
        'server --allow-origin') kind='' ;;
        'server --concurrency') kind='' ;;
        'server --max-response-bytes') kind='' ;;
        'server --request-timeout') kind='' ;;
        'server --public-url') kind='' ;;
        'server --created-by') kind='' ;;
        'server.start --listen') kind='' ;;
        'server.start --data-dir') kind=directories ;;
        'server.start --api-key') kind='' ;;
        'server.start --account-id'|'server.start -a') kind='' ;;
        'server.start --openai-account') kind='' ;;
        'server.start --backend') kind='choices:echo openai' ;;
        'server.start --inference-url') kind='' ;;
        'server.start --inference-api-key') kind='' ;;
        'server.start --model-map') kind='' ;;
        'server.start --allow-origin') kind='' ;;
        'server.start --concurrency') kind='' ;;
        'server.start --max-response-bytes') kind='' ;;
        'server.start --request-timeout') kind='' ;;
        'server.start --public-url') kind='' ;;
        'server.start --created-by') kind='' ;;
        'server.stop --data-dir') kind=directories ;;
        'server.status --data-dir') kind=directories ;;
        *' --account-id'|*' -a') kind='' ;;
        *' --api-key') kind='' ;;
        *' --profile'|*' -p') kind='' ;;
        *' --server') kind='' ;;
        *' --output'|*' -o') kind='choices:text table wide json jsonl name' ;;
        *' --timeout') kind='' ;;
        *' --cacert') kind=files ;;
        *) kind= ;;
    esac
}

# Sets kind to what positional argument $2 (from 0) of command $1 completes to.
_batchctl_arg_value() {
    case "$1 $2" in
        'dataset.create 1') kind=files ;;
        'dataset.upload 0') kind=datasets ;;
        'dataset.upload 1') kind=files ;;
        'dataset.get 0') kind=datasets ;;
        'dataset.update 0') kind=datasets ;;
        'dataset.delete 0') kind=datasets ;;
        'dataset.download 0') kind=datasets ;;
        'dataset.validate 0') kind=files ;;
        'dataset.split 0') kind=files ;;
        'batch-inference-job.get 0') kind=jobs ;;
        'batch-inference-job.delete 0') kind=jobs ;;
        'batch-inference-job.cancel 0') kind=jobs ;;
        'batch-inference-job.wait 0') kind=jobs ;;
        'batch-inference-job.results 0') kind=jobs ;;
        'completion 0') kind='choices:bash zsh fish' ;;
        'help 0'|'help 1') kind=command ;;
        *) kind= ;;
    esac
}

# Records a flag the line already has; keeps the ones that choose the gateway for `__complete`.
_batchctl_keep() {
    [[ $_batchctl_connection == *" $1 "* ]] || return 0
    pass+=("$1")
    if (( $# > 1 )); then
        local v=$2
        v=${v#[\"\']}
        v=${v%[\"\']}
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
        mapfile -t cands < <(compgen -W 'dataset datasets batch-inference-job bij batch-inference-jobs bijs whoami set-api-key server completion man version help create get list update delete download upload validate cancel wait' -- "$cur")
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
                    kind='choices:dataset datasets batch-inference-job bij batch-inference-jobs bijs whoami set-api-key server completion man version help'
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
