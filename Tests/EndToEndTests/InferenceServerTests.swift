// The gateway in front of a real llama.cpp server (llama-cpp-python), and a fleet of two: real generated text,
// usage summed into jobProgress, parameters honoured; one server killed mid-job and restarted; the whole fleet
// down for 20 seconds.
import Foundation
import XCTest

final class InferenceServerTests: XCTestCase {
    func json(_ text: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw NSError(domain: "json", code: 1, userInfo: [NSLocalizedDescriptionKey: "not an object: \(text.prefix(300))"])
        }
        return object
    }

    func jsonLines(_ path: String) throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { try json(String($0)) }
    }

    /// A chat row: `{"custom_id", "body": {"messages": [...], ...extra}}`.
    func row(_ id: String, _ messages: [[String: String]], _ extra: [String: Any] = [:]) throws -> String {
        var body: [String: Any] = ["messages": messages]
        for (k, v) in extra { body[k] = v }
        let data = try JSONSerialization.data(withJSONObject: ["custom_id": id, "body": body], options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    func write(_ rows: [String], to path: String) throws {
        try (rows.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    func content(_ result: [String: Any]) -> String? {
        let response = result["response"] as? [String: Any]
        let choice = (response?["choices"] as? [[String: Any]])?.first
        return (choice?["message"] as? [String: Any])?["content"] as? String
    }

    func usage(_ result: [String: Any], _ key: String) -> Int {
        ((result["response"] as? [String: Any])?["usage"] as? [String: Any])?[key] as? Int ?? -1
    }

    func job(_ server: LocalServer, _ id: String) throws -> [String: Any] {
        let r = server.cli(["bij", "get", id, "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        return try json(r.out)
    }

    func processed(_ job: [String: Any]) -> Int { (job["jobProgress"] as? [String: Any])?["totalProcessedRequests"] as? Int ?? 0 }

    func waitForEnd(_ server: LocalServer, _ id: String, timeout: Double = 600) throws -> [String: Any] {
        let r = server.cli(["bij", "wait", id, "--interval", "1s", "-o", "json"], timeout: timeout)
        XCTAssertEqual(r.status, 0, r.err + server.log.suffix(3000))
        return try json(r.out)
    }

    func download(_ server: LocalServer, _ dataset: String) throws -> (results: [[String: Any]], errors: [[String: Any]]) {
        let dir = Harness.temporaryDirectory("llama-dl")
        let r = server.cli(["dataset", "download", dataset, "--output-dir", dir])
        XCTAssertEqual(r.status, 0, r.err)
        return (try jsonLines("\(dir)/dataset/\(dataset)/BIJOutputSet.jsonl"), try jsonLines("\(dir)/dataset/\(dataset)/error-data"))
    }

    /// A few hundred rows on llama.cpp: generated text, the server's usage summed into jobProgress,
    /// max_tokens, temperature 0 (identical prompts, identical text), the job's system prompt (a row that brings
    /// the same system message itself gets the same answer), extraBody stop sequences, and n > 1 failed per row
    /// since this server ignores n.
    func testAJobOnALlamaCppServer() throws {
        let python = try LlamaServer.requirePython()
        let work = Harness.temporaryDirectory("llama")
        let model = try LlamaServer.writeModel(in: work, python: python)
        let llama = try LlamaServer(python: python, model: model, logPath: work + "/llama.log")
        let server = try LocalServer(["--inference-url", llama.baseURL])

        let system = "You are a terse assistant."
        let words = ["water", "people", "sound", "number", "world", "time", "day", "side", "word", "thing", "hello", "long"]
        let prompts = (0..<80).map { "Tell me about the \(words[$0 % 12]) and the \(words[($0 / 12 + $0 * 5) % 12]) of item \($0)." }
        var rows: [String] = []
        for (k, prompt) in prompts.enumerated() {
            rows.append(try row("a-\(k)", [["role": "user", "content": prompt]]))
            rows.append(try row("b-\(k)", [["role": "user", "content": prompt]]))
            rows.append(try row("c-\(k)", [["role": "system", "content": system], ["role": "user", "content": prompt]]))
        }
        for k in 0..<20 { rows.append(try row("n-\(k)", [["role": "user", "content": prompts[k]]], ["n": 2])) }
        try write(rows, to: work + "/in.jsonl")
        XCTAssertEqual(server.cli(["dataset", "create", "llama-in", work + "/in.jsonl"]).status, 0)
        let create = server.cli(["bij", "create", "--job-id", "llama", "-m", "accounts/fireworks/models/tiny", "-d", "llama-in",
                                 "-x", "llama-out", "--max-tokens", "6", "--temperature", "0", "--system-prompt", system])
        XCTAssertEqual(create.status, 0, create.err)
        let done = try waitForEnd(server, "llama")
        XCTAssertEqual(done["state"] as? String, "JOB_STATE_COMPLETED")
        let (results, errors) = try download(server, "llama-out")
        let byID = Dictionary(results.compactMap { r in (r["custom_id"] as? String).map { ($0, r) } }, uniquingKeysWith: { a, _ in a })

        // n = 2: honoured (two choices) or failed per row with a message that says why.
        let nResults = (0..<20).compactMap { byID["n-\($0)"] }
        for r in nResults {
            XCTAssertEqual(((r["response"] as? [String: Any])?["choices"] as? [Any])?.count, 2, "an n=2 row that succeeded has two choices")
        }
        XCTAssertEqual(nResults.count + errors.count, 20, "only n rows can fail: \(errors.prefix(2))")
        for e in errors {
            XCTAssertTrue((e["custom_id"] as? String)?.hasPrefix("n-") == true)
            XCTAssertTrue(((e["error"] as? [String: Any])?["message"] as? String)?.contains("n=2") == true, "\(e)")
        }

        XCTAssertEqual(results.count, 240 + nResults.count)
        var promptTokens = 0, completionTokens = 0
        for r in results {
            XCTAssertNotNil(content(r), "\(r)")
            XCTAssertTrue((1...6).contains(usage(r, "completion_tokens")), "max_tokens 6 honoured: \(r)")
            XCTAssertGreaterThan(usage(r, "prompt_tokens"), 0)
            promptTokens += usage(r, "prompt_tokens")
            completionTokens += usage(r, "completion_tokens")
        }
        let progress = try XCTUnwrap(done["jobProgress"] as? [String: Any])
        XCTAssertEqual(progress["inputTokens"] as? Int, promptTokens, "jobProgress sums the server's usage")
        XCTAssertEqual(progress["outputTokens"] as? Int, completionTokens)
        XCTAssertEqual(progress["successfullyProcessedRequests"] as? Int, results.count)
        XCTAssertEqual(progress["failedRequests"] as? Int, errors.count)

        var texts = Set<String>()
        for k in 0..<prompts.count {
            let a = try XCTUnwrap(byID["a-\(k)"]), b = try XCTUnwrap(byID["b-\(k)"]), c = try XCTUnwrap(byID["c-\(k)"])
            XCTAssertEqual(content(a), content(b), "temperature 0: the same prompt gives the same text (row \(k))")
            XCTAssertEqual(content(a), content(c), "the job's system prompt was put in front of row a-\(k)")
            XCTAssertEqual(usage(a, "prompt_tokens"), usage(c, "prompt_tokens"))
            texts.insert(content(a) ?? "")
        }
        XCTAssertGreaterThan(texts.count, 10, "real generated text, different for different prompts")
        let status = (done["status"] as? [String: Any])?["message"] as? String ?? ""
        XCTAssertTrue(status.contains("rows/s") && status.contains("output tokens/s"), "the throughput summary: \(status)")

        // extraBody stop sequences: stop at a piece of what row a-k said, and the answer ends before it.
        let k = try XCTUnwrap((0..<prompts.count).first { (content(byID["a-\($0)"]!) ?? "").trimmingCharacters(in: .whitespaces).count >= 4 })
        let full = content(byID["a-\(k)"]!)!
        let characters = Array(full)
        let start = characters.firstIndex { !$0.isWhitespace && $0 != characters.first } ?? 1
        let stop = String(characters[start..<min(characters.count, start + 2)])
        let expected = String(full[..<full.range(of: stop)!.lowerBound])
        try write([try row("a-\(k)", [["role": "user", "content": prompts[k]]])], to: work + "/stop.jsonl")
        XCTAssertEqual(server.cli(["dataset", "create", "stop-in", work + "/stop.jsonl"]).status, 0)
        let extraBody = String(decoding: try JSONSerialization.data(withJSONObject: ["stop": [stop]]), as: UTF8.self)
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "stop", "-m", "accounts/fireworks/models/tiny", "-d", "stop-in", "-x", "stop-out",
                                   "--max-tokens", "6", "--temperature", "0", "--system-prompt", system, "--extra-body", extraBody]).status, 0)
        XCTAssertEqual(try waitForEnd(server, "stop")["state"] as? String, "JOB_STATE_COMPLETED")
        let stopped = try XCTUnwrap(try download(server, "stop-out").results.first)
        XCTAssertEqual(content(stopped), expected, "stop \(stop.debugDescription) in \(full.debugDescription)")
        XCTAssertEqual((((stopped["response"] as? [String: Any])?["choices"] as? [[String: Any]])?.first)?["finish_reason"] as? String, "stop")
    }

    /// Two llama.cpp servers behind one gateway. One is killed with -9 mid-job and started again: the job
    /// completes with nothing in error-data and both carried traffic. Then both stop for 20 seconds mid-job:
    /// the job stays RUNNING with waitingOnCapacity and a status message, and completes once they are back,
    /// with no row lost. `server status -o json` shows both endpoints and the jobs' throughput.
    func testAFleetOfTwoSurvivesAKillAndAnOutage() throws {
        let python = try LlamaServer.requirePython()
        let work = Harness.temporaryDirectory("fleet")
        let model = try LlamaServer.writeModel(in: work, python: python)
        let a = try LlamaServer(python: python, model: model, logPath: work + "/a.log")
        let b = try LlamaServer(python: python, model: model, logPath: work + "/b.log")
        let server = try LocalServer(["--inference-url", a.baseURL, "--inference-url", b.baseURL + ",concurrency=8"])

        func rows(_ n: Int) throws -> [String] {
            try (0..<n).map { try row("r-\($0)", [["role": "user", "content": "Write about thing number \($0)."]]) }
        }
        try write(try rows(300), to: work + "/one.jsonl")
        try write(try rows(400), to: work + "/two.jsonl")
        XCTAssertEqual(server.cli(["dataset", "create", "one", work + "/one.jsonl"]).status, 0)
        XCTAssertEqual(server.cli(["dataset", "create", "two", work + "/two.jsonl"]).status, 0)

        // 1. One server killed mid-job and restarted.
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "kill", "-m", "accounts/fireworks/models/tiny", "-d", "one", "-x", "kill-out", "--max-tokens", "4"]).status, 0)
        XCTAssertTrue(Harness.wait(timeout: 300) { (try? processed(job(server, "kill"))) ?? 0 >= 40 }, server.log.suffix(2000).description)
        let aBefore = a.chatRequests
        a.kill9()
        try a.start()
        let killed = try waitForEnd(server, "kill")
        XCTAssertEqual(killed["state"] as? String, "JOB_STATE_COMPLETED")
        let first = try download(server, "kill-out")
        XCTAssertEqual(first.errors.count, 0, "no row lost to the kill: \(first.errors.prefix(2))")
        XCTAssertEqual(Set(first.results.compactMap { $0["custom_id"] as? String }).count, 300)
        XCTAssertGreaterThan(aBefore, 0, "the killed server carried traffic")
        XCTAssertGreaterThan(b.chatRequests, 0, "the other server carried traffic")

        // 2. The whole fleet down for 20 seconds mid-job.
        XCTAssertEqual(server.cli(["bij", "create", "--job-id", "outage", "-m", "accounts/fireworks/models/tiny", "-d", "two", "-x", "outage-out", "--max-tokens", "4"]).status, 0)
        XCTAssertTrue(Harness.wait(timeout: 300) { (try? processed(job(server, "outage"))) ?? 0 >= 40 })
        a.kill9()
        b.kill9()
        let downAt = Date()
        var waiting: [String: Any]?
        XCTAssertTrue(Harness.wait(timeout: 60) {
            guard let j = try? job(server, "outage"), j["waitingOnCapacity"] as? Bool == true else { return false }
            waiting = j
            return true
        }, "the job reports waitingOnCapacity: \(server.log.suffix(2000))")
        XCTAssertEqual(waiting?["state"] as? String, "JOB_STATE_RUNNING")
        let message = ((waiting?["status"] as? [String: Any])?["message"] as? String) ?? ""
        XCTAssertTrue(message.contains("waiting on capacity"), message)
        let status = server.cli(["server", "status", "--data-dir", server.dataDir, "-o", "json"])
        XCTAssertEqual(status.status, 0, status.err)
        let engine = try json(status.out)
        XCTAssertEqual(engine["waitingOnCapacity"] as? Bool, true)
        let endpoints = try XCTUnwrap(engine["endpoints"] as? [[String: Any]])
        XCTAssertEqual(endpoints.compactMap { $0["url"] as? String }, [a.baseURL, b.baseURL])
        XCTAssertEqual(endpoints.compactMap { $0["health"] as? String }, ["down", "down"])
        for e in endpoints { XCTAssertNotNil(e["inFlight"] as? Int); XCTAssertNotNil(e["requestsPerSecond"]) }
        XCTAssertEqual(endpoints.last?["concurrencyCeiling"] as? Int, 8)

        let stalled = processed(try job(server, "outage"))
        Thread.sleep(forTimeInterval: max(0, 20 - Date().timeIntervalSince(downAt)))
        XCTAssertEqual(processed(try job(server, "outage")), stalled, "nothing is processed while every server is down")
        try a.start()
        try b.start()
        let ended = try waitForEnd(server, "outage")
        XCTAssertEqual(ended["state"] as? String, "JOB_STATE_COMPLETED")
        XCTAssertEqual(ended["waitingOnCapacity"] as? Bool ?? false, false)
        let second = try download(server, "outage-out")
        XCTAssertEqual(second.errors.count, 0, "an outage costs time, not rows: \(second.errors.prefix(2))")
        XCTAssertEqual(Set(second.results.compactMap { $0["custom_id"] as? String }).count, 400)

        let after = try json(server.cli(["server", "status", "--data-dir", server.dataDir, "-o", "json"]).out)
        // An endpoint back from an outage is half-open (one request at a time) until its first success; the job
        // may have ended before it got one.
        for health in (after["endpoints"] as? [[String: Any]] ?? []).compactMap({ $0["health"] as? String }) {
            XCTAssertTrue(["healthy", "half-open"].contains(health), health)
        }
        let recent = try XCTUnwrap(after["recentJobs"] as? [[String: Any]])
        XCTAssertEqual(recent.first?["name"] as? String, "accounts/local/batchInferenceJobs/outage")
        XCTAssertNotNil(recent.first?["rowsPerSecond"])
        let text = server.cli(["server", "status", "--data-dir", server.dataDir])
        XCTAssertTrue(text.out.contains("endpoint \(a.baseURL): healthy"), text.out)
        XCTAssertTrue(server.log.contains("is down after"), "the log says when an endpoint goes down")
        XCTAssertTrue(server.log.contains("answers again"), "and when it is back")
    }
}
