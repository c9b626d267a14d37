// dataset create, upload, get, update, list, delete, download and validate.
import BatchAPI
import BatchClient
import BatchJSONL
import Foundation

enum DatasetCommands {
    /// Files above this go through the signed-URL path (gateway-api.md: `:upload` takes up to 150 MB).
    static func directUploadLimit(_ c: Context) -> Int64 {
        c.environment["BATCHCTL_DIRECT_UPLOAD_LIMIT"].flatMap(Int64.init) ?? 150 * 1_000_000
    }

    /// Fireworks' input limit (the batch guide: the input dataset must be under 1 GB).
    static let fireworksInputLimit: Int64 = 1_000_000_000

    // MARK: validate

    static func validate(_ c: Context, _ args: DatasetValidateArguments) throws {
        let path = c.invocation.positional(0)!
        if path != "-" { try checkInputLimit(c, file: path, size: try fileSize(path)) }
        let report = try runValidator(path: path, expected: args.format)
        // Standard input has no size until it has been read.
        if path == "-" { try checkInputLimit(c, file: "<stdin>", size: Int64(report.bytes)) }
        if c.format == .json || c.format == .jsonl {
            c.streams.print(c.format == .json ? report.json.prettyText : report.json.compactText)
            for line in report.renderedProblems { c.streams.error(line) }
        } else {
            printReport(report, streams: c.streams, summaryOnStdout: true)
        }
        if !report.valid { throw CLIError.silent(ExitStatus.invalidData) }
    }

    static func runValidator(path: String, expected: DatasetFileFormat?) throws -> ValidationReport {
        var options = DatasetValidator.Options()
        options.expectedFormat = expected.map { DatasetFormat(name: $0.wireName) }
        let validator = DatasetValidator(options)
        do {
            if path == "-" { return try validator.validate(fileDescriptor: 0, displayName: "<stdin>") }
            return try validator.validate(path: path)
        } catch {
            throw CLIError.failure(error.description)
        }
    }

    /// Problems and warnings on stderr; the summary on stdout for `validate` (it is that command's data) and
    /// on stderr elsewhere, where stdout is kept for the resource the command makes.
    static func printReport(_ report: ValidationReport, streams: IOStreams, summaryOnStdout: Bool) {
        for line in report.renderedProblems { streams.error(line) }
        if report.problemCount > report.problems.count {
            streams.error("... and \(report.problemCount - report.problems.count) more problems")
        }
        for line in report.renderedWarnings { streams.error("warning: \(line)") }
        if report.warningCount > report.warnings.count {
            streams.error("... and \(report.warningCount - report.warnings.count) more warnings")
        }
        if summaryOnStdout { streams.print(report.summary) } else { streams.error(report.summary) }
    }

    /// Against Fireworks, a file over its 1 GB input limit is refused before anything is sent.
    static func checkInputLimit(_ c: Context, file: String, size: Int64) throws {
        // `validate` works without a usable profile; it then checks as for the default gateway, Fireworks.
        let fireworks = (try? c.settings())?.isFireworks ?? true
        guard fireworks, size > fireworksInputLimit else { return }
        let base = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        throw CLIError.invalidData("""
            \(file) is \(ProgressBar.bytes(size)), over Fireworks' input limit of 1 GB per dataset; nothing was sent.
            Split it into parts of whole lines and run a job on each, e.g.: split -C 900M -d --additional-suffix=.jsonl \(Follow.shellQuoted(file)) \(Follow.shellQuoted(base))-part-
            """)
    }

    static func fileSize(_ path: String) throws -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw CLIError.failure(FileSystem.message("read", path, errno: errno)) }
        return Int64(info.st_size)
    }

    // MARK: create / upload

    static func create(_ c: Context, _ args: DatasetCreateArguments) throws {
        let id = c.invocation.positional(0)!
        if let problem = ResourceID.problem(id) { throw CLIError.usage("invalid dataset id '\(id)': \(problem)", command: "dataset create") }
        if let url = args.externalURL {
            try createExternal(c, id: id, url: url, args)
            return
        }
        var staged: StagedFile?
        if let file = c.invocation.positional(1) { staged = try stage(c, file: file, validate: args.validate, format: args.format) }
        _ = try createDataset(c, id: id, staged: staged, displayName: args.displayName, format: args.format, render: true)
    }

    /// firectl's dataset from storage: Fireworks reads `externalUrl` itself; nothing is uploaded.
    static func createExternal(_ c: Context, id: String, url: String, _ args: DatasetCreateArguments) throws {
        let client = try c.client()
        let account = try c.account()
        var body: [(String, JSONValue)] = []
        if let name = args.displayName { body.append(("displayName", .string(name))) }
        body.append(("externalUrl", .string(url)))
        if let format = args.format { body.append(("format", .string(format.wireName))) }
        guard let created = try client.send(Endpoints.createDataset(account: account, id: id, dataset: .object(body))) else { return }
        c.render([created], kind: .dataset, isList: false)
    }

    /// Creates dataset `id` (from `staged` when given): create, upload, wait for READY.
    static func createDataset(_ c: Context, id: String, staged: StagedFile?, displayName: String?, format: DatasetFileFormat?,
                              render: Bool) throws -> ResourceName {
        defer { if let staged, staged.isTemporaryCopy { unlink(staged.path); TemporaryFiles.shared.remove(staged.path) } }
        let client = try c.client()
        let name = ResourceName(account: try c.account(), kind: .dataset, id: id)
        var body: [(String, JSONValue)] = []
        if let displayName, !displayName.isEmpty { body.append(("displayName", .string(displayName))) }
        // An empty dataset to upload into later still needs an example count for the gateway.
        body.append(("userUploaded", .object([])))
        body.append(("exampleCount", .string(String(staged?.rows ?? 0))))
        let wireFormat = format.map { DatasetFormat(name: $0.wireName) } ?? staged?.format
        if let wireFormat, wireFormat != .unspecified { body.append(("format", .string(wireFormat.rawValue))) }
        let created: JSONValue?
        do {
            created = try client.send(Endpoints.createDataset(account: name.account, id: id, dataset: .object(body)))
        } catch let e as GatewayError where e.httpStatus == 409 && staged != nil {
            // An earlier run of this command was stopped between the create and the end of its upload: the
            // dataset is still UPLOADING, so this run uploads into it instead of failing.
            guard let existing = try client.send(Endpoints.getDataset(name)),
                  existing["state"]?.stringValue == DatasetState.uploading.rawValue else { throw e }
            c.streams.note("\(name) exists and is still UPLOADING (an earlier upload was interrupted); uploading into it")
            try client.send(Endpoints.updateDataset(name, fields: .object([("exampleCount", .string(String(staged?.rows ?? 0)))])))
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
        if !c.dryRun, !args.force, let current = try c.client().send(Endpoints.getDataset(name)),
           current["state"]?.stringValue == DatasetState.ready.rawValue {
            let rows = current["exampleCount"]?.int64Value.map { " with \($0) example\($0 == 1 ? "" : "s")" } ?? ""
            throw CLIError.conflict("dataset \(name.id) is READY\(rows); uploading would replace its file (and jobs that read it would no longer match it). Add --force to replace it, or create a new dataset (batchctl dataset create NEW-ID FILE)")
        }
        let staged = try stage(c, file: c.invocation.positional(1)!, validate: args.validate, format: nil)
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

    /// Checks the file (size against Fireworks' limit, then every row) before anything is sent.
    static func stage(_ c: Context, file: String, validate: Bool, format: DatasetFileFormat?) throws -> StagedFile {
        var path = file
        var fileName = (file as NSString).lastPathComponent
        if file == "-" {
            path = NSTemporaryDirectory() + "batchctl-stdin-\(getpid()).jsonl"
            TemporaryFiles.shared.add(path)
            try StreamCopy.write(parts: [.file("/dev/stdin")], to: path)
            fileName = "input.jsonl"
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw CLIError.failure(FileSystem.message("read", file, errno: errno)) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CLIError.failure("cannot read \(file): \((info.st_mode & S_IFMT) == S_IFDIR ? "it is a directory" : "it is not a regular file"); give a JSONL file")
        }
        try checkInputLimit(c, file: file, size: Int64(info.st_size))
        if validate {
            var report = try runValidator(path: path, expected: format)
            report.file = file
            if !report.valid {
                printReport(report, streams: c.streams, summaryOnStdout: false)
                throw CLIError.invalidData("\(file) is not a valid dataset (\(report.problemCount) problem\(report.problemCount == 1 ? "" : "s")); nothing was sent")
            }
            for w in report.renderedWarnings { c.streams.note("warning: \(w)") }
            c.streams.note("validated \(report.summary)")
            return StagedFile(path: path, fileName: fileName, size: Int64(info.st_size), rows: report.rows,
                              format: report.format == .completion ? .completion : .chat, isTemporaryCopy: file == "-")
        }
        // Without validation the example count still has to be right: count non-blank lines.
        let rows = try countRows(path: path)
        return StagedFile(path: path, fileName: fileName, size: Int64(info.st_size), rows: rows,
                          format: format.map { DatasetFormat(name: $0.wireName) } ?? .chat, isTemporaryCopy: file == "-")
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
            func signedUploadURL() throws -> String {
                let answer = try client.send(Endpoints.getUploadEndpoint(name, files: [(staged.fileName, staged.size)]))
                if c.dryRun { return "<signed upload URL>" }
                guard let url = answer?["filenameToSignedUrls"]?[staged.fileName]?.stringValue else {
                    throw CLIError.failure("the gateway gave no upload URL for \(staged.fileName)")
                }
                return url
            }
            do {
                try client.putSignedURL(try signedUploadURL(), filePath: staged.path, progress: bar.update)
            } catch let e as GatewayError where [400, 403, 412].contains(e.httpStatus) {
                // An upload URL expires, and writes its file once: when a retried PUT finds it used (its first try
                // went through but the answer was lost) or it has expired, a fresh URL is asked for, once.
                c.streams.note("upload URL for \(staged.fileName) was refused (\(e.httpStatus)); asking for a fresh one")
                try client.putSignedURL(try signedUploadURL(), filePath: staged.path, progress: bar.update)
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

    // MARK: get / update / list / delete

    static func get(_ c: Context) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .dataset, what: "dataset")
        if let d = try c.client().send(Endpoints.getDataset(name)) { c.render([d], kind: .dataset, isList: false) }
    }

    static func update(_ c: Context, _ args: DatasetUpdateArguments) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .dataset, what: "dataset")
        let fields = JSONValue.object([("displayName", .string(args.displayName))])
        if let d = try c.client().send(Endpoints.updateDataset(name, fields: fields)) { c.render([d], kind: .dataset, isList: false) }
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
        if args.wait { try Listing.waitUntilGone(c, Endpoints.getDataset(name), name: name, timeout: DurationText.seconds(args.waitTimeout)) }
        Listing.printDeleted(c, name, waited: args.wait)
    }

    // MARK: download

    static func download(_ c: Context, _ args: DatasetDownloadArguments) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .dataset, what: "dataset")
        let result = try downloadDataset(c, name: name, into: args.outputDir, lineage: args.lineage)
        c.output(list: result.files.map(\.json), text: result.files.map(\.path).joined(separator: "\n"))
        if !result.lineageWarnings.isEmpty {
            for w in result.lineageWarnings { c.streams.error("warning: \(w)") }
            throw CLIError.failure("the lineage of \(name.id) is incomplete: \(result.lineageWarnings.count) link\(result.lineageWarnings.count == 1 ? "" : "s") could not be followed; downloaded what could be found")
        }
    }

    /// A file a download wrote.
    struct DownloadedFile {
        var path: String
        /// `dataset/<id>/<file>`, as the gateway named it.
        var key: String
        var bytes: Int64

        var json: JSONValue {
            let parts = key.split(separator: "/")
            return .object([("path", .string(path)), ("bytes", .int(bytes)),
                            ("dataset", .string(parts.count >= 2 ? String(parts[1]) : "")),
                            ("file", .string(parts.last.map(String.init) ?? key))])
        }
    }

    struct DownloadResult {
        var files: [DownloadedFile] = []
        /// Links of the continuation chain that could not be followed (with --download-lineage).
        var lineageWarnings: [String] = []
    }

    /// Downloads every file of the dataset (and its lineage) into `dir`.
    static func downloadDataset(_ c: Context, name: ResourceName, into dir: String, lineage: Bool) throws -> DownloadResult {
        let client = try c.client()
        guard let answer = try signedDownloadURLs(client, name: name, lineage: lineage) else { return DownloadResult() }
        var result = DownloadResult()
        if lineage {
            result.lineageWarnings = answer.warnings
            if !answer.fromBatchctl { result.lineageWarnings += Lineage.check(c, name: name, keys: Array(answer.urls.keys)) }
        }
        var urls = answer.urls
        var refreshed = false
        for key in urls.keys.sorted() {
            let destination = try safeDestination(dir: dir, key: key)
            try FileSystem.makeDirectories((destination as NSString).deletingLastPathComponent, flag: "--output-dir")
            let temporary = (destination as NSString).deletingLastPathComponent + "/.\((destination as NSString).lastPathComponent).partial-\(getpid())"
            TemporaryFiles.shared.add(temporary)
            defer { unlink(temporary); TemporaryFiles.shared.remove(temporary) }
            let bar = ProgressBar(streams: c.streams, label: "downloading \(key)")
            var bytes: Int64
            do {
                bytes = try client.download(urls[key]!, to: temporary, progress: bar.update)
            } catch let e as GatewayError where !refreshed && [400, 401, 403, 404, 410].contains(e.httpStatus) {
                // Signed URLs live about ten minutes: ask for fresh ones once, then try again.
                refreshed = true
                c.streams.note("download URL for \(key) was refused (\(e.httpStatus)); asking for fresh URLs")
                guard let fresh = try signedDownloadURLs(client, name: name, lineage: lineage), let url = fresh.urls[key] else { throw e }
                urls = fresh.urls
                bytes = try client.download(url, to: temporary, progress: bar.update)
            }
            bar.finish()
            guard rename(temporary, destination) == 0 else {
                throw CLIError.failure(FileSystem.message("move the download into", destination, errno: errno))
            }
            result.files.append(DownloadedFile(path: destination, key: key, bytes: bytes))
        }
        return result
    }

    struct DownloadEndpoint {
        var urls: [String: String]
        /// What the gateway said about links of the lineage it could not follow.
        var warnings: [String]
        /// A batchctl gateway answered (it follows the lineage itself and says what it could not).
        var fromBatchctl: Bool
    }

    static func signedDownloadURLs(_ client: GatewayClient, name: ResourceName, lineage: Bool) throws -> DownloadEndpoint? {
        let request = Endpoints.getDownloadEndpoint(name, lineage: lineage)
        guard let response = try client.sendRaw(request) else { return nil }
        guard let answer = try? JSONValue(parsing: response.body) else {
            throw ClientError("the gateway answered GET \(request.path) with something that is not JSON")
        }
        var urls: [String: String] = [:]
        for (key, value) in answer["filenameToSignedUrls"]?.objectValue ?? [] {
            if let url = value.stringValue { urls[key] = url }
        }
        let warnings = (response.headers[BatchctlHeaders.lineageWarning] ?? "").split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let fromBatchctl = response.headers["Server"]?.hasPrefix(BatchctlHeaders.serverPrefix) ?? false
        return DownloadEndpoint(urls: urls, warnings: warnings, fromBatchctl: fromBatchctl)
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
