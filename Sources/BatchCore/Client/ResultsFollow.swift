// ResultsFollower: a running job's rows as they are checkpointed, in completion order, read with Range
// requests from the growing output files through the same signed download URLs.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

/// Follows one job until it ends. Each poll reads the job, asks for its output dataset's download URLs, and
/// reads each file from where the last poll stopped (`Range: bytes=N-`, in chunks); complete lines become
/// rows, a torn last line waits for the next poll. A gateway that publishes output files only when the job
/// ends (Fireworks) simply shows no files until then: the follower says so once and keeps waiting.
public final class ResultsFollower {
    public struct Options: Sendable {
        /// Seconds between polls while rows arrive; doubled while nothing does, up to `maxInterval`.
        public var interval: Double = 1
        public var maxInterval: Double = 5
        /// Bytes asked for per Range request (what one request may hold in memory).
        public var chunkBytes = 8 << 20
        public init() {}
    }

    let client: GatewayClient
    let jobName: ResourceName
    let options: Options
    /// The input's bodies by custom_id, for `--with-request`.
    let bodies: InputBodyIndex?
    private var cursors: [String: Cursor] = [:]
    private var seen = CustomIDIndex()
    public private(set) var summary = ResultsSummary()

    struct Cursor {
        var offset: Int64 = 0
        /// The start of a line whose end has not arrived yet.
        var partial: [UInt8] = []
        var line = 0
    }

    public init(client: GatewayClient, job: ResourceName, bodies: InputBodyIndex? = nil, options: Options = Options()) {
        self.client = client
        self.jobName = job
        self.bodies = bodies
        self.options = options
    }

    /// Polls until the job ends, handing each row to `row` and calling `flush` after each poll that produced
    /// some. Returns the job as it ended (nil under --dry-run).
    public func run(note: (String) -> Void, row: (ResultRow) throws -> Void, flush: () -> Void) throws -> BatchInferenceJob? {
        var pause = options.interval
        var saidWaiting = false
        while true {
            guard let raw = try client.send(Endpoints.getJob(jobName)) else { return nil }
            let job = try BatchInferenceJob(json: raw)
            var files: [(key: String, url: String)] = []
            if let output = ResourceName(job.outputDatasetId, kind: .dataset) {
                do {
                    files = try client.signedFiles(of: output, lineage: false).filter { $0.key.hasPrefix("dataset/\(output.id)/") }
                } catch let e as GatewayError where [400, 404].contains(e.httpStatus) && !job.isTerminal {
                    files = []  // not published yet
                }
            }
            var rows = 0
            for file in files { rows += try read(file, job: job.name, row: row) }
            if rows > 0 { flush() }
            if job.isTerminal {
                // The state was read before the files, so this pass saw everything the job wrote.
                for key in cursors.keys.sorted() where !(cursors[key]?.partial.isEmpty ?? true) {
                    var cursor = cursors[key]!
                    try handle(cursor.partial[...], key: key, number: cursor.line + 1, job: job.name, row: row)
                    cursor.partial = []
                    cursors[key] = cursor
                }
                flush()
                if let p = job.jobProgress {
                    summary.missing = max(0, Int(p.totalInputRequests) - summary.succeeded - summary.failed)
                    summary.rows = summary.succeeded + summary.failed + summary.missing
                }
                return job
            }
            let processed = job.jobProgress?.totalProcessedRequests ?? 0
            if !saidWaiting, files.isEmpty, job.state == .running, processed > 0 {
                note("\(jobName.id) has processed \(processed) rows but the gateway publishes no output until the job ends (Fireworks works this way); waiting for it to end, then streaming its rows")
                saidWaiting = true
            }
            pause = rows > 0 ? options.interval : min(options.maxInterval, pause * 2)
            Thread.sleep(forTimeInterval: pause)
        }
    }

    /// Reads what `file` has gained since the last poll; returns the rows handed over.
    private func read(_ file: (key: String, url: String), job: String, row: (ResultRow) throws -> Void) throws -> Int {
        var cursor = cursors[file.key] ?? Cursor()
        defer { cursors[file.key] = cursor }
        var rows = 0
        while true {
            let from = cursor.offset
            let request = HTTPClientRequest(.get, file.url, headers: ["Range": "bytes=\(from)-\(from + Int64(options.chunkBytes) - 1)"])
            let response = try client.perform(request, sink: .memory(limit: options.chunkBytes + (1 << 20)), label: "GET download URL")
            var body: ArraySlice<UInt8>
            switch response.status {
            case 206:
                body = response.body[...]
            case 200:
                // The server ignored the Range: the whole file came; keep what is new.
                guard Int64(response.body.count) >= from else { return rows }
                body = response.body[Int(from)...]
            case 416:
                return rows  // nothing new
            case 400, 401, 403, 404, 410:
                return rows  // an expired URL or a file not there yet: the next poll asks for fresh URLs
            default:
                throw GatewayError(httpStatus: response.status, body: response.body)
            }
            if body.isEmpty { return rows }
            cursor.offset += Int64(body.count)
            rows += try lines(in: body, cursor: &cursor, key: file.key, job: job, row: row)
            if response.status == 200 || body.count < options.chunkBytes { return rows }
        }
    }

    /// Hands over the complete lines of `chunk` (after the cursor's partial line); keeps a torn tail.
    private func lines(in chunk: ArraySlice<UInt8>, cursor: inout Cursor, key: String, job: String, row: (ResultRow) throws -> Void) throws -> Int {
        var rows = 0
        var start = chunk.startIndex
        while let newline = chunk[start...].firstIndex(of: 0x0A) {
            cursor.line += 1
            if cursor.partial.isEmpty {
                rows += try handle(chunk[start..<newline], key: key, number: cursor.line, job: job, row: row)
            } else {
                cursor.partial += chunk[start..<newline]
                rows += try handle(cursor.partial[...], key: key, number: cursor.line, job: job, row: row)
                cursor.partial.removeAll(keepingCapacity: true)
            }
            start = newline + 1
        }
        cursor.partial += chunk[start...]
        return rows
    }

    @discardableResult
    private func handle(_ line: ArraySlice<UInt8>, key: String, number: Int, job: String, row: (ResultRow) throws -> Void) throws -> Int {
        var line = line
        if line.last == 0x0D { line = line.dropLast() }
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return 0 }
        return try line.withUnsafeBytes { bytes -> Int in
            guard let members = try? RowMembers.scan(bytes), let idRange = members.customID,
                  let payload = members.response ?? members.error else {
                summary.unreadable("\(key):\(number): not a result row")
                return 0
            }
            let succeeded = members.response != nil
            let value = UnsafeRawBufferPointer(rebasing: bytes[payload])
            let literal = UnsafeRawBufferPointer(rebasing: bytes[(idRange.lowerBound - 1)..<(idRange.upperBound + 1)])
            let first = members.withCustomID(in: bytes) { id -> Bool in
                let (_, inserted) = seen.insert(id)
                if !inserted { summary.duplicate("\(ResultsJoin.quoted(Array(id))) again in \(key):\(number)") }
                return inserted
            } ?? true
            guard first else { return 0 }
            let status: ResultStatus = succeeded ? .succeeded : .failed
            summary.count(status, errorCode: succeeded ? nil : ResultsSummary.errorCode(value))
            if let bodies {
                try bodies.withBody(of: members, in: bytes) { body in
                    try row(ResultRow(status: status, customIDLiteral: literal, payload: value, job: job, body: body))
                }
            } else {
                try row(ResultRow(status: status, customIDLiteral: literal, payload: value, job: job, body: nil))
            }
            return 1
        }
    }
}

/// An input file's row bodies by custom_id (offsets only), to add them to followed rows.
public final class InputBodyIndex {
    private let ids: CustomIDIndex
    private let spans: [(offset: Int64, length: Int32)]
    private let fd: Int32
    private let path: String
    private var buffer: [UInt8] = []

    /// Indexes `path` (one pass).
    public init(path: String) throws {
        self.path = path
        let reader: JSONLLineReader
        do { reader = try JSONLLineReader(path: path) } catch { throw ResultsFileError(message: "\(error)") }
        var ids = CustomIDIndex()
        var spans: [(offset: Int64, length: Int32)] = []
        do {
            while let line = try reader.nextLine() {
                guard !line.isTooLong, let members = try? RowMembers.scan(line.bytes), let body = members.body else { continue }
                guard let (_, inserted) = members.withCustomID(in: line.bytes, { ids.insert($0) }), inserted else { continue }
                spans.append((Int64(line.offset + body.lowerBound), Int32(body.count)))
            }
        } catch { throw ResultsFileError(message: "\(error)") }
        self.ids = ids
        self.spans = spans
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ResultsFileError(message: "cannot read \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// Calls `body` with the input body of the row `members` names (nil when the input has no such row).
    func withBody(of members: RowMembers, in row: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        guard let e = members.withCustomID(in: row, { ids.find($0) }) ?? nil else { try body(nil); return }
        let span = spans[e]
        let length = Int(span.length)
        if buffer.count < length { buffer = [UInt8](repeating: 0, count: length) }
        try buffer.withUnsafeMutableBytes { raw in
            try ResultsJoin.readFully(fd, into: raw.baseAddress!, count: length, at: span.offset, name: path)
            try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(raw)[0..<length]))
        }
    }
}
