// Paging through list answers (--limit, --no-paginate, filters) and waiting for a deleted resource to go.
import BatchAPI
import BatchClient
import BatchJSONL
import Foundation

enum Listing {
    /// Every item across pages (or the one page at --page-token, or up to --limit); nil under --dry-run.
    static func all(_ c: Context, _ args: ListArguments, itemsKey: String,
                    request: ([(String, String)]) -> GatewayRequest) throws -> [JSONValue]? {
        let limit = args.limit
        var query: [(String, String)] = []
        if let f = args.filter { query.append(("filter", f)) }
        if let o = args.orderBy { query.append(("orderBy", o)) }
        var pageSize = args.pageSize
        if pageSize == nil, let limit, limit < 200 { pageSize = limit }
        if let pageSize { query.append(("pageSize", String(pageSize))) }
        var token = args.pageToken
        var items: [JSONValue] = []
        let client = try c.client()
        while true {
            var q = query
            if let token, !token.isEmpty { q.append(("pageToken", token)) }
            guard let answer = try client.send(request(q)) else { return nil }
            let page = try ListPage(json: answer, itemsKey: itemsKey)
            items += page.items
            if let limit, items.count >= limit { return Array(items.prefix(limit)) }
            if args.onePage {
                if !page.nextPageToken.isEmpty { c.streams.note("next page: --page-token \(page.nextPageToken)") }
                return items
            }
            if page.nextPageToken.isEmpty || page.items.isEmpty { return items }
            token = page.nextPageToken
        }
    }

    static func output(_ c: Context, _ items: [JSONValue], kind: ResourceKind) {
        if items.isEmpty, c.format != .json {
            c.streams.note("No \(kind == .dataset ? "datasets" : "batch inference jobs") found.")
            return
        }
        c.render(items, kind: kind, isList: true)
    }

    /// Polls `get` until the gateway answers NOT_FOUND; exit 9 when `timeout` (--wait-timeout) runs out first.
    static func waitUntilGone(_ c: Context, _ get: GatewayRequest, name: ResourceName, timeout: Double) throws {
        let client = try c.client()
        var delay = 0.1
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            do { _ = try client.send(get) } catch let e as GatewayError where ExitStatus.status(of: e) == ExitStatus.notFound { return }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { break }
            Thread.sleep(forTimeInterval: min(delay, left))
            delay = min(delay * 2, 2)
        }
        throw CLIError.waitTimedOut("\(name.id) is still being deleted after \(DurationText.human(timeout)) (--wait-timeout)")
    }

    /// What a delete prints: the name with -o name, `{"name", "deleted"}` with json, a note otherwise.
    static func printDeleted(_ c: Context, _ name: ResourceName, waited: Bool) {
        switch c.format ?? .text {
        case .name, .json, .jsonl:
            c.output(.object([("name", .string(name.description)), ("deleted", .bool(true)), ("waited", .bool(waited))]))
        case .text, .table, .wide:
            c.streams.note("deleted \(name)")
        }
    }
}

/// A one-line progress bar on stderr (only on a terminal, never with --quiet): bytes, rate, ETA.
/// `@unchecked Sendable`: `lastDraw` and `drew` are guarded by `lock` (transfers report from their own threads).
final class ProgressBar: @unchecked Sendable {
    let streams: IOStreams
    let label: String
    let start = Date()
    var lastDraw = Date.distantPast
    var drew = false
    let lock = NSLock()

    init(streams: IOStreams, label: String) { self.streams = streams; self.label = label }

    lazy var update: TransferProgress = { [weak self] done, total in self?.draw(done, total) }

    func draw(_ done: Int64, _ total: Int64) {
        guard streams.showsProgress else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > 0.1 || (total > 0 && done >= total) else { return }
        lastDraw = now
        drew = true
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let rate = Double(done) / elapsed
        var line = "\r\u{1B}[K\(label) \(ProgressBar.bytes(done))"
        if total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 24
            let filled = Int(fraction * Double(width))
            line += "/\(ProgressBar.bytes(total)) [" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
            if rate > 0, done < total { line += " ETA \(DurationText.human(Double(total - done) / rate))" }
        }
        line += " \(ProgressBar.bytes(Int64(rate)))/s"
        streams.progress(line)
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        if drew { streams.progress("\r\u{1B}[K") }
    }

    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(n)
        var unit = 0
        while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
    }
}
