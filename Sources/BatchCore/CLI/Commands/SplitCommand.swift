// dataset split: a JSONL file cut into parts under a byte and row limit, validated in the same pass, the
// parts made visible all together only when every row is valid.
import BatchClient
import BatchHTTP
import BatchJSONL
import Foundation

enum SplitCommand {
    static func split(_ c: Context, _ args: DatasetSplitArguments) throws {
        let file = c.invocation.positional(0)!
        let path = c.invocation.command.path
        guard file != "-" else { throw CLIError.usage("dataset split reads a file, not standard input", command: path) }
        var info = stat()
        guard stat(file, &info) == 0 else { throw CLIError.failure("cannot read \(file): \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw CLIError.failure("cannot read \(file): not a regular file") }
        let dir = args.outputDir ?? ((file as NSString).deletingLastPathComponent.isEmpty ? "." : (file as NSString).deletingLastPathComponent)
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw CLIError.failure("cannot create \(dir): \(error.localizedDescription)")
        }
        var base = (file as NSString).lastPathComponent
        if base.hasSuffix(".jsonl") { base = String(base.dropLast(6)) }

        let input = open(file, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw CLIError.failure("cannot read \(file): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        // Written under temporary names and renamed together at the end, so an invalid row leaves nothing.
        var staged: [(temporary: String, final: String, part: SplitPart)] = []
        defer { for s in staged { unlink(s.temporary); TemporaryFiles.shared.remove(s.temporary) } }

        let splitter = JSONLSplitter(maxBytes: args.maxBytes, maxRows: args.rows)
        let writer = PartWriter(input: input, name: file)
        // Runs before the temporary files are removed: no write may still be under way then.
        defer { writer.abandon() }
        let result: (report: ValidationReport, parts: [SplitPart])
        do {
            result = try splitter.split(path: file) { part in
                try writer.check()
                let name = "\(base).part-\(Self.number(part.number)).jsonl"
                // Beside a FILE given without a folder, the parts are named without one too.
                let besideBareFile = args.outputDir == nil && (file as NSString).deletingLastPathComponent.isEmpty
                let final = besideBareFile ? name : (dir as NSString).appendingPathComponent(name)
                let temporary = besideBareFile ? ".\(name).partial-\(getpid())" : (dir as NSString).appendingPathComponent(".\(name).partial-\(getpid())")
                TemporaryFiles.shared.add(temporary)
                staged.append((temporary, final, part))
                writer.write(offset: part.offset, length: part.length, to: temporary)
            }
            try writer.finish()
        } catch let e as SplitRowTooLarge {
            throw CLIError.failure("\(file): \(e.description) (raise --max-bytes)")
        } catch let e as DatasetReadError {
            throw CLIError.failure(e.description)
        } catch let e as FileError {
            throw CLIError.failure(FileMessages.describe(e))
        }
        var report = result.report
        report.file = file
        guard report.valid else {
            DatasetCommands.printReport(report, streams: c.streams, summaryOnStdout: false)
            throw CLIError.invalidData("\(file) is not a valid dataset (\(report.problemCount) problem\(report.problemCount == 1 ? "" : "s")); no part was written")
        }
        for s in staged {
            guard rename(s.temporary, s.final) == 0 else {
                throw CLIError.failure("cannot move a part into \(s.final): \(String(cString: strerror(errno)))")
            }
            TemporaryFiles.shared.remove(s.temporary)
        }
        AtomicFile.syncDirectory(dir)
        let parts = staged
        staged = []
        for w in report.renderedWarnings { c.streams.note("warning: \(w)") }
        c.streams.note("split \(file) (\(ResultsCommands.grouped(report.rows)) rows, \(ResultsCommands.grouped(report.bytes)) bytes) into \(parts.count) part\(parts.count == 1 ? "" : "s") of at most \(ResultsCommands.grouped(args.maxBytes)) bytes" + (args.rows.map { " and \(ResultsCommands.grouped($0)) rows" } ?? ""))
        render(c, parts.map { ($0.final, $0.part) })
    }

    /// Part numbers have four digits (more past 9999), so the parts sort in order.
    static func number(_ n: Int) -> String {
        let digits = String(n)
        return digits.count >= 4 ? digits : String(repeating: "0", count: 4 - digits.count) + digits
    }

    static func render(_ c: Context, _ parts: [(path: String, part: SplitPart)]) {
        func json(_ p: (path: String, part: SplitPart)) -> JSONValue {
            .object([("path", .string(p.path)), ("rows", .int(p.part.rows)), ("bytes", .int(p.part.length)),
                     ("firstLine", .int(p.part.firstLine))])
        }
        switch c.format {
        case .json?: c.streams.print(JSONValue.array(parts.map(json)).prettyText)
        case .jsonl?: for p in parts { c.streams.print(json(p).compactText) }
        case .table?, .wide?:
            let rows = parts.map { [$0.path, String($0.part.rows), String($0.part.length)] }
            let headers = ["PATH", "ROWS", "BYTES"]
            var w = headers.map(\.count)
            for r in rows { for (i, cell) in r.enumerated() { w[i] = max(w[i], cell.count) } }
            for r in [headers] + rows {
                c.streams.print(r.enumerated().map { i, cell in i == r.count - 1 ? cell : cell.padding(toLength: w[i] + 3, withPad: " ", startingAt: 0) }.joined())
            }
        case nil, .text?, .name?:
            for p in parts { c.streams.print(p.path) }
        }
    }

    /// Copies the parts on a thread of its own, so the disk works (and fsyncs) while the next rows are
    /// validated. `@unchecked Sendable`: `failure` is guarded by `lock`; `buffer` is touched only on `queue`.
    final class PartWriter: @unchecked Sendable {
        private let queue = DispatchQueue(label: "batchctl.split.writer")
        private let lock = NSLock()
        private var failure: Error?
        private var buffer = [UInt8](repeating: 0, count: 4 << 20)
        let input: Int32
        let name: String

        init(input: Int32, name: String) { self.input = input; self.name = name }

        private var failed: Error? { lock.lock(); defer { lock.unlock() }; return failure }

        func write(offset: Int, length: Int, to path: String) {
            queue.async { [self] in
                guard failed == nil else { return }
                do { try SplitCommand.copy(from: input, name: name, offset: offset, length: length, to: path, buffer: &buffer) } catch {
                    lock.lock(); failure = failure ?? error; lock.unlock()
                }
            }
        }

        /// Throws the first failure of a part written so far.
        func check() throws { if let failed { throw failed } }

        /// Waits until every part is written; throws the first failure.
        func finish() throws {
            queue.sync {}
            try check()
        }

        /// Waits for the writes under way, whatever they did (the caller removes the files).
        func abandon() { queue.sync {} }
    }

    /// Copies `length` bytes at `offset` of `input` into a new file at `path`, made durable (fsync), through
    /// one buffer, so memory stays flat whatever the part's size.
    static func copy(from input: Int32, name: String, offset: Int, length: Int, to path: String, buffer: inout [UInt8]) throws {
        let out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard out >= 0 else { throw FileError("create", path, errno: errno) }
        defer { close(out) }
        var done = 0
        try buffer.withUnsafeMutableBytes { raw in
            while done < length {
                let n = pread(input, raw.baseAddress!, min(raw.count, length - done), off_t(offset + done))
                if n < 0, errno == EINTR { continue }
                if n < 0 { throw FileError("read", name, errno: errno) }
                if n == 0 { throw FileError("read", name, errno: EIO) }
                try AtomicFile.writeAll(out, UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(raw)[0..<n]), path: path)
                done += n
            }
        }
        guard fsync(out) == 0 else { throw FileError("fsync", path, errno: errno) }
    }
}
