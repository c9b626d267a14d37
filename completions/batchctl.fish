# fish completion for batchctl, generated from its command table by `batchctl completion fish`.
# Do not edit: regenerate with `batchctl completion fish > completions/batchctl.fish`.
# Install: batchctl completion fish > ~/.config/fish/completions/batchctl.fish

# Walks the line before the cursor: sets __batchctl_pos (positional words), __batchctl_cmd and
# __batchctl_skip (the command and how many words name it), __batchctl_want (a flag still waiting for
# its value) and __batchctl_pass (the flags that choose the gateway, for `__complete`).
function __batchctl_state
    set -l valued --account-id -a --api-key --profile -p --server --output -o --timeout --cacert --display-name --format --external-url --filter --order-by --page-size --page-token --limit --wait-timeout --output-dir --max-bytes --rows --job-id --model -m --input-dataset-id -d --output-dataset-id -x --continue-from --max-tokens --temperature --top-p --top-k --n --extra-body --precision --system-prompt --max-job-duration --input-file --download --progress-interval --interval --status --listen --data-dir --openai-account --backend --inference-url --inference-api-key --model-map --allow-origin --concurrency --max-response-bytes --request-timeout --public-url --created-by --min-job-duration --fail-requests
    set -l connection --account-id -a --api-key --profile -p --server --local
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
        case 'dataset create' 'datasets create' 'create dataset' 'create datasets'
            set __batchctl_cmd dataset.create; set __batchctl_skip 2
        case 'dataset upload' 'datasets upload' 'upload dataset' 'upload datasets'
            set __batchctl_cmd dataset.upload; set __batchctl_skip 2
        case 'dataset get' 'datasets get' 'get dataset' 'get datasets'
            set __batchctl_cmd dataset.get; set __batchctl_skip 2
        case 'dataset list' 'datasets list' 'list dataset' 'list datasets'
            set __batchctl_cmd dataset.list; set __batchctl_skip 2
        case 'dataset update' 'datasets update' 'update dataset' 'update datasets'
            set __batchctl_cmd dataset.update; set __batchctl_skip 2
        case 'dataset delete' 'datasets delete' 'delete dataset' 'delete datasets'
            set __batchctl_cmd dataset.delete; set __batchctl_skip 2
        case 'dataset download' 'datasets download' 'download dataset' 'download datasets'
            set __batchctl_cmd dataset.download; set __batchctl_skip 2
        case 'dataset validate' 'datasets validate' 'validate dataset' 'validate datasets'
            set __batchctl_cmd dataset.validate; set __batchctl_skip 2
        case 'dataset split' 'datasets split'
            set __batchctl_cmd dataset.split; set __batchctl_skip 2
        case 'batch-inference-job create' 'bij create' 'batch-inference-jobs create' 'bijs create' 'create batch-inference-job' 'create bij' 'create batch-inference-jobs' 'create bijs'
            set __batchctl_cmd batch-inference-job.create; set __batchctl_skip 2
        case 'batch-inference-job get' 'bij get' 'batch-inference-jobs get' 'bijs get' 'get batch-inference-job' 'get bij' 'get batch-inference-jobs' 'get bijs'
            set __batchctl_cmd batch-inference-job.get; set __batchctl_skip 2
        case 'batch-inference-job list' 'bij list' 'batch-inference-jobs list' 'bijs list' 'list batch-inference-job' 'list bij' 'list batch-inference-jobs' 'list bijs'
            set __batchctl_cmd batch-inference-job.list; set __batchctl_skip 2
        case 'batch-inference-job delete' 'bij delete' 'batch-inference-jobs delete' 'bijs delete' 'delete batch-inference-job' 'delete bij' 'delete batch-inference-jobs' 'delete bijs'
            set __batchctl_cmd batch-inference-job.delete; set __batchctl_skip 2
        case 'batch-inference-job cancel' 'bij cancel' 'batch-inference-jobs cancel' 'bijs cancel' 'cancel batch-inference-job' 'cancel bij' 'cancel batch-inference-jobs' 'cancel bijs'
            set __batchctl_cmd batch-inference-job.cancel; set __batchctl_skip 2
        case 'batch-inference-job wait' 'bij wait' 'batch-inference-jobs wait' 'bijs wait' 'wait batch-inference-job' 'wait bij' 'wait batch-inference-jobs' 'wait bijs'
            set __batchctl_cmd batch-inference-job.wait; set __batchctl_skip 2
        case 'batch-inference-job results' 'bij results' 'batch-inference-jobs results' 'bijs results'
            set __batchctl_cmd batch-inference-job.results; set __batchctl_skip 2
        case 'server start'
            set __batchctl_cmd server.start; set __batchctl_skip 2
        case 'server stop'
            set __batchctl_cmd server.stop; set __batchctl_skip 2
        case 'server status'
            set __batchctl_cmd server.status; set __batchctl_skip 2
        case '*'
            switch "$__batchctl_pos[1]"
                case 'whoami'
                    set __batchctl_cmd whoami; set __batchctl_skip 1
                case 'set-api-key'
                    set __batchctl_cmd set-api-key; set __batchctl_skip 1
                case 'server'
                    set __batchctl_cmd server; set __batchctl_skip 1
                case 'completion'
                    set __batchctl_cmd completion; set __batchctl_skip 1
                case 'man'
                    set __batchctl_cmd man; set __batchctl_skip 1
                case 'version'
                    set __batchctl_cmd version; set __batchctl_skip 1
                case 'help'
                    set __batchctl_cmd help; set __batchctl_skip 1
            end
    end
end

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

# Nouns, and firectl's leading verbs.
complete -c batchctl -n __batchctl_none -a 'dataset' -d 'Create, upload, inspect, download and validate datasets'
complete -c batchctl -n __batchctl_none -a 'datasets' -d 'Create, upload, inspect, download and validate datasets'
complete -c batchctl -n __batchctl_none -a 'batch-inference-job' -d 'Create, follow and manage batch inference jobs'
complete -c batchctl -n __batchctl_none -a 'bij' -d 'Create, follow and manage batch inference jobs'
complete -c batchctl -n __batchctl_none -a 'batch-inference-jobs' -d 'Create, follow and manage batch inference jobs'
complete -c batchctl -n __batchctl_none -a 'bijs' -d 'Create, follow and manage batch inference jobs'
complete -c batchctl -n __batchctl_none -a 'whoami' -d 'Show the account, API key and gateway in use, and where each came from'
complete -c batchctl -n __batchctl_none -a 'set-api-key' -d 'Save an API key in the profile\'s auth.ini'
complete -c batchctl -n __batchctl_none -a 'server' -d 'Run the local Fireworks-compatible gateway'
complete -c batchctl -n __batchctl_none -a 'completion' -d 'Print a shell completion script'
complete -c batchctl -n __batchctl_none -a 'man' -d 'Print the man page (roff)'
complete -c batchctl -n __batchctl_none -a 'version' -d 'Print version and build information'
complete -c batchctl -n __batchctl_none -a 'help' -d 'Show help for a command'
complete -c batchctl -n __batchctl_none -a 'create' -d 'firectl order: create dataset ...'
complete -c batchctl -n '__batchctl_after create' -a 'dataset datasets' -d 'Create, upload, inspect, download and validate datasets'
complete -c batchctl -n '__batchctl_after create' -a 'batch-inference-job bij batch-inference-jobs bijs' -d 'Create, follow and manage batch inference jobs'
complete -c batchctl -n __batchctl_none -a 'get' -d 'firectl order: get dataset ...'
complete -c batchctl -n '__batchctl_after get' -a 'dataset datasets' -d 'Create, upload, inspect, download and validate datasets'
complete -c batchctl -n '__batchctl_after get' -a 'batch-inference-job bij batch-inference-jobs bijs' -d 'Create, follow and manage batch inference jobs'
complete -c batchctl -n __batchctl_none -a 'list' -d 'firectl order: list dataset ...'
complete -c batchctl -n '__batchctl_after list' -a 'dataset datasets' -d 'Create, upload, inspect, download and validate datasets'
complete -c batchctl -n '__batchctl_after list' -a 'batch-inference-job bij batch-inference-jobs bijs' -d 'Create, follow and manage batch inference jobs'
complete -c batchctl -n __batchctl_none -a 'update' -d 'firectl order: update dataset ...'
complete -c batchctl -n '__batchctl_after update' -a 'dataset datasets' -d 'Create, upload, inspect, download and validate datasets'
complete -c batchctl -n __batchctl_none -a 'delete' -d 'firectl order: delete dataset ...'
complete -c batchctl -n '__batchctl_after delete' -a 'dataset datasets' -d 'Create, upload, inspect, download and validate datasets'
complete -c batchctl -n '__batchctl_after delete' -a 'batch-inference-job bij batch-inference-jobs bijs' -d 'Create, follow and manage batch inference jobs'
complete -c batchctl -n __batchctl_none -a 'download' -d 'firectl order: download dataset ...'
complete -c batchctl -n '__batchctl_after download' -a 'dataset datasets' -d 'Create, upload, inspect, download and validate datasets'
complete -c batchctl -n __batchctl_none -a 'upload' -d 'firectl order: upload dataset ...'
complete -c batchctl -n '__batchctl_after upload' -a 'dataset datasets' -d 'Create, upload, inspect, download and validate datasets'
complete -c batchctl -n __batchctl_none -a 'validate' -d 'firectl order: validate dataset ...'
complete -c batchctl -n '__batchctl_after validate' -a 'dataset datasets' -d 'Create, upload, inspect, download and validate datasets'
complete -c batchctl -n __batchctl_none -a 'cancel' -d 'firectl order: cancel batch-inference-job ...'
complete -c batchctl -n '__batchctl_after cancel' -a 'batch-inference-job bij batch-inference-jobs bijs' -d 'Create, follow and manage batch inference jobs'
complete -c batchctl -n __batchctl_none -a 'wait' -d 'firectl order: wait batch-inference-job ...'
complete -c batchctl -n '__batchctl_after wait' -a 'batch-inference-job bij batch-inference-jobs bijs' -d 'Create, follow and manage batch inference jobs'

# Verbs.
complete -c batchctl -n '__batchctl_after dataset datasets' -a 'create' -d 'Create a dataset, optionally from a JSONL file'
complete -c batchctl -n '__batchctl_after dataset datasets' -a 'upload' -d 'Upload a JSONL file into an existing dataset'
complete -c batchctl -n '__batchctl_after dataset datasets' -a 'get' -d 'Show a dataset'
complete -c batchctl -n '__batchctl_after dataset datasets' -a 'list' -d 'List datasets'
complete -c batchctl -n '__batchctl_after dataset datasets' -a 'update' -d 'Change a dataset\'s display name'
complete -c batchctl -n '__batchctl_after dataset datasets' -a 'delete' -d 'Delete a dataset'
complete -c batchctl -n '__batchctl_after dataset datasets' -a 'download' -d 'Download a dataset\'s files'
complete -c batchctl -n '__batchctl_after dataset datasets' -a 'validate' -d 'Check a JSONL file locally'
complete -c batchctl -n '__batchctl_after dataset datasets' -a 'split' -d 'Split a JSONL file into parts under a size or row limit'
complete -c batchctl -n '__batchctl_after batch-inference-job bij batch-inference-jobs bijs' -a 'create' -d 'Create a batch inference job'
complete -c batchctl -n '__batchctl_after batch-inference-job bij batch-inference-jobs bijs' -a 'get' -d 'Show a batch inference job'
complete -c batchctl -n '__batchctl_after batch-inference-job bij batch-inference-jobs bijs' -a 'list' -d 'List batch inference jobs'
complete -c batchctl -n '__batchctl_after batch-inference-job bij batch-inference-jobs bijs' -a 'delete' -d 'Delete a batch inference job'
complete -c batchctl -n '__batchctl_after batch-inference-job bij batch-inference-jobs bijs' -a 'cancel' -d 'Cancel a running job'
complete -c batchctl -n '__batchctl_after batch-inference-job bij batch-inference-jobs bijs' -a 'wait' -d 'Wait until a job ends'
complete -c batchctl -n '__batchctl_after batch-inference-job bij batch-inference-jobs bijs' -a 'results' -d 'Print a job\'s results joined to its input, in input order'
complete -c batchctl -n '__batchctl_after server' -a 'start' -d 'Start the local gateway in the background'
complete -c batchctl -n '__batchctl_after server' -a 'stop' -d 'Stop the background local gateway'
complete -c batchctl -n '__batchctl_after server' -a 'status' -d 'Show whether the local gateway runs'

# Positional arguments.
complete -c batchctl -n '__batchctl_arg dataset.create 1' -F -d 'JSONL file to upload (\'-\' for stdin)'
complete -c batchctl -n '__batchctl_arg dataset.upload 0' -a '(__batchctl_ids datasets)' -d 'Existing dataset'
complete -c batchctl -n '__batchctl_arg dataset.upload 1' -F -d 'JSONL file to upload'
complete -c batchctl -n '__batchctl_arg dataset.get 0' -a '(__batchctl_ids datasets)' -d 'Dataset id or name'
complete -c batchctl -n '__batchctl_arg dataset.update 0' -a '(__batchctl_ids datasets)' -d 'Dataset id or name'
complete -c batchctl -n '__batchctl_arg dataset.delete 0' -a '(__batchctl_ids datasets)' -d 'Dataset id or name'
complete -c batchctl -n '__batchctl_arg dataset.download 0' -a '(__batchctl_ids datasets)' -d 'Dataset id or name'
complete -c batchctl -n '__batchctl_arg dataset.validate 0' -F -d 'JSONL file (\'-\' for stdin)'
complete -c batchctl -n '__batchctl_arg dataset.split 0' -F -d 'JSONL file to split'
complete -c batchctl -n '__batchctl_arg batch-inference-job.get 0' -a '(__batchctl_ids jobs)' -d 'Job id or name'
complete -c batchctl -n '__batchctl_arg batch-inference-job.delete 0' -a '(__batchctl_ids jobs)' -d 'Job id or name'
complete -c batchctl -n '__batchctl_arg batch-inference-job.cancel 0' -a '(__batchctl_ids jobs)' -d 'Job id or name'
complete -c batchctl -n '__batchctl_arg batch-inference-job.wait 0' -a '(__batchctl_ids jobs)' -d 'Job id or name'
complete -c batchctl -n '__batchctl_arg batch-inference-job.results 0' -a '(__batchctl_ids jobs)' -d 'Job ids or names'
complete -c batchctl -n '__batchctl_arg completion 0' -a 'bash zsh fish' -d 'bash, zsh or fish'
complete -c batchctl -n '__batchctl_arg help 0' -a 'dataset' -d 'Create, upload, inspect, download and validate datasets'
complete -c batchctl -n '__batchctl_arg help 0' -a 'datasets' -d 'Create, upload, inspect, download and validate datasets'
complete -c batchctl -n '__batchctl_arg help 0' -a 'batch-inference-job' -d 'Create, follow and manage batch inference jobs'
complete -c batchctl -n '__batchctl_arg help 0' -a 'bij' -d 'Create, follow and manage batch inference jobs'
complete -c batchctl -n '__batchctl_arg help 0' -a 'batch-inference-jobs' -d 'Create, follow and manage batch inference jobs'
complete -c batchctl -n '__batchctl_arg help 0' -a 'bijs' -d 'Create, follow and manage batch inference jobs'
complete -c batchctl -n '__batchctl_arg help 0' -a 'whoami' -d 'Show the account, API key and gateway in use, and where each came from'
complete -c batchctl -n '__batchctl_arg help 0' -a 'set-api-key' -d 'Save an API key in the profile\'s auth.ini'
complete -c batchctl -n '__batchctl_arg help 0' -a 'server' -d 'Run the local Fireworks-compatible gateway'
complete -c batchctl -n '__batchctl_arg help 0' -a 'completion' -d 'Print a shell completion script'
complete -c batchctl -n '__batchctl_arg help 0' -a 'man' -d 'Print the man page (roff)'
complete -c batchctl -n '__batchctl_arg help 0' -a 'version' -d 'Print version and build information'
complete -c batchctl -n '__batchctl_arg help 0' -a 'help' -d 'Show help for a command'
complete -c batchctl -n '__batchctl_arg help 1 dataset datasets' -a 'create' -d 'Create a dataset, optionally from a JSONL file'
complete -c batchctl -n '__batchctl_arg help 1 dataset datasets' -a 'upload' -d 'Upload a JSONL file into an existing dataset'
complete -c batchctl -n '__batchctl_arg help 1 dataset datasets' -a 'get' -d 'Show a dataset'
complete -c batchctl -n '__batchctl_arg help 1 dataset datasets' -a 'list' -d 'List datasets'
complete -c batchctl -n '__batchctl_arg help 1 dataset datasets' -a 'update' -d 'Change a dataset\'s display name'
complete -c batchctl -n '__batchctl_arg help 1 dataset datasets' -a 'delete' -d 'Delete a dataset'
complete -c batchctl -n '__batchctl_arg help 1 dataset datasets' -a 'download' -d 'Download a dataset\'s files'
complete -c batchctl -n '__batchctl_arg help 1 dataset datasets' -a 'validate' -d 'Check a JSONL file locally'
complete -c batchctl -n '__batchctl_arg help 1 dataset datasets' -a 'split' -d 'Split a JSONL file into parts under a size or row limit'
complete -c batchctl -n '__batchctl_arg help 1 batch-inference-job bij batch-inference-jobs bijs' -a 'create' -d 'Create a batch inference job'
complete -c batchctl -n '__batchctl_arg help 1 batch-inference-job bij batch-inference-jobs bijs' -a 'get' -d 'Show a batch inference job'
complete -c batchctl -n '__batchctl_arg help 1 batch-inference-job bij batch-inference-jobs bijs' -a 'list' -d 'List batch inference jobs'
complete -c batchctl -n '__batchctl_arg help 1 batch-inference-job bij batch-inference-jobs bijs' -a 'delete' -d 'Delete a batch inference job'
complete -c batchctl -n '__batchctl_arg help 1 batch-inference-job bij batch-inference-jobs bijs' -a 'cancel' -d 'Cancel a running job'
complete -c batchctl -n '__batchctl_arg help 1 batch-inference-job bij batch-inference-jobs bijs' -a 'wait' -d 'Wait until a job ends'
complete -c batchctl -n '__batchctl_arg help 1 batch-inference-job bij batch-inference-jobs bijs' -a 'results' -d 'Print a job\'s results joined to its input, in input order'
complete -c batchctl -n '__batchctl_arg help 1 server' -a 'start' -d 'Start the local gateway in the background'
complete -c batchctl -n '__batchctl_arg help 1 server' -a 'stop' -d 'Stop the background local gateway'
complete -c batchctl -n '__batchctl_arg help 1 server' -a 'status' -d 'Show whether the local gateway runs'

# Flags of each command.
complete -c batchctl -n '__batchctl_in dataset.create' -l display-name -x -d 'Human-readable name (NAME)'
complete -c batchctl -n '__batchctl_in dataset.create' -l format -x -a 'chat completion' -d 'Dataset format (default: detected from FILE); FILE is checked against it (FORMAT)'
complete -c batchctl -n '__batchctl_in dataset.create' -l no-validate -d 'Skip the local validation of FILE'
complete -c batchctl -n '__batchctl_in dataset.create' -l external-url -x -d 'Make the dataset from a file in storage (gs://...) instead of FILE (URL)'
complete -c batchctl -n '__batchctl_in dataset.upload' -l no-validate -d 'Skip the local validation of FILE'
complete -c batchctl -n '__batchctl_in dataset.upload' -l force -d 'Replace the file of a READY dataset'
complete -c batchctl -n '__batchctl_in dataset.list' -l filter -x -d 'Filter expression (AIP-160) (EXPR)'
complete -c batchctl -n '__batchctl_in dataset.list' -l order-by -x -d 'Sort order, e.g. \'create_time desc\' (FIELDS)'
complete -c batchctl -n '__batchctl_in dataset.list' -l page-size -x -d 'Items per request (the gateway allows up to 200) (N)'
complete -c batchctl -n '__batchctl_in dataset.list' -l page-token -x -d 'Print only the page at this token (TOKEN)'
complete -c batchctl -n '__batchctl_in dataset.list' -l no-paginate -d 'List all items without pagination (the default, as in firectl)'
complete -c batchctl -n '__batchctl_in dataset.list' -l limit -x -d 'Stop after N items (N)'
complete -c batchctl -n '__batchctl_in dataset.update' -l display-name -x -d 'New human-readable name (NAME)'
complete -c batchctl -n '__batchctl_in dataset.delete' -l wait -d 'Wait until the deletion is complete'
complete -c batchctl -n '__batchctl_in dataset.delete' -l wait-timeout -x -d 'With --wait: give up after DURATION (default 30m; exit 9) (DURATION)'
complete -c batchctl -n '__batchctl_in dataset.download' -l output-dir -x -a '(__fish_complete_directories)' -d 'Destination folder (default .) (DIR)'
complete -c batchctl -n '__batchctl_in dataset.download' -l download-lineage -d 'Also download every dataset of the job continuation chain'
complete -c batchctl -n '__batchctl_in dataset.validate' -l format -x -a 'chat completion' -d 'Expected format (default: detected from FILE) (FORMAT)'
complete -c batchctl -n '__batchctl_in dataset.split' -l max-bytes -x -d 'Largest part, e.g. 500MB or 2GiB (default 1GB, Fireworks\' input limit) (SIZE)'
complete -c batchctl -n '__batchctl_in dataset.split' -l rows -x -d 'At most N rows per part (N)'
complete -c batchctl -n '__batchctl_in dataset.split' -l output-dir -x -a '(__fish_complete_directories)' -d 'Where the parts go (default: beside FILE) (DIR)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l job-id -x -d 'Id of the new job (default: generated) (ID)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l display-name -x -d 'Human-readable name (NAME)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -s m -l model -x -d 'Model, e.g. accounts/fireworks/models/llama-v3p1-8b-instruct (MODEL)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -s d -l input-dataset-id -x -a '(__batchctl_ids datasets)' -d 'Input dataset id or name (DATASET)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -s x -l output-dataset-id -x -a '(__batchctl_ids datasets)' -d 'Output dataset id or name (default: created by the gateway) (DATASET)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l continue-from -x -a '(__batchctl_ids jobs)' -d 'Rerun only the unfinished or failed rows of JOB (JOB)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l max-tokens -x -d 'Maximum tokens per response (N)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l temperature -x -d 'Sampling temperature, 0 to 2 (0 is greedy) (F)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l top-p -x -d 'Nucleus sampling probability, 0 to 1 (F)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l top-k -x -d 'Top-k sampling (N)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l n -x -d 'Choices per request (at least 1) (N)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l extra-body -x -d 'Extra request fields as a JSON object (JSON)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l precision -x -a 'FP16 FP8 FP8_MM FP8_AR FP8_MM_KV_ATTN FP8_KV FP8_MM_V2 FP8_V2 FP8_MM_KV_ATTN_V2 NF4 FP4 BF16 FP4_BLOCKSCALED_MM FP4_MX_MOE' -d 'Serving precision (PRECISION)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l system-prompt -x -d 'System message prepended to rows without one (TEXT)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l max-job-duration -x -d 'Time window (12h..72h, default 24h) (DURATION)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l input-file -r -F -d 'Create the input dataset from FILE first (FILE)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l wait -d 'Follow the job until it ends; exit status from its final state'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l download -x -a '(__fish_complete_directories)' -d 'With --wait: download the output dataset into DIR (DIR)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l wait-timeout -x -d 'Give up after DURATION (default: no limit; exit 9) (DURATION)'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l fail-on-row-errors -d 'Exit 10 when the job ended with failed rows'
complete -c batchctl -n '__batchctl_in batch-inference-job.create' -l progress-interval -x -d 'Off a terminal, print a progress line at least this often (default 30s) (DURATION)'
complete -c batchctl -n '__batchctl_in batch-inference-job.get' -l watch -d 'Follow the progress until the job ends'
complete -c batchctl -n '__batchctl_in batch-inference-job.get' -l wait-timeout -x -d 'Give up after DURATION (default: no limit; exit 9) (DURATION)'
complete -c batchctl -n '__batchctl_in batch-inference-job.get' -l fail-on-row-errors -d 'Exit 10 when the job ended with failed rows'
complete -c batchctl -n '__batchctl_in batch-inference-job.get' -l progress-interval -x -d 'Off a terminal, print a progress line at least this often (default 30s) (DURATION)'
complete -c batchctl -n '__batchctl_in batch-inference-job.list' -l filter -x -d 'Filter expression (AIP-160) (EXPR)'
complete -c batchctl -n '__batchctl_in batch-inference-job.list' -l order-by -x -d 'Sort order, e.g. \'create_time desc\' (FIELDS)'
complete -c batchctl -n '__batchctl_in batch-inference-job.list' -l page-size -x -d 'Items per request (the gateway allows up to 200) (N)'
complete -c batchctl -n '__batchctl_in batch-inference-job.list' -l page-token -x -d 'Print only the page at this token (TOKEN)'
complete -c batchctl -n '__batchctl_in batch-inference-job.list' -l no-paginate -d 'List all items without pagination (the default, as in firectl)'
complete -c batchctl -n '__batchctl_in batch-inference-job.list' -l limit -x -d 'Stop after N items (N)'
complete -c batchctl -n '__batchctl_in batch-inference-job.delete' -l wait -d 'Wait until the deletion is complete'
complete -c batchctl -n '__batchctl_in batch-inference-job.delete' -l wait-timeout -x -d 'With --wait: give up after DURATION (default 30m; exit 9) (DURATION)'
complete -c batchctl -n '__batchctl_in batch-inference-job.wait' -l interval -x -d 'Time between polls (default 5s) (DURATION)'
complete -c batchctl -n '__batchctl_in batch-inference-job.wait' -l wait-timeout -x -d 'Give up after DURATION (default: no limit; exit 9) (DURATION)'
complete -c batchctl -n '__batchctl_in batch-inference-job.wait' -l fail-on-row-errors -d 'Exit 10 when the job ended with failed rows'
complete -c batchctl -n '__batchctl_in batch-inference-job.wait' -l progress-interval -x -d 'Off a terminal, print a progress line at least this often (default 30s) (DURATION)'
complete -c batchctl -n '__batchctl_in batch-inference-job.results' -l status -x -d 'Only rows with these statuses: succeeded, failed, missing (STATUS,...)'
complete -c batchctl -n '__batchctl_in batch-inference-job.results' -l with-request -d 'Add each input row\'s body to its line'
complete -c batchctl -n '__batchctl_in batch-inference-job.results' -l content -d 'Print only the first choice\'s message text, one row per line (newlines as \\n)'
complete -c batchctl -n '__batchctl_in batch-inference-job.results' -l no-lineage -d 'Read this job\'s output only, not the jobs it continued from'
complete -c batchctl -n '__batchctl_in batch-inference-job.results' -l follow -d 'On a running job, print rows as they are checkpointed, until it ends'
complete -c batchctl -n '__batchctl_in batch-inference-job.results' -l fail-on-row-errors -d 'Exit 10 when any row did not succeed'
complete -c batchctl -n '__batchctl_in server' -l listen -x -d 'Address to listen on (default 127.0.0.1:8700) (HOST:PORT)'
complete -c batchctl -n '__batchctl_in server' -l data-dir -x -a '(__fish_complete_directories)' -d 'Where datasets and jobs are stored (DIR)'
complete -c batchctl -n '__batchctl_in server' -l api-key -x -d 'Require this bearer key (KEY)'
complete -c batchctl -n '__batchctl_in server' -s a -l account-id -x -d 'Account reported by /verifyApiKey (default local) (ID)'
complete -c batchctl -n '__batchctl_in server' -l openai-account -x -d 'Account of the OpenAI Batch API\'s files and batches (default local) (ID)'
complete -c batchctl -n '__batchctl_in server' -l backend -x -a 'echo openai' -d 'Inference backend: echo or openai (NAME)'
complete -c batchctl -n '__batchctl_in server' -l inference-url -x -d 'OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (URL[,SETTING...])'
complete -c batchctl -n '__batchctl_in server' -l inference-api-key -x -d 'Bearer key sent to the inference servers (KEY)'
complete -c batchctl -n '__batchctl_in server' -l model-map -x -d 'Map a job\'s model to a backend model (FROM=TO)'
complete -c batchctl -n '__batchctl_in server' -l allow-origin -x -d 'Browser origin allowed to call the API (ORIGIN)'
complete -c batchctl -n '__batchctl_in server' -l concurrency -x -d 'In-flight requests per inference server at most (default 64) (N)'
complete -c batchctl -n '__batchctl_in server' -l fixed-concurrency -d 'Keep every server at --concurrency instead of adapting'
complete -c batchctl -n '__batchctl_in server' -l max-response-bytes -x -d 'Largest inference answer kept (default 32MiB) (BYTES)'
complete -c batchctl -n '__batchctl_in server' -l request-timeout -x -d 'Per inference request (default 10m) (DURATION)'
complete -c batchctl -n '__batchctl_in server' -l public-url -x -d 'Base of the URLs the gateway mints, e.g. https://batch.example.com (URL)'
complete -c batchctl -n '__batchctl_in server' -l created-by -x -d 'The createdBy of what this gateway creates (default ACCOUNT@localhost) (IDENTITY)'
complete -c batchctl -n '__batchctl_in server.start' -l listen -x -d 'Address to listen on (default 127.0.0.1:8700) (HOST:PORT)'
complete -c batchctl -n '__batchctl_in server.start' -l data-dir -x -a '(__fish_complete_directories)' -d 'Where datasets and jobs are stored (DIR)'
complete -c batchctl -n '__batchctl_in server.start' -l api-key -x -d 'Require this bearer key (KEY)'
complete -c batchctl -n '__batchctl_in server.start' -s a -l account-id -x -d 'Account reported by /verifyApiKey (default local) (ID)'
complete -c batchctl -n '__batchctl_in server.start' -l openai-account -x -d 'Account of the OpenAI Batch API\'s files and batches (default local) (ID)'
complete -c batchctl -n '__batchctl_in server.start' -l backend -x -a 'echo openai' -d 'Inference backend: echo or openai (NAME)'
complete -c batchctl -n '__batchctl_in server.start' -l inference-url -x -d 'OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (URL[,SETTING...])'
complete -c batchctl -n '__batchctl_in server.start' -l inference-api-key -x -d 'Bearer key sent to the inference servers (KEY)'
complete -c batchctl -n '__batchctl_in server.start' -l model-map -x -d 'Map a job\'s model to a backend model (FROM=TO)'
complete -c batchctl -n '__batchctl_in server.start' -l allow-origin -x -d 'Browser origin allowed to call the API (ORIGIN)'
complete -c batchctl -n '__batchctl_in server.start' -l concurrency -x -d 'In-flight requests per inference server at most (default 64) (N)'
complete -c batchctl -n '__batchctl_in server.start' -l fixed-concurrency -d 'Keep every server at --concurrency instead of adapting'
complete -c batchctl -n '__batchctl_in server.start' -l max-response-bytes -x -d 'Largest inference answer kept (default 32MiB) (BYTES)'
complete -c batchctl -n '__batchctl_in server.start' -l request-timeout -x -d 'Per inference request (default 10m) (DURATION)'
complete -c batchctl -n '__batchctl_in server.start' -l public-url -x -d 'Base of the URLs the gateway mints, e.g. https://batch.example.com (URL)'
complete -c batchctl -n '__batchctl_in server.start' -l created-by -x -d 'The createdBy of what this gateway creates (default ACCOUNT@localhost) (IDENTITY)'
complete -c batchctl -n '__batchctl_in server.stop' -l data-dir -x -a '(__fish_complete_directories)' -d 'Where datasets and jobs are stored (DIR)'
complete -c batchctl -n '__batchctl_in server.status' -l data-dir -x -a '(__fish_complete_directories)' -d 'Where datasets and jobs are stored (DIR)'

# Global flags (a command that declares a flag of the same name describes its own).
complete -c batchctl -n 'not __batchctl_in server server.start' -s a -l account-id -x -d 'Account for every resource path (ID)'
complete -c batchctl -n 'not __batchctl_in server server.start' -l api-key -x -d 'Bearer API key (KEY)'
complete -c batchctl -s p -l profile -x -d 'Read ~/.fireworks/profiles/NAME/auth.ini (NAME)'
complete -c batchctl -l server -x -d 'Gateway base URL (URL)'
complete -c batchctl -l local -d 'Use the local gateway at http://127.0.0.1:8700 (account local)'
complete -c batchctl -s o -l output -x -a 'text table wide json jsonl name' -d 'Output format: text, table, wide, json, jsonl or name (FORMAT)'
complete -c batchctl -l dry-run -d 'Print the HTTP request instead of sending it'
complete -c batchctl -s q -l quiet -d 'No progress bars or notes; errors still go to stderr'
complete -c batchctl -l no-color -d 'Plain output without colour'
complete -c batchctl -l timeout -x -d 'Per-request timeout (default 60s) (DURATION)'
complete -c batchctl -l cacert -r -F -d 'Trust the CAs in this PEM bundle for https (FILE)'
complete -c batchctl -s h -l help -d 'Show help for the command'
complete -c batchctl -l version -d 'Print the version and exit'
