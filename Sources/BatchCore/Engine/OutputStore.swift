// The job's output files and their checkpoint: grouped fsynced appends, atomic checkpoints, crash recovery.
import Foundation
import BatchHTTP
import BatchJSONL

/// The names of the files in a job's output directory.
public enum OutputFiles {
    /// One line per successful row: the output dataset's results file.
    public static let results = "BIJOutputSet.jsonl"
    /// One line per failed row: the output dataset's error file.
    public static let errors = "error-data"
    /// The engine's own bookkeeping; not part of the output dataset (do not list or serve it).
    public static let checkpoint = ".batchctl-checkpoint.json"
}

/// The counters durable in an output directory's checkpoint (nil when the job never committed a row), for
/// showing a job's progress without running it. `totalInputRequests` is not stored there and reads 0.
public func checkpointedCounters(inOutputDirectory directory: String) throws -> JobCounters? {
    try OutputStore.Checkpoint.read(path: directory + "/" + OutputFiles.checkpoint)?.counters
}

/// The durable lengths of the results and error files in an output directory (nil when the job never
/// committed a row): the bytes past them may be cut and run again after a crash, so readers stop there.
public func checkpointedLengths(inOutputDirectory directory: String) throws -> (results: UInt64, errors: UInt64)? {
    try OutputStore.Checkpoint.read(path: directory + "/" + OutputFiles.checkpoint).map { ($0.resultsBytes, $0.errorsBytes) }
}

/// Owns `BIJOutputSet.jsonl`, `error-data` and `.batchctl-checkpoint.json` in one output directory.
///
/// The checkpoint is the truth: it records how many bytes of each output file are durable, and the counters
/// that go with exactly those bytes. It is only replaced (temp file, fsync, rename, directory fsync) after
/// the bytes it names were fsynced. Whatever lies past the checkpointed lengths after a crash (a torn line,
/// rows written but never checkpointed) is cut off on resume, and those rows run again, so every row ends
/// up in the files exactly once.
final class OutputStore {
    static let resultsFileName = OutputFiles.results
    static let errorsFileName = OutputFiles.errors
    static let checkpointFileName = OutputFiles.checkpoint

    let directory: String
    var resultsPath: String { directory + "/" + Self.resultsFileName }
    var errorsPath: String { directory + "/" + Self.errorsFileName }
    var checkpointPath: String { directory + "/" + Self.checkpointFileName }

    private var resultsFD: Int32 = -1, errorsFD: Int32 = -1, directoryFD: Int32 = -1
    private(set) var checkpoint = Checkpoint()

    struct Checkpoint: Equatable {
        var resultsBytes: UInt64 = 0
        var errorsBytes: UInt64 = 0
        var counters = JobCounters()

        var json: JSONValue {
            .object([
                ("version", .int(1)),
                ("resultsBytes", .int(resultsBytes)),
                ("errorsBytes", .int(errorsBytes)),
                ("successfullyProcessedRequests", .int(counters.successfullyProcessedRequests)),
                ("failedRequests", .int(counters.failedRequests)),
                ("outputRows", .int(counters.outputRows)),
                ("inputTokens", .int(counters.inputTokens)),
                ("outputTokens", .int(counters.outputTokens)),
                ("cachedInputTokenCount", .int(counters.cachedInputTokenCount)),
            ])
        }

        init() {}

        init(json: JSONValue, path: String) throws {
            func number(_ key: String) throws -> Int64 {
                guard let v = json[key]?.int64Value, v >= 0 else {
                    throw EngineError.damagedCheckpoint(path: path, reason: "missing or bad \"\(key)\"")
                }
                return v
            }
            guard try number("version") == 1 else { throw EngineError.damagedCheckpoint(path: path, reason: "unknown version") }
            resultsBytes = UInt64(try number("resultsBytes"))
            errorsBytes = UInt64(try number("errorsBytes"))
            counters.successfullyProcessedRequests = Int(try number("successfullyProcessedRequests"))
            counters.failedRequests = Int(try number("failedRequests"))
            counters.outputRows = Int(try number("outputRows"))
            counters.inputTokens = Int(try number("inputTokens"))
            counters.outputTokens = Int(try number("outputTokens"))
            counters.cachedInputTokenCount = Int(try number("cachedInputTokenCount"))
        }

        static func read(path: String) throws -> Checkpoint? {
            guard let data = FileManager.default.contents(atPath: path) else {
                if FileManager.default.fileExists(atPath: path) { throw EngineError.io(path: path, operation: "read", errno: EIO) }
                return nil
            }
            let json: JSONValue
            do { json = try JSONValue(parsing: [UInt8](data)) } catch {
                throw EngineError.damagedCheckpoint(path: path, reason: "\(error)")
            }
            return try Checkpoint(json: json, path: path)
        }
    }

    init(directory: String) throws {
        self.directory = directory
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw EngineError.io(path: directory, operation: "mkdir", errno: EACCES)
        }
        directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { throw EngineError.io(path: directory, operation: "open", errno: errno) }
        // A directory just made must survive a power cut too, or its checkpointed files vanish with it.
        let parent = open((directory as NSString).deletingLastPathComponent.isEmpty ? "." : (directory as NSString).deletingLastPathComponent,
                          O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if parent >= 0 { _ = fsync(parent); close(parent) }
        resultsFD = try Self.openForAppend(resultsPath)
        errorsFD = try Self.openForAppend(errorsPath)
    }

    deinit {
        for fd in [resultsFD, errorsFD, directoryFD] where fd >= 0 { close(fd) }
    }

    private static func openForAppend(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw EngineError.io(path: path, operation: "open", errno: errno) }
        return fd
    }

    /// Cuts both files back to the checkpoint and returns the rows they hold (custom_ids, plus a line key for
    /// rows that failed before they had one) with the checkpointed counters.
    func recover() throws -> (finished: CustomIDSet, counters: JobCounters) {
        checkpoint = try Checkpoint.read(path: checkpointPath) ?? Checkpoint()
        for (fd, path, length) in [(resultsFD, resultsPath, checkpoint.resultsBytes), (errorsFD, errorsPath, checkpoint.errorsBytes)] {
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw EngineError.io(path: path, operation: "stat", errno: errno) }
            let size = UInt64(info.st_size)
            if size < length { throw EngineError.outputShorterThanCheckpoint(path: path, size: size, checkpointed: length) }
            if size > length {
                guard ftruncate(fd, off_t(length)) == 0 else { throw EngineError.io(path: path, operation: "truncate", errno: errno) }
                guard fsync(fd) == 0 else { throw EngineError.io(path: path, operation: "fsync", errno: errno) }
            }
        }
        var finished = CustomIDSet()
        finished.reserveCapacity(checkpoint.counters.totalProcessedRequests)
        for (path, length) in [(resultsPath, checkpoint.resultsBytes), (errorsPath, checkpoint.errorsBytes)] where length > 0 {
            try Self.forEachFinishedRow(path: path, maxBytes: length) { finished.insert($0) }
        }
        return (finished, checkpoint.counters)
    }

    /// The key under which a row without a usable custom_id is remembered, by its input line number.
    static func lineKey(_ line: Int) -> String { "\u{0}line:\(line)" }

    /// Calls `body` with the custom_id (or line key) of each line of an output file.
    static func forEachFinishedRow(path: String, maxBytes: UInt64?, _ body: (String) -> Void) throws {
        let prefix = Array(#"{"custom_id":""#.utf8)
        try forEachInputLine(path: path, maxBytes: maxBytes) { _, item in
            guard case let .line(line) = item else { return true }
            // Our own lines start with the id; take it without building the tree when it has no escapes.
            if line.count > prefix.count, line.starts(with: prefix) {
                var i = prefix.count
                while i < line.count, line[i] != UInt8(ascii: "\""), line[i] != UInt8(ascii: "\\") { i += 1 }
                if i < line.count, line[i] == UInt8(ascii: "\"") {
                    body(String(decoding: UnsafeBufferPointer(rebasing: line[prefix.count..<i]), as: UTF8.self))
                    return true
                }
            }
            guard let json = try? JSONValue(parsing: Array(line)) else { return true }
            if let id = json["custom_id"]?.stringValue { body(id) } else if let n = json["line"]?.int64Value { body(lineKey(Int(n))) }
            return true
        }
    }

    /// Appends both groups of lines, makes them durable, then checkpoints them with the counters they add.
    func commit(results: [UInt8], errors: [UInt8], delta: JobCounters) throws {
        if results.isEmpty && errors.isEmpty { return }
        // After a failed write the files may hold bytes the checkpoint does not know; appending more would
        // make the next checkpoint point into the middle of them.
        if let failure = broken { throw failure }
        do { try append(results: results, errors: errors, delta: delta) } catch {
            broken = error
            // Cut what this commit wrote back off (truncating needs no space on a full disk), so that the files
            // hold what the checkpoint says even when no checkpoint was ever written: whoever reads them as
            // they are (an ended job's output dataset) finds no row twice.
            _ = ftruncate(resultsFD, off_t(checkpoint.resultsBytes))
            _ = ftruncate(errorsFD, off_t(checkpoint.errorsBytes))
            throw error
        }
    }

    private var broken: Error?

    private func append(results: [UInt8], errors: [UInt8], delta: JobCounters) throws {
        var next = checkpoint
        if !results.isEmpty {
            try Self.writeAll(resultsFD, results, path: resultsPath)
            guard fdatasync(resultsFD) == 0 else { throw EngineError.io(path: resultsPath, operation: "fsync", errno: errno) }
            next.resultsBytes += UInt64(results.count)
        }
        if !errors.isEmpty {
            try Self.writeAll(errorsFD, errors, path: errorsPath)
            guard fdatasync(errorsFD) == 0 else { throw EngineError.io(path: errorsPath, operation: "fsync", errno: errno) }
            next.errorsBytes += UInt64(errors.count)
        }
        next.counters.add(delta)
        try writeCheckpoint(next)
        checkpoint = next
    }

    private func writeCheckpoint(_ value: Checkpoint) throws {
        var bytes = value.json.serialized()
        bytes.append(0x0A)
        do { try AtomicFile.write(bytes, to: checkpointPath) } catch let e as FileError {
            throw EngineError.io(path: e.path, operation: e.operation, errno: e.errno)
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        do { try AtomicFile.writeAll(fd, bytes, path: path) } catch let e as FileError {
            throw EngineError.io(path: path, operation: e.operation, errno: e.errno)
        }
    }
}
