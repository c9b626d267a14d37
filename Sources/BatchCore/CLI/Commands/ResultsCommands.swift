// bij results: a job's results joined to its input rows, in input order, across its lineage; or, with
// --follow, a running job's rows as they are checkpointed. The rows are printed by ResultPrinter.
import BatchAPI
import BatchClient
import BatchJSONL
import Foundation

enum ResultsCommands {
    static func results(_ c: Context, _ args: JobResultsArguments) throws {
        let format = try ResultPrinter.Format(c.format, content: args.content, command: c.invocation.command.path)
        let names = try c.invocation.positionals.map { try c.resourceName($0, .batchInferenceJob, what: "job") }
        let client = try c.client()
        let printer = ResultPrinter(streams: c.streams, format: format, statuses: args.statuses)
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        Interrupt.setMessage("interrupted; nothing was changed on the gateway")
        defer { Interrupt.setMessage(nil) }

        var total = ResultsSummary()
        for name in names {
            let summary = args.follow ? try follow(c, client, name, args, printer, scratch) : try join(c, client, name, args, printer, scratch)
            guard let summary else { return }  // --dry-run
            total.merge(summary)
        }
        printer.finish()
        report(c, total, jobs: names.count)
        if args.failOnRowErrors, total.notSucceeded > 0 {
            throw CLIError.rowErrors("\(grouped(total.notSucceeded)) of \(grouped(total.rows)) rows did not succeed (--fail-on-row-errors)")
        }
    }

    /// One job, joined: download its input and outputs, index the outputs, stream the input.
    static func join(_ c: Context, _ client: GatewayClient, _ name: ResourceName, _ args: JobResultsArguments,
                     _ printer: ResultPrinter, _ scratch: ScratchDirectory) throws -> ResultsSummary? {
        guard let sources = try client.resultsSources(job: name, lineage: args.lineage) else { return nil }
        if !sources.job.isTerminal {
            c.streams.note("\(name.id) is \(sources.job.state.shortName): the rows it has not finished yet show as missing (--follow streams them as they finish)")
        }
        var warnings = sources.lineageWarnings
        if args.lineage, !sources.fromBatchctl, let output = ResourceName(sources.job.outputDatasetId, kind: .dataset) {
            warnings += Lineage.check(c, name: output, keys: sources.outputs.flatMap { $0.files.map(\.key) })
        }
        for w in warnings { c.streams.error("warning: \(w)") }
        if !warnings.isEmpty {
            c.streams.error("warning: the lineage of \(name.id) is incomplete: rows answered in the datasets that cannot be found show as missing or failed")
        }
        if sources.input.files.isEmpty {
            throw CLIError.failure("the input dataset \(sources.input.name) of \(name.id) has no files to download, so there is nothing to join the results to")
        }
        if sources.outputs.isEmpty || sources.outputs.allSatisfy({ $0.files.isEmpty }) {
            c.streams.note("\(name.id) has no output files yet: every row shows as missing")
        }
        let dir = try scratch.folder(for: name.id)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bars = Bars(streams: c.streams)
        let inputs = try client.downloadScratch(sources.input, into: dir, progress: bars.next)
        var outputs: [ResultsJoin.OutputFile] = []
        for (position, dataset) in sources.outputs.enumerated() {
            for file in try client.downloadScratch(dataset, into: dir, progress: bars.next) {
                if !sources.job.isTerminal {
                    do { try ResultsJoin.dropTornTail(path: file.path) } catch let e as ResultsFileError { throw CLIError.failure(e.message) }
                }
                outputs.append(ResultsJoin.OutputFile(path: file.path, displayName: file.key, dataset: position, job: dataset.job))
            }
        }
        bars.finish()
        var join = ResultsJoin(outputs: outputs)
        do {
            try join.buildIndex()
            return try join.stream(inputs: inputs.map { ($0.path, $0.key) }, withBody: args.withRequest) { try printer.print($0) }
        } catch let e as ResultsFileError {
            throw CLIError.failure(e.message)
        }
    }

    /// One job, followed until it ends.
    static func follow(_ c: Context, _ client: GatewayClient, _ name: ResourceName, _ args: JobResultsArguments,
                       _ printer: ResultPrinter, _ scratch: ScratchDirectory) throws -> ResultsSummary? {
        var bodies: InputBodyIndex?
        if args.withRequest {
            guard let sources = try client.resultsSources(job: name, lineage: false) else { return nil }
            let dir = try scratch.folder(for: name.id + "-input")
            let bars = Bars(streams: c.streams)
            let inputs = try client.downloadScratch(sources.input, into: dir, progress: bars.next)
            bars.finish()
            guard let first = inputs.first else {
                throw CLIError.failure("the input dataset \(sources.input.name) of \(name.id) has no files to download")
            }
            do { bodies = try InputBodyIndex(path: first.path) } catch let e as ResultsFileError { throw CLIError.failure(e.message) }
            try? FileManager.default.removeItem(atPath: dir)
        }
        if URL(string: try c.settings().baseURL)?.host == "api.fireworks.ai" {
            c.streams.note("Fireworks publishes a job's output only when the job ends: waiting for \(name.id) to end, then streaming its rows")
        } else {
            c.streams.note("following \(name.id): rows print as they are checkpointed, in completion order")
        }
        Interrupt.setMessage("interrupted; \(name.id) keeps running on the gateway")
        let follower = ResultsFollower(client: client, job: name, bodies: bodies)
        guard let job = try follower.run(note: { c.streams.note($0) }, row: { try printer.print($0) }, flush: { printer.flush() })
        else { return nil }
        if job.state != JobState.completed {
            c.streams.note("\(name.id) ended \(job.state.shortName)" + (job.status.message.isEmpty ? "" : ": \(job.status.message)"))
        }
        return follower.summary
    }

    /// The summary on stderr: counts, then what was odd in the outputs, each named.
    static func report(_ c: Context, _ s: ResultsSummary, jobs: Int) {
        var line = "\(grouped(s.succeeded)) succeeded, \(grouped(s.failed)) failed"
        if !s.failedByCode.isEmpty {
            let codes = s.failedByCode.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            line += " (" + codes.map { "\($0.key): \(grouped($0.value))" }.joined(separator: ", ") + ")"
        }
        line += ", \(grouped(s.missing)) missing, of \(grouped(s.rows)) rows"
        if jobs > 1 { line += " of \(jobs) jobs" }
        c.streams.note(line)
        func named(_ items: [String], count: Int, _ what: String) {
            for item in items { c.streams.error("warning: \(what) \(item)") }
            if count > items.count { c.streams.error("warning: ... and \(grouped(count - items.count)) more") }
        }
        named(s.duplicates, count: s.duplicateCount, "duplicate custom_id")
        named(s.unknown, count: s.unknownCount, "custom_id not in the input:")
        named(s.unreadable, count: s.unreadableCount, "unreadable line")
    }

    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return n < 0 ? "-" + out : out
    }

    /// Progress bars for a run of downloads, one at a time.
    final class Bars {
        let streams: IOStreams
        var current: ProgressBar?
        init(streams: IOStreams) { self.streams = streams }

        func next(_ key: String) -> TransferProgress {
            current?.finish()
            let bar = ProgressBar(streams: streams, label: "downloading \(key)")
            current = bar
            return bar.update
        }

        func finish() { current?.finish(); current = nil }
    }
}

/// A private folder for the scratch copies of one command, removed at its end (its files also on Ctrl-C).
final class ScratchDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "batchctl-results-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CLIError.failure("cannot create a scratch folder in \(NSTemporaryDirectory()): \(String(cString: strerror(errno))) (set TMPDIR to a folder with room)")
        }
        path = String(cString: made)
    }

    func folder(for label: String) throws -> String {
        let dir = path + "/" + label
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
