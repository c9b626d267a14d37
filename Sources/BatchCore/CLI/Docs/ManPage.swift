// The batchctl(1) man page in roff (man macros), generated from the command table.
import BatchAPI

public enum ManPage {
    /// The page's date; a constant so that regenerating gives the same file. Bump it with the version.
    static let date = "2026-11-25"

    public static let committedPath = "man/batchctl.1"

    public static func roff() -> String {
        var page = Page()
        page.raw(".\\\" batchctl(1), generated from the command table by `batchctl man`.")
        page.raw(".\\\" Do not edit: regenerate with `batchctl man > man/batchctl.1`.")
        page.raw(".TH BATCHCTL 1 \(date) \"batchctl \(BuildInfo.version)\" \"User Commands\"")

        page.section("NAME")
        page.raw("batchctl \\- batch LLM inference on Fireworks or on a local gateway")

        page.section("SYNOPSIS")
        page.raw(".B batchctl")
        page.raw(".RI [ global\\ flags ]")
        page.raw(".I noun verb")
        page.raw(".RI [ arguments ]")
        page.raw(".RI [ flags ]")
        page.raw(".br")
        page.raw(".B batchctl")
        page.raw(".RI [ global\\ flags ]")
        page.raw(".I verb noun")
        page.raw(".RI [ arguments ]")
        page.raw(".RI [ flags ]")

        page.section("DESCRIPTION")
        page.text("""
        batchctl runs batch LLM inference from the shell in the style of Fireworks' firectl: upload a JSONL dataset \
        of chat requests, start a batch inference job on a model, follow it, and download the results and errors. \
        It speaks the Fireworks Gateway REST API, so it drives Fireworks itself; `batchctl server` serves the same \
        API on loopback, running jobs on a built-in deterministic model (echo) or any OpenAI-compatible inference \
        server.
        """)
        page.paragraph()
        page.text("""
        Flags may come before or after the noun and verb. --flag value and --flag=value, combined short flags \
        (-qo json), -- to end the flags, and - as a value (stdin or stdout) all work. The last occurrence of a \
        single-valued flag wins. Resource arguments take a bare id (my-ds) or a full name \
        (accounts/ACCOUNT/datasets/my-ds). firectl's verb-noun order works too: batchctl create dataset, \
        batchctl list batch-inference-jobs.
        """)
        page.paragraph()
        page.text("The nouns, with their aliases:")
        for noun in CommandTable.nouns where !noun.hidden {
            page.raw(".TP")
            page.raw("\\fB\(code(noun.name))\\fR" + noun.aliases.map { ", \\fB\(code($0))\\fR" }.joined())
            page.text(noun.summary + ".")
        }

        page.section("COMMANDS")
        for command in CommandTable.commands where !command.hidden {
            page.raw(".SS \"\(code(command.path))\"")
            var synopsis = "\\fBbatchctl \(code(command.path))\\fR"
            for p in command.positionals { synopsis += p.required ? " \\fI\(code(p.name))\\fR" : " [\\fI\(code(p.name))\\fR]" }
            if !command.flags.filter({ !$0.hidden }).isEmpty { synopsis += " [\\fIflags\\fR]" }
            page.raw(synopsis)
            page.paragraph()
            page.text(sentence(command.summary))
            if !command.description.isEmpty { page.text(command.description) }
            for p in command.positionals {
                page.raw(".TP")
                page.raw("\\fI\(code(p.name))\\fR")
                page.text(sentence(p.doc) + (p.required ? "" : " Optional."))
            }
            for flag in command.flags where !flag.hidden { page.flag(flag) }
            if !command.examples.isEmpty {
                page.paragraph()
                page.text(command.examples.count == 1 ? "Example:" : "Examples:")
                page.example(command.examples)
            }
        }

        page.section("GLOBAL OPTIONS")
        page.text("Valid with every command, before or after it. Precedence: flag, then environment, then profile file.")
        for flag in CommandTable.globalFlags where !flag.hidden { page.flag(flag) }

        page.section("OUTPUT FORMATS")
        page.text("""
        Chosen with -o. stdout carries data only; progress, notes and errors go to stderr. Progress bars and colour \
        appear only on a terminal, and neither with --quiet nor when NO_COLOR is set. A command that cannot print a \
        format refuses it with a usage error naming the ones it prints.
        """)
        for format in OutputFormat.allCases {
            page.raw(".TP")
            page.raw("\\fB\(code(format.rawValue))\\fR")
            page.text(describe(format))
        }

        page.section("EXIT STATUS")
        for (status, meaning) in exitStatuses {
            page.raw(".TP")
            page.raw("\\fB\(status)\\fR")
            page.text(meaning)
        }

        page.section("ENVIRONMENT")
        for (name, meaning) in environment {
            page.raw(".TP")
            page.raw("\\fB\(code(name))\\fR")
            page.text(meaning)
        }

        page.section("FILES")
        for (path, meaning) in files {
            page.raw(".TP")
            page.raw("\\fI\(code(path))\\fR")
            page.text(meaning)
        }

        page.section("EXAMPLES")
        page.text("Run a job on the local gateway's echo model and download its results:")
        page.example(["batchctl --local bij create --input-file examples/chat.jsonl -m echo --wait --download out"])
        page.text("Check a file before uploading it:")
        page.example(["batchctl dataset validate data.jsonl"])
        page.text("The same job on Fireworks, step by step:")
        page.example([
            "batchctl dataset create my-input data.jsonl",
            "batchctl bij create -m accounts/fireworks/models/llama-v3p1-8b-instruct -d my-input -x my-output --job-id my-job",
            "batchctl bij wait my-job --wait-timeout 2h",
            "batchctl dataset download my-output --output-dir out",
        ])
        page.text("States of every job, for a script:")
        page.example(["batchctl bij list -o json | jq -r '.[].state'"])
        page.text("Install the completion for bash and read this page from the binary:")
        page.example(["batchctl completion bash > ~/.local/share/bash-completion/completions/batchctl",
                      "batchctl man | man -l -"])

        page.section("SEE ALSO")
        page.raw(".BR curl (1),")
        page.raw(".BR jq (1)")
        page.paragraph()
        page.text("The Fireworks batch inference documentation: https://docs.fireworks.ai/guides/batch-inference")
        return page.text
    }

    static func describe(_ format: OutputFormat) -> String {
        switch format {
        case .text: return "firectl-style Key: value lines, nested fields indented two spaces, full enum names. The default for one resource."
        case .table: return "Aligned columns with upper-case headers, NAME first. The default for lists. Jobs: NAME, STATE, MODEL, PROGRESS, CREATED; datasets: NAME, STATE, EXAMPLES, FORMAT, CREATED."
        case .wide: return "table with more columns."
        case .json: return "Exactly the resource as the gateway returned it (camelCase); a list prints one JSON array of all items across pages."
        case .jsonl: return "One resource per line."
        case .name: return "One resource name per line, for the next command in a pipeline."
        }
    }

    static let exitStatuses: [(Int32, String)] = [
        (ExitStatus.success, "Success. An empty list is a success too (with a note on stderr)."),
        (ExitStatus.failure, "Any other error."),
        (ExitStatus.usage, "Usage error: unknown flag or command, missing or malformed argument."),
        (ExitStatus.invalidData, "Invalid input data: a dataset file fails validation."),
        (ExitStatus.auth, "Authentication or permission refused (HTTP 401 or 403)."),
        (ExitStatus.notFound, "Not found (HTTP 404, or the gateway's NOT_FOUND code with any status)."),
        (ExitStatus.conflict, "Already exists, or conflict (HTTP 409)."),
        (ExitStatus.unavailable, "Gateway unavailable after retries: network error, HTTP 429 or 5xx."),
        (ExitStatus.jobNotCompleted, "wait or --wait: the job ended in a state other than COMPLETED."),
        (ExitStatus.waitTimeout, "wait, --wait, --watch or a delete with --wait: --wait-timeout was reached before the job ended (or the resource was gone)."),
        (ExitStatus.rowErrors, "--fail-on-row-errors: the job ended with failed rows."),
        (ExitStatus.interrupted, "Interrupted (Ctrl-C); nothing half-written is left behind."),
    ]

    static let environment: [(String, String)] = [
        ("FIREWORKS_API_KEY", "The API key, when --api-key is not given."),
        ("FIREWORKS_ACCOUNT_ID", "The account, when --account-id is not given."),
        ("FIREWORKS_BASE_URL", "The gateway base URL, when --server is not given (default https://api.fireworks.ai)."),
        ("FIREWORKS_PROFILE", "The profile, when --profile is not given."),
        ("NO_COLOR", "When set, output has no colour."),
        ("BATCHCTL_SERVER_API_KEY", "The key batchctl server requires, when its --api-key is not given; --local sends it (and never the Fireworks key)."),
        ("BATCHCTL_LOCAL_URL", "The local gateway --local uses (default http://127.0.0.1:8700)."),
        ("XDG_DATA_HOME", "batchctl server keeps its data in $XDG_DATA_HOME/batchctl (default ~/.local/share/batchctl)."),
    ]

    static let files: [(String, String)] = [
        ("~/.fireworks/auth.ini", "key = value lines without a section header (a [fireworks] section is tolerated); keys api_key, account_id and optionally api_base. firectl reads the same file."),
        ("~/.fireworks/profiles/NAME/auth.ini", "The same for --profile NAME."),
        ("~/.local/share/batchctl/", "The local gateway's data directory (see XDG_DATA_HOME and --data-dir): datasets, jobs, and the pid file of batchctl server start."),
    ]

    // MARK: roff

    /// Text with every hyphen a minus (`\-`): flags, commands, names a reader may type.
    static func code(_ text: String) -> String {
        escapeBackslashes(text).replacingOccurrences(of: "-", with: "\\-")
    }

    static func escapeBackslashes(_ text: String) -> String { text.replacingOccurrences(of: "\\", with: "\\e") }

    static func sentence(_ text: String) -> String { text.hasSuffix(".") ? text : text + "." }

    /// Prose from the table: backslashes escaped, `code` in bold, hyphens of words that start with one (flags,
    /// `-` for stdin) as minus signs, one sentence per line, and no line starting with a control character.
    static func prose(_ text: String) -> [String] {
        var out = ""
        var inCode = false
        for word in escapeBackslashes(text).split(separator: " ", omittingEmptySubsequences: false) {
            var w = String(word)
            if w.hasPrefix("-") || w.hasPrefix("`-") || w.hasPrefix("(-") || w.hasPrefix("$") {
                w = w.replacingOccurrences(of: "-", with: "\\-")
            }
            if !out.isEmpty { out += " " }
            for ch in w {
                if ch == "`" { out += inCode ? "\\fR" : "\\fB"; inCode.toggle() } else { out.append(ch) }
            }
        }
        var lines: [String] = []
        var line = ""
        let chars = Array(out)
        for (i, ch) in chars.enumerated() {
            line.append(ch)
            // A new sentence starts a new line: roff then knows where sentences end.
            if ch == ".", i + 2 < chars.count, chars[i + 1] == " ", chars[i + 2].isUppercase,
               !line.hasSuffix("e.g."), !line.hasSuffix("i.e.") {
                lines.append(line)
                line = ""
            } else if ch == " ", line == " " {
                line = ""
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines.flatMap { wrap($0, width: 78) }.map { $0.hasPrefix(".") || $0.hasPrefix("'") ? "\\&" + $0 : $0 }
    }

    /// Lines of at most `width` characters where spaces allow; mandoc's lint asks for 80 at most.
    static func wrap(_ line: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in line.split(separator: " ") {
            if !current.isEmpty, current.count + 1 + word.count > width { lines.append(current); current = "" }
            current += (current.isEmpty ? "" : " ") + word
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    /// A shell command split into lines of at most `width` characters where a blank outside quotes allows,
    /// each but the last ending in ` \`: examples are not filled, and must fit an 80-column terminal.
    static func continued(_ command: String, width: Int) -> [String] {
        var words: [String] = []
        var word = ""
        var quote: Character?
        for ch in command {
            if ch == " ", quote == nil {
                if !word.isEmpty { words.append(word); word = "" }
                continue
            }
            if ch == "'" || ch == "\"" { quote = quote == nil ? ch : (quote == ch ? nil : quote) }
            word.append(ch)
        }
        if !word.isEmpty { words.append(word) }
        // A flag stays on the line of its value.
        var units: [String] = []
        for w in words {
            if let last = units.last, last.hasPrefix("-"), !last.contains(" "), !w.hasPrefix("-") {
                units[units.count - 1] += " " + w
            } else {
                units.append(w)
            }
        }
        var lines: [String] = []
        var line = ""
        for w in units {
            let indent = lines.isEmpty ? "" : "    "
            if !line.isEmpty, indent.count + line.count + 1 + w.count + 2 > width {
                lines.append(indent + line + " \\")
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + w
        }
        lines.append((lines.isEmpty ? "" : "    ") + line)
        return lines
    }

    /// The page being written, line by line.
    struct Page {
        var text = ""

        mutating func raw(_ line: String) { text += line + "\n" }

        mutating func section(_ name: String) { raw(".SH \"\(name)\"") }

        mutating func paragraph() { raw(".PP") }

        mutating func text(_ prose: String) { for line in ManPage.prose(prose) { raw(line) } }

        mutating func flag(_ f: FlagSpec) {
            raw(".TP")
            var head = f.short.map { "\\fB\\-\($0)\\fR, " } ?? ""
            head += "\\fB\(ManPage.code("--" + f.name))\\fR"
            if f.takesValue { head += " \\fI\(ManPage.code(f.valueName))\\fR" }
            raw(head)
            var doc = ManPage.sentence(f.doc)
            if !f.longDoc.isEmpty { doc += " " + ManPage.sentence(f.longDoc) }
            if !f.choices.isEmpty, !f.choices.allSatisfy({ f.doc.contains($0) }) {
                doc += " One of: " + f.choices.joined(separator: ", ") + "."
            }
            if f.repeatable, !doc.contains("Repeatable") { doc += " Repeatable." }
            text(doc)
        }

        mutating func example(_ lines: [String]) {
            raw(".PP")
            raw(".RS 4")
            raw(".nf")
            for line in lines.flatMap({ ManPage.continued($0, width: 66) }) {
                let escaped = ManPage.code(line)
                raw(escaped.hasPrefix(".") || escaped.hasPrefix("'") ? "\\&" + escaped : escaped)
            }
            raw(".fi")
            raw(".RE")
        }
    }
}
