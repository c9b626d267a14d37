// The command table: every noun, verb and flag of batchctl, declared once. Parser, help, man page and the
// completion scripts are all generated from it.

import BatchAPI
import BatchServer

public enum OutputFormat: String, CaseIterable, Sendable {
    case text, table, wide, json, jsonl, name
}

/// `dataset create --format`: the formats a dataset file can be in, by their command-line names.
public enum DatasetFileFormat: String, CaseIterable, Sendable {
    case chat, completion

    /// The gateway's name of the format (`CHAT`).
    public var wireName: String { rawValue.uppercased() }
}

/// The shells `batchctl completion` writes a script for.
public enum Shell: String, CaseIterable, Sendable {
    case bash, zsh, fish
}

public enum CommandTable {
    // MARK: global flags

    public static let globalFlags: [FlagSpec] = [
        FlagSpec(.accountID, short: "a", value: .string, valueName: "ID", doc: "Account for every resource path",
                 longDoc: "Defaults to $FIREWORKS_ACCOUNT_ID, then account_id in the profile's auth.ini, then the account the gateway reports for the API key (GET /verifyApiKey).",
                 group: "Global"),
        FlagSpec(.apiKey, value: .string, valueName: "KEY", doc: "Bearer API key",
                 longDoc: "Defaults to $FIREWORKS_API_KEY, then api_key in the profile's auth.ini. Never printed; --dry-run shows it masked.",
                 group: "Global"),
        FlagSpec(.profile, short: "p", value: .string, valueName: "NAME", doc: "Read ~/.fireworks/profiles/NAME/auth.ini",
                 longDoc: "Instead of ~/.fireworks/auth.ini. Defaults to $FIREWORKS_PROFILE.", group: "Global"),
        FlagSpec(.server, value: .string, valueName: "URL", doc: "Gateway base URL",
                 longDoc: "Defaults to $FIREWORKS_BASE_URL, then api_base in auth.ini, then https://api.fireworks.ai.",
                 group: "Global"),
        FlagSpec(.local, doc: "Use the local gateway at http://127.0.0.1:8700 (account local)",
                 longDoc: "Starts `batchctl server` in the background when nothing answers there.", group: "Global"),
        FlagSpec(.output, short: "o", value: .choice(of: OutputFormat.self), valueName: "FORMAT",
                 doc: "Output format: text, table, wide, json, jsonl or name",
                 longDoc: "text for one resource and table for lists by default. json prints exactly what the gateway sent.",
                 group: "Global"),
        FlagSpec(.dryRun, doc: "Print the HTTP request instead of sending it",
                 longDoc: "Method, URL, headers (the key masked) and JSON body; nothing is sent.", group: "Global"),
        FlagSpec(.quiet, short: "q", doc: "No progress bars or notes; errors still go to stderr", group: "Global"),
        FlagSpec(.noColor, doc: "Plain output without colour",
                 longDoc: "Also when NO_COLOR is set or the output is not a terminal.", group: "Global"),
        FlagSpec(.timeout, value: .duration, valueName: "DURATION", doc: "Per-request timeout (default 60s)",
                 longDoc: "Bounds connecting and each stall of a request, like 30s, 2m or 300ms; a JSON request also ends after ten times it (at least 2m) in all.",
                 group: "Global"),
        FlagSpec(.cacert, value: .path, valueName: "FILE", doc: "Trust the CAs in this PEM bundle for https",
                 longDoc: "Instead of the system store. Also $CURL_CA_BUNDLE, then $SSL_CERT_FILE; $SSL_CERT_DIR adds a folder of hashed certificates.",
                 group: "Global"),
        FlagSpec(.help, short: "h", doc: "Show help for the command", group: "Global"),
        FlagSpec(.version, doc: "Print the version and exit", group: "Global"),
    ]

    // MARK: shared flag sets

    static let listFlags: [FlagSpec] = [
        FlagSpec(.filter, value: .string, valueName: "EXPR", doc: "Filter expression (AIP-160)",
                 longDoc: "For example: state = \"JOB_STATE_COMPLETED\" AND create_time > \"2026-01-01T00:00:00Z\"."),
        FlagSpec(.orderBy, value: .string, valueName: "FIELDS", doc: "Sort order, e.g. 'create_time desc'"),
        FlagSpec(.pageSize, value: .integer, valueName: "N", doc: "Items per request (the gateway allows up to 200)"),
        FlagSpec(.pageToken, value: .string, valueName: "TOKEN", doc: "Print only the page at this token",
                 longDoc: "Without it every page is fetched; with it one page is, and the next page's token is noted on stderr."),
        FlagSpec(.noPaginate, doc: "List all items without pagination (the default, as in firectl)"),
        FlagSpec(.limit, value: .integer, valueName: "N", doc: "Stop after N items"),
    ]

    /// `--wait` and `--wait-timeout` of both deletes.
    static let deleteFlags: [FlagSpec] = [
        FlagSpec(.wait, doc: "Wait until the deletion is complete"),
        FlagSpec(.waitTimeout, value: .duration, valueName: "DURATION", doc: "With --wait: give up after DURATION (default 30m; exit 9)"),
    ]

    /// The flags of every command that follows a job to its end (`wait`, `create --wait`, `get --watch`).
    static let followFlags: [FlagSpec] = [
        FlagSpec(.waitTimeout, value: .duration, valueName: "DURATION", doc: "Give up after DURATION (default: no limit; exit 9)",
                 group: "Workflow"),
        FlagSpec(.failOnRowErrors, doc: "Exit 10 when the job ended with failed rows", group: "Workflow"),
        FlagSpec(.progressInterval, value: .duration, valueName: "DURATION",
                 doc: "Off a terminal, print a progress line at least this often (default 30s)", group: "Workflow"),
    ]

    /// What commands that print a result object (not a resource) take: text, json and jsonl.
    static let objectFormats: [OutputFormat] = [.text, .json, .jsonl]

    static let serverFlags: [FlagSpec] = [
        FlagSpec(.listen, value: .string, valueName: "HOST:PORT", doc: "Address to listen on (default 127.0.0.1:8700)",
                 longDoc: "A non-loopback address requires --api-key."),
        FlagSpec(.dataDir, value: .path, valueName: "DIR", doc: "Where datasets and jobs are stored",
                 longDoc: "Default $XDG_DATA_HOME/batchctl (~/.local/share/batchctl).", completion: .directory),
        FlagSpec(.apiKey, value: .string, valueName: "KEY", doc: "Require this bearer key",
                 longDoc: "Also $BATCHCTL_SERVER_API_KEY. Without it any key is accepted (loopback only)."),
        FlagSpec(.accountID, short: "a", value: .string, valueName: "ID", doc: "Account reported by /verifyApiKey (default local)"),
        FlagSpec(.openAIAccount, value: .string, valueName: "ID", doc: "Account of the OpenAI Batch API's files and batches (default local)",
                 longDoc: "The files of /v1/files are its datasets and the batches of /v1/batches its batch inference jobs."),
        FlagSpec(.backend, value: .choice(of: ServerOptions.Backend.self), valueName: "NAME", doc: "Inference backend: echo or openai",
                 longDoc: "echo is a built-in deterministic model (no network); openai is any OpenAI-compatible /v1/chat/completions server (the default when --inference-url is given)."),
        FlagSpec(.inferenceURL, value: .string, valueName: "URL[,SETTING...]", repeatable: true,
                 doc: "OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1",
                 longDoc: "Repeatable: one per server of a fleet; requests go to the healthy one with the fewest in flight. Settings after the URL, comma-separated: key=KEY or key-env=VAR (its bearer key), concurrency=N (its ceiling), fixed (no adaptive limit), model-map=FROM=TO (its model names)."),
        FlagSpec(.inferenceAPIKey, value: .string, valueName: "KEY", doc: "Bearer key sent to the inference servers",
                 longDoc: "For every --inference-url without its own key=."),
        FlagSpec(.modelMap, value: .string, valueName: "FROM=TO", repeatable: true, doc: "Map a job's model to a backend model",
                 longDoc: "Repeatable. By default accounts/*/models/NAME is sent as NAME."),
        FlagSpec(.allowOrigin, value: .string, valueName: "ORIGIN", repeatable: true, doc: "Browser origin allowed to call the API",
                 longDoc: "Repeatable, e.g. https://app.example.com. Requests carrying any other Origin are refused (none is allowed by default)."),
        FlagSpec(.concurrency, value: .integer, valueName: "N", doc: "In-flight requests per inference server at most (default 64)",
                 longDoc: "The ceiling of each server's adaptive limit, which starts at the server's own slot count when it reports one (llama.cpp) and otherwise here."),
        FlagSpec(.fixedConcurrency, doc: "Keep every server at --concurrency instead of adapting",
                 longDoc: "Without it the limit grows while answers succeed at a steady latency and backs off on 429, 503 and timeouts."),
        FlagSpec(.maxResponseBytes, value: .string, valueName: "BYTES", doc: "Largest inference answer kept (default 32MiB)",
                 longDoc: "A row whose answer is larger fails with an error saying so. Suffixes K, M, G (KiB, MiB, GiB). Answers held in memory at once are bounded by 8 times this, at least 256 MiB."),
        FlagSpec(.requestTimeout, value: .duration, valueName: "DURATION", doc: "Per inference request (default 10m)"),
        FlagSpec(.publicURL, value: .string, valueName: "URL", doc: "Base of the URLs the gateway mints, e.g. https://batch.example.com",
                 longDoc: "Signed upload and download URLs start with it; set it when a TLS proxy is in front. Default: the listen address (never the request's Host header)."),
        FlagSpec(.createdBy, value: .string, valueName: "IDENTITY", doc: "The createdBy of what this gateway creates (default ACCOUNT@localhost)"),
        FlagSpec(.minJobDuration, value: .duration, valueName: "DURATION", doc: "Lower bound of maxJobDuration (default 12h)",
                 longDoc: "For tests that need a job to expire quickly.", hidden: true),
        FlagSpec(.failRequests, value: .string, valueName: "SPEC", doc: "Inject gateway faults (testing)",
                 longDoc: "Answer STATUS to the first N API requests: e.g. 503x2.", hidden: true),
    ]

    // MARK: nouns

    public static let nouns: [NounSpec] = [
        NounSpec("dataset", aliases: ["datasets"], summary: "Create, upload, inspect, download and validate datasets"),
        NounSpec("batch-inference-job", aliases: ["bij", "batch-inference-jobs", "bijs"],
                 summary: "Create, follow and manage batch inference jobs"),
        NounSpec("whoami", summary: "Show the account, API key and gateway in use, and where each came from", runsWithoutVerb: true),
        NounSpec("set-api-key", summary: "Save an API key in the profile's auth.ini", runsWithoutVerb: true),
        NounSpec("server", summary: "Run the local Fireworks-compatible gateway", runsWithoutVerb: true),
        NounSpec("completion", summary: "Print a shell completion script", runsWithoutVerb: true),
        NounSpec("man", summary: "Print the man page (roff)", runsWithoutVerb: true),
        NounSpec("version", summary: "Print version and build information", runsWithoutVerb: true),
        NounSpec("help", summary: "Show help for a command", runsWithoutVerb: true),
        NounSpec("__complete", summary: "List live ids for shell completion", runsWithoutVerb: true, hidden: true),
    ]

    /// Verbs firectl puts first (`batchctl create dataset`); each maps onto the noun-verb entry.
    public static let leadingVerbs = ["create", "get", "list", "update", "delete", "download", "upload", "validate", "cancel", "wait"]

    // MARK: commands

    public static let commands: [CommandSpec] = [
        CommandSpec("dataset.create", noun: "dataset", verb: "create", summary: "Create a dataset, optionally from a JSONL file",
                    description: "Validates FILE locally, creates the dataset with its example count and format, uploads the file (directly up to 150 MB, through a signed URL above) and waits until it is READY.",
                    positionals: [PositionalSpec("DATASET_ID", doc: "Id of the new dataset"),
                                  PositionalSpec("FILE", required: false, doc: "JSONL file to upload ('-' for stdin)", completion: .file)],
                    flags: [FlagSpec(.displayName, value: .string, valueName: "NAME", doc: "Human-readable name"),
                            FlagSpec(.format, value: .choice(of: DatasetFileFormat.self), valueName: "FORMAT",
                                     doc: "Dataset format (default: detected from FILE); FILE is checked against it"),
                            FlagSpec(.noValidate, doc: "Skip the local validation of FILE"),
                            FlagSpec(.externalURL, value: .string, valueName: "URL",
                                     doc: "Make the dataset from a file in storage (gs://...) instead of FILE",
                                     longDoc: "Fireworks reads the file itself; the local gateway reads only uploaded files and refuses it.")],
                    examples: ["batchctl dataset create my-input examples/chat.jsonl",
                               "batchctl dataset create from-bucket --external-url gs://my-bucket/input.jsonl"],
                    callsGateway: true),
        CommandSpec("dataset.upload", noun: "dataset", verb: "upload", summary: "Upload a JSONL file into an existing dataset",
                    description: "A dataset that is already READY keeps its file unless --force is given.",
                    positionals: [PositionalSpec("DATASET_ID", doc: "Existing dataset", completion: .datasetID),
                                  PositionalSpec("FILE", doc: "JSONL file to upload", completion: .file)],
                    flags: [FlagSpec(.noValidate, doc: "Skip the local validation of FILE"),
                            FlagSpec(.force, doc: "Replace the file of a READY dataset")],
                    examples: ["batchctl dataset upload my-input more.jsonl"], callsGateway: true),
        CommandSpec("dataset.get", noun: "dataset", verb: "get", summary: "Show a dataset",
                    positionals: [PositionalSpec("DATASET", doc: "Dataset id or name", completion: .datasetID)],
                    examples: ["batchctl dataset get my-input -o json"], callsGateway: true),
        CommandSpec("dataset.list", noun: "dataset", verb: "list", summary: "List datasets",
                    flags: listFlags, examples: ["batchctl dataset list --filter 'state = \"READY\"'"], callsGateway: true),
        CommandSpec("dataset.update", noun: "dataset", verb: "update", summary: "Change a dataset's display name",
                    positionals: [PositionalSpec("DATASET", doc: "Dataset id or name", completion: .datasetID)],
                    flags: [FlagSpec(.displayName, value: .string, valueName: "NAME", doc: "New human-readable name")],
                    examples: ["batchctl dataset update my-input --display-name 'March prompts'"], callsGateway: true),
        CommandSpec("dataset.delete", noun: "dataset", verb: "delete", summary: "Delete a dataset",
                    description: "Prints the deleted dataset's name with -o name, json or jsonl.",
                    positionals: [PositionalSpec("DATASET", doc: "Dataset id or name", completion: .datasetID)],
                    flags: deleteFlags, callsGateway: true, formats: [.text, .json, .jsonl, .name]),
        CommandSpec("dataset.download", noun: "dataset", verb: "download", summary: "Download a dataset's files",
                    description: "Writes DIR/dataset/<id>/<file>, each file atomically; prints the written paths (-o json: paths and sizes). With --download-lineage, a link of the chain that cannot be followed is a warning and exit 1.",
                    positionals: [PositionalSpec("DATASET", doc: "Dataset id or name", completion: .datasetID)],
                    flags: [FlagSpec(.outputDir, value: .path, valueName: "DIR", doc: "Destination folder (default .)",
                                     completion: .directory),
                            FlagSpec(.downloadLineage, doc: "Also download every dataset of the job continuation chain")],
                    examples: ["batchctl dataset download bij-results --output-dir out"], callsGateway: true, formats: objectFormats),
        CommandSpec("dataset.validate", noun: "dataset", verb: "validate", summary: "Check a JSONL file locally",
                    description: "Every check the gateway makes, reported as file:line: reason. Exit 0 when valid, 3 when not. Against Fireworks (the default gateway) a file over its 1 GB input limit is refused too.",
                    positionals: [PositionalSpec("FILE", doc: "JSONL file ('-' for stdin)", completion: .file)],
                    flags: [FlagSpec(.format, value: .choice(of: DatasetFileFormat.self), valueName: "FORMAT",
                                     doc: "Expected format (default: detected from FILE)")],
                    examples: ["batchctl dataset validate examples/chat.jsonl"], formats: objectFormats),
        CommandSpec("dataset.split", noun: "dataset", verb: "split", summary: "Split a JSONL file into parts under a size or row limit",
                    description: "Writes the rows of FILE into FILE.part-0001.jsonl, FILE.part-0002.jsonl, ... (FILE without its .jsonl), each at most --max-bytes and, with --rows, at most N rows, never cutting a line; the parts concatenated are FILE byte for byte. Every row is validated as the parts are written, with custom_id unique across all parts; on a problem no part is left behind and the exit status is 3. Prints the parts' paths (-o json: an array with each part's rows and bytes).",
                    positionals: [PositionalSpec("FILE", doc: "JSONL file to split", completion: .file)],
                    flags: [FlagSpec(.maxBytes, value: .string, valueName: "SIZE", doc: "Largest part, e.g. 500MB or 2GiB (default 1GB, Fireworks' input limit)"),
                            FlagSpec(.rows, value: .integer, valueName: "N", doc: "At most N rows per part"),
                            FlagSpec(.outputDir, value: .path, valueName: "DIR", doc: "Where the parts go (default: beside FILE)",
                                     completion: .directory)],
                    examples: ["batchctl dataset split big.jsonl", "batchctl dataset split big.jsonl --rows 100000 --output-dir parts -o json"]),

        CommandSpec("batch-inference-job.create", noun: "batch-inference-job", verb: "create",
                    summary: "Create a batch inference job",
                    description: "Runs every row of the input dataset on the model and writes the results to the output dataset. With --continue-from only the rows without a successful result in the earlier job run again.",
                    flags: [
                        FlagSpec(.jobID, value: .string, valueName: "ID", doc: "Id of the new job (default: generated)"),
                        FlagSpec(.displayName, value: .string, valueName: "NAME", doc: "Human-readable name"),
                        FlagSpec(.model, short: "m", value: .string, valueName: "MODEL", doc: "Model, e.g. accounts/fireworks/models/llama-v3p1-8b-instruct"),
                        FlagSpec(.inputDatasetID, short: "d", value: .string, valueName: "DATASET", doc: "Input dataset id or name",
                                 completion: .datasetID),
                        FlagSpec(.outputDatasetID, short: "x", value: .string, valueName: "DATASET",
                                 doc: "Output dataset id or name (default: created by the gateway)", completion: .datasetID),
                        FlagSpec(.continueFrom, value: .string, valueName: "JOB", doc: "Rerun only the unfinished or failed rows of JOB",
                                 completion: .jobID),
                        FlagSpec(.maxTokens, value: .integer, valueName: "N", doc: "Maximum tokens per response", group: "Inference"),
                        FlagSpec(.temperature, value: .number, valueName: "F", doc: "Sampling temperature, 0 to 2 (0 is greedy)", group: "Inference"),
                        FlagSpec(.topP, value: .number, valueName: "F", doc: "Nucleus sampling probability, 0 to 1", group: "Inference"),
                        FlagSpec(.topK, value: .integer, valueName: "N", doc: "Top-k sampling", group: "Inference"),
                        FlagSpec(.n, value: .integer, valueName: "N", doc: "Choices per request (at least 1)", group: "Inference"),
                        FlagSpec(.extraBody, value: .json, valueName: "JSON", doc: "Extra request fields as a JSON object",
                                 group: "Inference"),
                        FlagSpec(.precision, value: .choice(Array(Precision.names.dropFirst())), valueName: "PRECISION",
                                 doc: "Serving precision", group: "Inference"),
                        FlagSpec(.systemPrompt, value: .string, valueName: "TEXT", doc: "System message prepended to rows without one",
                                 group: "Inference"),
                        FlagSpec(.maxJobDuration, value: .duration, valueName: "DURATION", doc: "Time window (12h..72h, default 24h)"),
                        FlagSpec(.inputFile, value: .path, valueName: "FILE", doc: "Create the input dataset from FILE first",
                                 group: "Workflow"),
                        FlagSpec(.wait, doc: "Follow the job until it ends; exit status from its final state", group: "Workflow"),
                        FlagSpec(.download, value: .path, valueName: "DIR", doc: "With --wait: download the output dataset into DIR",
                                 completion: .directory, group: "Workflow"),
                    ] + followFlags,
                    examples: ["batchctl bij create -m accounts/fireworks/models/llama-v3p1-8b-instruct -d my-input --job-id my-job",
                               "batchctl --local bij create --input-file examples/chat.jsonl -m echo --wait --download out",
                               "batchctl bij create --continue-from my-job --job-id my-job-2"],
                    callsGateway: true),
        CommandSpec("batch-inference-job.get", noun: "batch-inference-job", verb: "get", summary: "Show a batch inference job",
                    positionals: [PositionalSpec("JOB", doc: "Job id or name", completion: .jobID)],
                    flags: [FlagSpec(.watch, doc: "Follow the progress until the job ends", group: "Workflow")] + followFlags,
                    callsGateway: true),
        CommandSpec("batch-inference-job.list", noun: "batch-inference-job", verb: "list", summary: "List batch inference jobs",
                    flags: listFlags, examples: ["batchctl bij list -o name"], callsGateway: true),
        CommandSpec("batch-inference-job.delete", noun: "batch-inference-job", verb: "delete", summary: "Delete a batch inference job",
                    description: "On a running job this cancels it first. Prints the deleted job's name with -o name, json or jsonl.",
                    positionals: [PositionalSpec("JOB", doc: "Job id or name", completion: .jobID)],
                    flags: deleteFlags, callsGateway: true, formats: [.text, .json, .jsonl, .name]),
        CommandSpec("batch-inference-job.cancel", noun: "batch-inference-job", verb: "cancel", summary: "Cancel a running job",
                    description: "The local gateway keeps the finished rows in the output dataset. Fireworks has no cancel for batch jobs: use delete there.",
                    positionals: [PositionalSpec("JOB", doc: "Job id or name", completion: .jobID)], callsGateway: true),
        CommandSpec("batch-inference-job.wait", noun: "batch-inference-job", verb: "wait", summary: "Wait until a job ends",
                    description: "Exit 0 when it COMPLETED, 8 when it ended otherwise, 9 when --wait-timeout ran out first, 10 with --fail-on-row-errors when rows failed. Failed rows are summed up on stderr.",
                    positionals: [PositionalSpec("JOB", doc: "Job id or name", completion: .jobID)],
                    flags: [FlagSpec(.interval, value: .duration, valueName: "DURATION", doc: "Time between polls (default 5s)", group: "Workflow")]
                        + followFlags,
                    examples: ["batchctl bij wait my-job --wait-timeout 2h && batchctl dataset download my-output"],
                    callsGateway: true),
        CommandSpec("batch-inference-job.results", noun: "batch-inference-job", verb: "results",
                    summary: "Print a job's results joined to its input, in input order",
                    description: "One JSON line per input row, in input order: {\"custom_id\", \"status\": \"succeeded\"|\"failed\"|\"missing\", \"response\" or \"error\", \"job\"}, where job is the job whose output held the row. Reads the job's input dataset and the output datasets of its whole continuation lineage (the latest success wins), through the download endpoints. Several jobs (an input that was split) print one after the other, in the order given. A summary goes to stderr: succeeded, failed by error code, missing, and any duplicate or unknown custom_id in the outputs. Exit 0, or 10 with --fail-on-row-errors when a row did not succeed. -o json prints one array, -o table CUSTOM_ID, STATUS, TOKENS and the start of the answer or error, -o name the custom_ids.",
                    positionals: [PositionalSpec("JOB...", doc: "Job ids or names", completion: .jobID, repeats: true)],
                    flags: [FlagSpec(.status, value: .string, valueName: "STATUS,...", doc: "Only rows with these statuses: succeeded, failed, missing"),
                            FlagSpec(.withRequest, doc: "Add each input row's body to its line"),
                            FlagSpec(.content, doc: "Print only the first choice's message text, one row per line (newlines as \\n)"),
                            FlagSpec(.noLineage, doc: "Read this job's output only, not the jobs it continued from"),
                            FlagSpec(.follow, doc: "On a running job, print rows as they are checkpointed, until it ends",
                                     longDoc: "Rows come in completion order, read with Range requests from the growing output files. A gateway that publishes output only when the job ends (Fireworks) is waited for, and said so."),
                            FlagSpec(.failOnRowErrors, doc: "Exit 10 when any row did not succeed")],
                    examples: ["batchctl bij results my-job > results.jsonl",
                               "batchctl bij results my-job --status failed,missing | jq -r .custom_id",
                               "batchctl bij results my-job --follow --content | less"],
                    callsGateway: true, formats: [.jsonl, .json, .table, .wide, .name]),

        CommandSpec("whoami", noun: "whoami", summary: "Show the account, API key and gateway in use",
                    description: "Each with where it came from (flag, environment or which file); the key is masked and checked with GET /verifyApiKey (exit 4 when refused).",
                    examples: ["batchctl whoami", "batchctl -p work whoami -o json"], callsGateway: true, formats: objectFormats),
        CommandSpec("set-api-key", noun: "set-api-key", summary: "Save an API key in the profile's auth.ini",
                    description: "Writes api_key into ~/.fireworks/auth.ini (or the --profile's), creating ~/.fireworks 0700 and the file 0600 and keeping its other lines. KEY '-' reads the key from stdin.",
                    positionals: [PositionalSpec("KEY", doc: "The API key, or '-' to read it from stdin")],
                    examples: ["batchctl set-api-key fw_...", "pass show fireworks | batchctl set-api-key -"], formats: objectFormats),

        CommandSpec("server", noun: "server", summary: "Run the local gateway in the foreground",
                    description: "The Fireworks Gateway REST API on loopback, storing datasets and jobs in the data dir and running jobs on the echo model or an OpenAI-compatible inference server.",
                    flags: serverFlags, examples: ["batchctl server --backend openai --inference-url http://127.0.0.1:8000/v1"],
                    formats: [.text]),
        CommandSpec("server.start", noun: "server", verb: "start", summary: "Start the local gateway in the background",
                    flags: serverFlags, formats: objectFormats),
        CommandSpec("server.stop", noun: "server", verb: "stop", summary: "Stop the background local gateway",
                    flags: [serverFlags[1]], formats: objectFormats),
        CommandSpec("server.status", noun: "server", verb: "status", summary: "Show whether the local gateway runs",
                    flags: [serverFlags[1]], formats: objectFormats),
        CommandSpec("completion", noun: "completion", summary: "Print a shell completion script",
                    positionals: [PositionalSpec("SHELL", doc: "bash, zsh or fish", completion: .choice)],
                    examples: ["batchctl completion bash > /etc/bash_completion.d/batchctl"], formats: [.text]),
        CommandSpec("man", noun: "man", summary: "Print the man page (roff)", examples: ["batchctl man | man -l -"], formats: [.text]),
        CommandSpec("version", noun: "version", summary: "Print version and build information", formats: objectFormats),
        CommandSpec("help", noun: "help", summary: "Show help for a command",
                    positionals: [PositionalSpec("COMMAND", required: false, doc: "Noun and verb", completion: .command)]),
        CommandSpec("__complete", noun: "__complete", summary: "List live ids for completion",
                    positionals: [PositionalSpec("KIND", doc: "datasets or jobs")], hidden: true, callsGateway: true),
    ]

    public static let shells = Shell.allCases

    public static func command(id: String) -> CommandSpec? { commands.first { $0.id == id } }

    public static func noun(named word: String) -> NounSpec? {
        nouns.first { $0.name == word || $0.aliases.contains(word) }
    }

    public static func verbs(of noun: String) -> [CommandSpec] { commands.filter { $0.noun == noun && $0.verb != nil } }

    public static func command(noun: String, verb: String?) -> CommandSpec? {
        commands.first { $0.noun == noun && $0.verb == verb }
    }

    /// Every flag valid for `command`: its own first (they shadow a global of the same name), then the globals.
    public static func flags(for command: CommandSpec?) -> [FlagSpec] {
        let own = command?.flags ?? []
        return own + globalFlags.filter { g in !own.contains { $0.name == g.name } }
    }
}

