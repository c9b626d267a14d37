// dataset create, upload, get, list, delete, download and validate.
import BatchAPI
import BatchClient
import BatchJSONL
import Foundation

enum DatasetCommands {
    /// Files above this go through the signed-URL path (gateway-api.md: `:upload` takes up to 150 MB).
    static func directUploadLimit(_ c: Context) -> Int64 {
        c.environment["BATCHCTL_DIRECT_UPLOAD_LIMIT"].flatMap(Int64.init) ?? 150 * 1_000_000
    }

    // MARK: validate

    static func validate(_ c: Context) throws {
        let path = c.invocation.positional(0)!
        let report = try runValidator(path: path, streams: c.streams)
        if c.format == .json || c.format == .jsonl {
            c.streams.print(c.format == .json ? report.json.prettyText : report.json.compactText)
        } else {
            printReport(report, streams: c.streams)
        }
        if !report.valid { throw CLIError.silent(ExitStatus.invalidData) }
    }

    static func runValidator(path: String, streams: IOStreams) throws -> ValidationReport {
        let validator = DatasetValidator()
        do {
            if path == "-" { return try validator.validate(fileDescriptor: 0, displayName: "<stdin>") }
            return try validator.validate(path: path)
        } catch {
            throw CLIError.failure(error.description)
        }
    }

    /// Problems and warnings on stderr, the summary on stdout.
    static func printReport(_ report: ValidationReport, streams: IOStreams) {
        for line in report.renderedProblems { streams.error(line) }
        if report.problemCount > report.problems.count {
            streams.error("... and \(report.problemCount - report.problems.count) more problems")
        }
        for line in report.renderedWarnings { streams.error("warning: \(line)") }
        if report.warningCount > report.warnings.count {
            streams.error("... and \(report.warningCount - report.warnings.count) more warnings")
        }
        streams.print(report.summary)
    }

    // MARK: create / upload

    static func create(_ c: Context, _ args: DatasetCreateArguments) throws {
        let id = c.invocation.positional(0)!
        if let problem = ResourceID.problem(id) { throw CLIError.usage("invalid dataset id '\(id)': \(problem)", command: "dataset create") }
        let file = c.invocation.positional(1)
        _ = try createDataset(c, id: id, file: file, displayName: args.displayName, format: args.format,
                              validate: args.validate, render: true)
    }

    /// Creates dataset `id` (from `file` when given): validate, create, upload, wait for READY.
    static func createDataset(_ c: Context, id: String, file: String?, displayName: String?, format: DatasetFileFormat?,
                              validate: Bool, render: Bool) throws -> ResourceName {
        var staged: StagedFile?
        if let file { staged = try stage(c, file: file, validate: validate) }
        defer { if let staged, staged.isTemporaryCopy { unlink(staged.path); TemporaryFiles.shared.remove(staged.path) } }
        let client = try c.client()
        let name = ResourceName(account: try c.account(), kind: .dataset, id: id)
        var dataset = Dataset()
        dataset.displayName = displayName ?? ""
        if let staged {
            dataset.source = ("userUploaded", .object([]))
            dataset.exampleCount = Int64(staged.rows)
            dataset.format = format.map { DatasetFormat(name: $0.wireName) } ?? staged.format
        } else {
            // An empty dataset to upload into later: the gateway still wants an example count.
            dataset.source = ("userUploaded", .object([]))
            if let format { dataset.format = DatasetFormat(name: format.wireName) }
        }
        var body: [(String, JSONValue)] = []
        if !dataset.displayName.isEmpty { body.append(("displayName", .string(dataset.displayName))) }
        if let source = dataset.source { body.append(source) }
        body.append(("exampleCount", .string(String(dataset.exampleCount))))
        if dataset.format != .unspecified { body.append(("format", .string(dataset.format.rawValue))) }
        let created: JSONValue?
        do {
            created = try client.send(Endpoints.createDataset(account: name.account, id: id, dataset: .object(body)))
        } catch let e as GatewayError where e.httpStatus == 409 && staged != nil {
            // An earlier run of this command was stopped between the create and the end of its upload: the
            // dataset is still UPLOADING, so this run uploads into it instead of failing.
            guard let existing = try client.send(Endpoints.getDataset(name)),
                  existing["state"]?.stringValue == DatasetState.uploading.rawValue else { throw e }
            c.streams.note("\(name) exists and is still UPLOADING (an earlier upload was interrupted); uploading into it")
            try client.send(Endpoints.updateDataset(name, fields: .object([("exampleCount", .string(String(dataset.exampleCount)))])))
            created = existing
        }
        if let staged {
            try upload(c, name: name, staged: staged)
        }
        if render, let created {
            let final = staged == nil || c.dryRun ? created : try client.send(Endpoints.getDataset(name)) ?? created
            c.render([final], kind: .dataset, isList: false)
        }
        return name
    }

    static func upload(_ c: Context, _ args: DatasetUploadArguments) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .dataset, what: "dataset")
        let staged = try stage(c, file: c.invocation.positional(1)!, validate: args.validate)
        defer { if staged.isTemporaryCopy { unlink(staged.path); TemporaryFiles.shared.remove(staged.path) } }
        try c.client().send(Endpoints.updateDataset(name, fields: .object([
            ("exampleCount", .string(String(staged.rows))), ("format", .string(staged.format.rawValue))])))
        try upload(c, name: name, staged: staged)
        if let final = try c.client().send(Endpoints.getDataset(name)) { c.render([final], kind: .dataset, isList: false) }
    }

    /// A local file ready to upload: its path (stdin copied to a temporary file), rows and format.
    struct StagedFile {
        var path: String
        var fileName: String
        var size: Int64
        var rows: Int
        var format: DatasetFormat
        /// A copy of stdin in $TMPDIR, removed once uploaded (or on a signal).
        var isTemporaryCopy = false
    }

    static func stage(_ c: Context, file: String, validate: Bool) throws -> StagedFile {
        var path = file
        var fileName = (file as NSString).lastPathComponent
        if file == "-" {
            path = NSTemporaryDirectory() + "batchctl-stdin-\(getpid()).jsonl"
            TemporaryFiles.shared.add(path)
            try StreamCopy.write(parts: [.file("/dev/stdin")], to: path)
            fileName = "input.jsonl"
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw CLIError.failure("cannot read \(file): \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw CLIError.failure("cannot read \(file): not a regular file") }
        if validate {
            var report = try runValidator(path: path, streams: c.streams)
            report.file = file
            if !report.valid {
                printReport(report, streams: c.streams)
                throw CLIError.invalidData("\(file) is not a valid dataset (\(report.problemCount) problem\(report.problemCount == 1 ? "" : "s")); nothing was sent")
            }
            for w in report.renderedWarnings { c.streams.note("warning: \(w)") }
            c.streams.note("validated \(file): \(report.summary)")
            return StagedFile(path: path, fileName: fileName, size: Int64(info.st_size), rows: report.rows,
                              format: report.format == .completion ? .completion : .chat, isTemporaryCopy: file == "-")
        }
        // Without validation the example count still has to be right: count non-blank lines.
        let rows = try countRows(path: path)
        return StagedFile(path: path, fileName: fileName, size: Int64(info.st_size), rows: rows, format: .chat, isTemporaryCopy: file == "-")
    }

    static func countRows(path: String) throws -> Int {
        do {
            let reader = try JSONLLineReader(path: path)
            var rows = 0
            try reader.forEachLine { _ in rows += 1 }
            return rows
        } catch {
            throw CLIError.failure("cannot read \(path): \(error)")
        }
    }

    /// Uploads directly (multipart) up to the limit, through a signed URL above it; then waits for READY.
    static func upload(_ c: Context, name: ResourceName, staged: StagedFile) throws {
        let client = try c.client()
        let bar = ProgressBar(streams: c.streams, label: "uploading \(staged.fileName)")
        if staged.size <= directUploadLimit(c) {
            _ = try client.uploadMultipart(dataset: name, filePath: staged.path, fileName: staged.fileName, progress: bar.update)
        } else {
            let answer = try client.send(Endpoints.getUploadEndpoint(name, files: [(staged.fileName, staged.size)]))
            if c.dryRun {
                try client.putSignedURL("<signed upload URL>", filePath: staged.path, progress: bar.update)
            } else {
                guard let url = answer?["filenameToSignedUrls"]?[staged.fileName]?.stringValue else {
                    throw CLIError.failure("the gateway gave no upload URL for \(staged.fileName)")
                }
                try client.putSignedURL(url, filePath: staged.path, progress: bar.update)
            }
            try client.send(Endpoints.validateUpload(name))
        }
        bar.finish()
        if c.dryRun { return }
        try waitForReady(c, name: name)
    }

    static func waitForReady(_ c: Context, name: ResourceName) throws {
        let client = try c.client()
        let deadline = Date().addingTimeInterval(600)
        var delay = 0.1
        while true {
            guard let d = try client.send(Endpoints.getDataset(name)) else { return }
            if d["state"]?.stringValue == DatasetState.ready.rawValue { return }
            if Date() > deadline { throw CLIError.failure("\(name) is not READY after 10 minutes (state \(d["state"]?.stringValue ?? "?"))") }
            Thread.sleep(forTimeInterval: delay)
            delay = min(delay * 2, 2)
        }
    }

    // MARK: get / list / delete

    static func get(_ c: Context) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .dataset, what: "dataset")
        if let d = try c.client().send(Endpoints.getDataset(name)) { c.render([d], kind: .dataset, isList: false) }
    }

    static func list(_ c: Context, _ args: ListArguments) throws {
        let account = try c.account()
        let items = try Listing.all(c, args, itemsKey: "datasets") { Endpoints.listDatasets(account: account, query: $0) }
        if let items { Listing.output(c, items, kind: .dataset) }
    }

    static func delete(_ c: Context, _ args: DeleteArguments) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .dataset, what: "dataset")
        let client = try c.client()
        guard try client.send(Endpoints.deleteDataset(name)) != nil else { return }
        if args.wait { try Listing.waitUntilGone(c, Endpoints.getDataset(name)) }
        c.streams.note("deleted \(name)")
    }

    // MARK: download

    static func download(_ c: Context, _ args: DatasetDownloadArguments) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .dataset, what: "dataset")
        let paths = try downloadDataset(c, name: name, into: args.outputDir, lineage: args.lineage)
        for p in paths { c.streams.print(p) }
    }

    /// Downloads every file of the dataset (and its lineage) into `dir`; returns the written paths.
    static func downloadDataset(_ c: Context, name: ResourceName, into dir: String, lineage: Bool) throws -> [String] {
        let client = try c.client()
        guard var urls = try signedDownloadURLs(client, name: name, lineage: lineage) else { return [] }
        var written: [String] = []
        var refreshed = false
        for key in urls.keys.sorted() {
            let destination = try safeDestination(dir: dir, key: key)
            try FileManager.default.createDirectory(atPath: (destination as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            let temporary = (destination as NSString).deletingLastPathComponent + "/.\((destination as NSString).lastPathComponent).partial-\(getpid())"
            TemporaryFiles.shared.add(temporary)
            defer { unlink(temporary); TemporaryFiles.shared.remove(temporary) }
            let bar = ProgressBar(streams: c.streams, label: "downloading \(key)")
            do {
                _ = try client.download(urls[key]!, to: temporary, progress: bar.update)
            } catch let e as GatewayError where !refreshed && [400, 401, 403, 404, 410].contains(e.httpStatus) {
                // Signed URLs live about ten minutes: ask for fresh ones once, then try again.
                refreshed = true
                c.streams.note("download URL for \(key) was refused (\(e.httpStatus)); asking for fresh URLs")
                guard let fresh = try signedDownloadURLs(client, name: name, lineage: lineage), let url = fresh[key] else { throw e }
                urls = fresh
                _ = try client.download(url, to: temporary, progress: bar.update)
            }
            bar.finish()
            guard rename(temporary, destination) == 0 else {
                throw CLIError.failure("cannot move the download into \(destination): \(String(cString: strerror(errno)))")
            }
            written.append(destination)
        }
        return written
    }

    static func signedDownloadURLs(_ client: GatewayClient, name: ResourceName, lineage: Bool) throws -> [String: String]? {
        guard let answer = try client.send(Endpoints.getDownloadEndpoint(name, lineage: lineage)) else { return nil }
        var urls: [String: String] = [:]
        for (key, value) in answer["filenameToSignedUrls"]?.objectValue ?? [] {
            if let url = value.stringValue { urls[key] = url }
        }
        return urls
    }

    /// `DIR/<key>` when the key is a plain relative path; refuses keys that would escape DIR.
    static func safeDestination(dir: String, key: String) throws -> String {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !key.hasPrefix("/"), !parts.isEmpty,
              parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.contains("\0") && !$0.contains("\\") }) else {
            throw CLIError.failure("the gateway sent an unsafe file name '\(key)'; refusing to write it")
        }
        return (dir.hasSuffix("/") ? dir : dir + "/") + key
    }
}
