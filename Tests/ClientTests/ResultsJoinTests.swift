// ResultsJoin on files: input order, the latest success wins across the lineage, and what is odd in the
// outputs (duplicates, unknown ids, unreadable lines) is named.
import BatchClient
import BatchJSONL
import Foundation
import XCTest

final class ResultsJoinTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "join-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func file(_ name: String, _ lines: [String]) throws -> String {
        let path = dir + "/" + name
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func ok(_ id: String, _ text: String) -> String {
        #"{"custom_id": "\#(id)", "response": {"choices": [{"message": {"content": "\#(text)"}}]}}"#
    }

    func failed(_ id: String, _ code: Int) -> String { #"{"custom_id":"\#(id)","error":{"code":\#(code),"message":"no"}}"# }

    struct Row: Equatable { var id: String; var status: ResultStatus; var payload: String?; var job: String?; var body: String? }

    func run(_ outputs: [ResultsJoin.OutputFile], input: String, withBody: Bool = false) throws -> ([Row], ResultsSummary) {
        var join = ResultsJoin(outputs: outputs)
        try join.buildIndex()
        var rows: [Row] = []
        let summary = try join.stream(inputs: [(input, "input.jsonl")], withBody: withBody) { r in
            let id = try JSONValue(parsing: r.customIDLiteral).stringValue!
            rows.append(Row(id: id, status: r.status, payload: r.payload.map { String(decoding: $0, as: UTF8.self) }, job: r.job,
                            body: r.body.map { String(decoding: $0, as: UTF8.self) }))
        }
        return (rows, summary)
    }

    func testInputOrderLatestSuccessWinsAndMissingRows() throws {
        let input = try file("input.jsonl", (1...6).map { #"{"custom_id": "r\#($0)", "body": {"messages": [{"role": "user", "content": "q\#($0)"}]}}"# })
        // First job: r1 and r2 succeed, r3 and r4 fail; the continuation: r3 succeeds, r4 fails again.
        let first = [try file("a-results", [ok("r2", "two"), ok("r1", "one")]), try file("a-errors", [failed("r4", 500), failed("r3", 400)])]
        let second = [try file("b-results", [ok("r3", "three")]), try file("b-errors", [failed("r4", 429)])]
        let outputs = first.map { ResultsJoin.OutputFile(path: $0, displayName: $0, dataset: 0, job: "j1") }
            + second.map { ResultsJoin.OutputFile(path: $0, displayName: $0, dataset: 1, job: "j2") }
        let (rows, summary) = try run(outputs, input: input, withBody: true)
        XCTAssertEqual(rows.map(\.id), ["r1", "r2", "r3", "r4", "r5", "r6"], "input order")
        XCTAssertEqual(rows.map(\.status), [.succeeded, .succeeded, .succeeded, .failed, .missing, .missing])
        XCTAssertEqual(rows.map(\.job), ["j1", "j1", "j2", "j2", nil, nil])
        XCTAssertEqual(rows[0].payload, #"{"choices": [{"message": {"content": "one"}}]}"#, "the value as the file wrote it")
        XCTAssertEqual(rows[3].payload, #"{"code":429,"message":"no"}"#, "the latest failure")
        XCTAssertEqual(rows[4].body, #"{"messages": [{"role": "user", "content": "q5"}]}"#)
        XCTAssertEqual(summary.succeeded, 3)
        XCTAssertEqual(summary.failed, 1)
        XCTAssertEqual(summary.missing, 2)
        XCTAssertEqual(summary.failedByCode, ["429": 1])
        XCTAssertEqual(summary.duplicateCount, 0, "a failure followed by a later result is the lineage working, not a duplicate")

        // A success is not undone by a later failure.
        let later = try file("c-errors", [failed("r1", 503)])
        let (again, _) = try run(outputs + [ResultsJoin.OutputFile(path: later, displayName: "c", dataset: 2, job: "j3")], input: input)
        XCTAssertEqual(again[0].status, .succeeded)
        XCTAssertEqual(again[0].job, "j1")
    }

    func testDuplicatesUnknownIDsAndUnreadableLinesAreNamed() throws {
        let input = try file("input.jsonl", (1...3).map { #"{"custom_id": "r\#($0)", "body": {"messages": [{"role": "user", "content": "q"}]}}"# })
        let out = try file("results", [ok("r1", "x"), ok("zz", "stray"), "not json", ok("r1", "again"), #"{"custom_id": "r2"}"#])
        let (rows, summary) = try run([ResultsJoin.OutputFile(path: out, displayName: "dataset/o/BIJOutputSet.jsonl", dataset: 0, job: "j")],
                                      input: input)
        XCTAssertEqual(rows.map(\.status), [.succeeded, .missing, .missing])
        XCTAssertEqual(summary.duplicateCount, 1)
        XCTAssertTrue(summary.duplicates[0].contains(#""r1""#) && summary.duplicates[0].contains("BIJOutputSet.jsonl:4"), "\(summary.duplicates)")
        XCTAssertEqual(summary.unknown, [#""zz" in dataset/o/BIJOutputSet.jsonl:2"#])
        XCTAssertEqual(summary.unreadableCount, 2)
    }
}
