// Tests of how rows and job settings become requests: parameters, overrides, system prompt, model map, rows.
import XCTest
import BatchJSONL
@testable import BatchEngine

final class RequestBuilderTests: XCTestCase {
    func body(_ text: String) throws -> JSONValue { try JSONValue(parsing: text) }

    func testJobParametersAreDefaultsThatRowValuesOverride() throws {
        let parameters = try body(#"{"maxTokens": 100, "temperature": 0.5, "topP": 0, "topK": 40, "n": 2, "extraBody": "{\"seed\": 7, \"temperature\": 0.9, \"stop\": [\"END\"]}"}"#)
        let builder = try RequestBuilder(model: "llama", inferenceParameters: parameters, systemPrompt: nil)
        let request = builder.request(for: try body(#"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "seed": 1}"#))
        XCTAssertEqual(request["model"], .string("llama"))
        XCTAssertEqual(request["max_tokens"], .number("5"), "the row's own value wins")
        XCTAssertEqual(request["seed"], .number("1"), "the row's own value wins over extraBody too")
        XCTAssertEqual(request["temperature"], .number("0.5"), "a named parameter wins over extraBody")
        XCTAssertEqual(request["top_p"], .number("0"), "a parameter that is set is sent, zero included")
        XCTAssertEqual(request["top_k"], .number("40"))
        XCTAssertEqual(request["n"], .number("2"))
        XCTAssertEqual(request["stop"], .array([.string("END")]))
        XCTAssertNil(request["maxTokens"])
        XCTAssertEqual(request.objectValue?.first?.0, "model")
    }

    func testOnlyParametersThatAreSetAreApplied() throws {
        // Greedy decoding: temperature 0 and top_k 0 are settings, not absence (proto3 optional).
        let builder = try RequestBuilder(model: "m", inferenceParameters: try body(#"{"temperature": 0, "topK": 0, "maxTokens": 0}"#), systemPrompt: nil)
        let request = builder.request(for: try body(#"{"messages": []}"#))
        XCTAssertEqual(request["temperature"], .number("0"))
        XCTAssertEqual(request["top_k"], .number("0"))
        XCTAssertEqual(request["max_tokens"], .number("0"))
        XCTAssertNil(request["top_p"], "not set, not sent")
        XCTAssertNil(request["n"], "not set, not sent")
        let none = try RequestBuilder(model: "m", inferenceParameters: .object([]), systemPrompt: nil).request(for: try body(#"{"messages": []}"#))
        XCTAssertEqual(none.objectValue?.map(\.0), ["model", "messages"], "no parameter set: none added")
    }

    func testSnakeCaseParametersAndObjectExtraBody() throws {
        let builder = try RequestBuilder(model: "m", inferenceParameters: try body(#"{"max_tokens": "12", "extra_body": {"seed": 3}}"#), systemPrompt: nil)
        let request = builder.request(for: try body(#"{"messages": []}"#))
        XCTAssertEqual(request["max_tokens"], .number("12"))
        XCTAssertEqual(request["seed"], .number("3"))
    }

    func testBadExtraBodyIsATypedError() {
        XCTAssertThrowsError(try RequestBuilder(model: "m", inferenceParameters: .object([("extraBody", .string("{nope"))]), systemPrompt: nil)) {
            guard case EngineError.invalidInferenceParameters = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try RequestBuilder(model: "m", inferenceParameters: .object([("extraBody", .string("[1]"))]), systemPrompt: nil))
    }

    func testSystemPromptIsInsertedUnlessTheRowStartsWithOne() throws {
        let builder = try RequestBuilder(model: "m", inferenceParameters: nil, systemPrompt: "Be brief.")
        let plain = builder.request(for: try body(#"{"messages": [{"role": "user", "content": "hi"}]}"#))
        XCTAssertEqual(plain["messages"]?.arrayValue?.count, 2)
        XCTAssertEqual(plain["messages"]?.arrayValue?.first?["role"], .string("system"))
        XCTAssertEqual(plain["messages"]?.arrayValue?.first?["content"], .string("Be brief."))

        let own = builder.request(for: try body(#"{"messages": [{"role": "system", "content": "Mine."}, {"role": "user", "content": "hi"}]}"#))
        XCTAssertEqual(own["messages"]?.arrayValue?.count, 2)
        XCTAssertEqual(own["messages"]?.arrayValue?.first?["content"], .string("Mine."))

        let tokens = builder.request(for: try body(#"{"prompt_token_ids": [1, 2]}"#))
        XCTAssertNil(tokens["messages"], "no messages to put a system prompt in")
    }

    func testTheJobsModelReplacesARowsModel() throws {
        let builder = try RequestBuilder(model: "job-model", inferenceParameters: nil, systemPrompt: "")
        let request = builder.request(for: try body(#"{"model": "row-model", "messages": []}"#))
        XCTAssertEqual(request["model"], .string("job-model"))
        XCTAssertEqual(request.objectValue?.filter { $0.0 == "model" }.count, 1)
    }

    func testModelMap() throws {
        let defaults = ModelMap()
        XCTAssertEqual(defaults.map("accounts/fireworks/models/llama-v3p1-8b-instruct"), "llama-v3p1-8b-instruct")
        XCTAssertEqual(defaults.map("llama3"), "llama3")
        let map = try ModelMap(rules: ["llama-v3p1-8b-instruct=meta-llama/Llama-3.1-8B-Instruct", "accounts/a/models/qwen*=qwen2.5", "*=fallback"])
        XCTAssertEqual(map.map("accounts/fireworks/models/llama-v3p1-8b-instruct"), "meta-llama/Llama-3.1-8B-Instruct")
        XCTAssertEqual(map.map("accounts/a/models/qwen-7b"), "qwen2.5")
        XCTAssertEqual(map.map("other"), "fallback")
        XCTAssertThrowsError(try ModelMap(rules: ["nothing"]))
        XCTAssertThrowsError(try ModelMap(rules: ["=x"]))
    }

    func testRowShapes() throws {
        let plain = try InputRow(parsing: Array(#"{"custom_id": "a", "body": {"messages": []}}"#.utf8))
        XCTAssertEqual(plain.customID, "a")
        let openAI = try InputRow(parsing: Array(#"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": []}}"#.utf8))
        XCTAssertEqual(openAI.customID, "b")
        for bad in [#"{"body": {}}"#, #"{"custom_id": 1, "body": {}}"#, #"{"custom_id": "x", "body": []}"#, "[]", "{", "\u{1}"] {
            XCTAssertThrowsError(try InputRow(parsing: Array(bad.utf8)), bad)
        }
    }

    func testEchoBackendAnswersAProperCompletion() throws {
        let request = Array(#"{"model": "m", "messages": [{"role": "system", "content": "sys words"}, {"role": "user", "content": "one two three four"}], "max_tokens": 2, "n": 2}"#.utf8)
        guard case let .success(bytes) = EchoBackend().complete(request) else { return XCTFail("echo failed") }
        let response = try JSONValue(parsing: bytes)
        XCTAssertEqual(response["object"], .string("chat.completion"))
        XCTAssertEqual(response["model"], .string("m"))
        let choices = response["choices"]?.arrayValue ?? []
        XCTAssertEqual(choices.count, 2)
        XCTAssertEqual(choices.map { $0["index"] }, [.number("0"), .number("1")])
        XCTAssertEqual(choices.first?["message"]?["content"], .string("one two"))
        XCTAssertEqual(choices.first?["message"]?["role"], .string("assistant"))
        XCTAssertEqual(choices.first?["finish_reason"], .string("length"))
        XCTAssertEqual(response["usage"]?["prompt_tokens"], .number("6"))
        XCTAssertEqual(response["usage"]?["completion_tokens"], .number("4"))
        XCTAssertEqual(response["usage"]?["total_tokens"], .number("10"))
        XCTAssertEqual(response["usage"]?["prompt_tokens_details"]?["cached_tokens"], .number("0"))
        guard case let .success(again) = EchoBackend().complete(request) else { return XCTFail("echo failed") }
        XCTAssertEqual(again, bytes, "deterministic")
        guard case let .success(other) = EchoBackend().complete(Array(#"{"messages": [{"role": "user", "content": "x"}]}"#.utf8)) else { return XCTFail() }
        XCTAssertNotEqual(try JSONValue(parsing: other)["id"], response["id"])
        guard case let .failure(failure) = EchoBackend().complete(Array("nope".utf8)) else { return XCTFail("accepted garbage") }
        XCTAssertEqual(failure.status, 400)
        XCTAssertFalse(failure.retryable)
    }

    func testRetryPolicy() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: 1, maxDelay: 3, maxRetryAfter: 10)
        for _ in 0..<20 {
            XCTAssert((0.5...1).contains(policy.delay(afterAttempt: 1, retryAfter: nil)))
            XCTAssert((1...2).contains(policy.delay(afterAttempt: 2, retryAfter: nil)))
            XCTAssert((1.5...3).contains(policy.delay(afterAttempt: 5, retryAfter: nil)))
        }
        XCTAssertEqual(policy.delay(afterAttempt: 1, retryAfter: 4), 4)
        XCTAssertEqual(policy.delay(afterAttempt: 1, retryAfter: 3600), 10)
        XCTAssertTrue(InferenceFailure.isRetryable(status: 429))
        XCTAssertTrue(InferenceFailure.isRetryable(status: 408))
        XCTAssertTrue(InferenceFailure.isRetryable(status: 502))
        XCTAssertFalse(InferenceFailure.isRetryable(status: 400))
        XCTAssertFalse(InferenceFailure.isRetryable(status: 404))
    }

    func testCustomIDSet() {
        var set: CustomIDSet = ["a", "b"]
        XCTAssertTrue(set.contains("a"))
        XCTAssertFalse(set.contains("c"))
        XCTAssertFalse(set.contains("A"))
        set.insert("c")
        set.insert("a")
        XCTAssertEqual(set.count, 3)
        let many = CustomIDSet((0..<10_000).map { "id-\($0)" })
        XCTAssertEqual(many.count, 10_000, "no collisions among similar ids")
    }
}
