// A real llama.cpp server for the end-to-end tests: llama-cpp-python's OpenAI-compatible server (PyPI
// `llama-cpp-python[server]`, which .ci/run installs) serving a tiny random-weight llama model that the test
// writes itself with the `gguf` package.
import Foundation
import XCTest

/// Writes the model: a few hundred tokens (words, letters, and byte tokens for the ASCII bytes; every token
/// string unique), 2 layers, width 64, float32: about 0.5 MB. Byte tokens stop at 0x7F: the prompts are ASCII,
/// and an answer with no multi-byte characters ends exactly at max_tokens (llama-cpp-python generates past it
/// to finish a character).
let tinyLlamaScript = #"""
import sys
import numpy as np
import gguf

path = sys.argv[1]
rng = np.random.default_rng(1234)
words = ["the", "a", "of", "and", "to", "in", "is", "it", "you", "that", "he", "was", "for", "on", "are", "with",
         "as", "I", "his", "they", "be", "at", "one", "have", "this", "from", "or", "had", "by", "word", "but", "what",
         "some", "we", "can", "out", "other", "were", "all", "there", "when", "up", "use", "your", "how", "said",
         "an", "each", "she", "which", "do", "their", "time", "if", "will", "way", "about", "many", "then", "them",
         "write", "would", "like", "so", "these", "her", "long", "make", "thing", "see", "him", "two", "has", "look",
         "more", "day", "could", "go", "come", "did", "number", "sound", "no", "most", "people", "my", "over", "know",
         "water", "than", "call", "first", "who", "may", "down", "side", "been", "now", "find", "hello", "world"]
tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(128)]
types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 128
scores = [0.0] * len(tokens)
pieces = ["\u2581" + w for w in words] + list("abcdefghijklmnopqrstuvwxyz.,!?") + ["\u2581"]
for i, p in enumerate(pieces):
    tokens.append(p); types.append(gguf.TokenType.NORMAL); scores.append(-float(i))
assert len(set(tokens)) == len(tokens), "every token string is unique"
n_vocab, n_embd, n_ff, n_layer, n_head = len(tokens), 64, 128, 2, 4

w = gguf.GGUFWriter(path, "llama")
w.add_name("batchctl-tiny-random")
w.add_context_length(2048)
w.add_embedding_length(n_embd)
w.add_block_count(n_layer)
w.add_feed_forward_length(n_ff)
w.add_head_count(n_head)
w.add_head_count_kv(n_head)
w.add_rope_dimension_count(n_embd // n_head)
w.add_layer_norm_rms_eps(1e-5)
w.add_file_type(gguf.LlamaFileType.ALL_F32)
w.add_tokenizer_model("llama")
w.add_token_list(tokens)
w.add_token_scores(scores)
w.add_token_types(types)
w.add_bos_token_id(1)
w.add_eos_token_id(2)
w.add_unk_token_id(0)
w.add_add_bos_token(True)
w.add_add_eos_token(False)

def tensor(name, *shape, scale=0.3):
    w.add_tensor(name, (rng.standard_normal(shape) * scale).astype(np.float32))

tensor("token_embd.weight", n_vocab, n_embd, scale=1.0)
w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
tensor("output.weight", n_vocab, n_embd, scale=1.0)
for i in range(n_layer):
    w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
    w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        tensor(f"blk.{i}.{name}.weight", n_embd, n_embd)
    tensor(f"blk.{i}.ffn_gate.weight", n_ff, n_embd)
    tensor(f"blk.{i}.ffn_up.weight", n_ff, n_embd)
    tensor(f"blk.{i}.ffn_down.weight", n_embd, n_ff)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
"""#

/// One `python3 -m llama_cpp.server` on a loopback port, its requests logged to `logPath` (uvicorn's access log).
final class LlamaServer {
    let port: Int
    let model: String
    let logPath: String
    private var process: Process?
    private let python: String

    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// Skips the test (fails it in CI) when python3, llama-cpp-python or gguf is missing.
    static func requirePython() throws -> String {
        let python = try Harness.requireTool("python3")
        let check = Harness.runProgram(python, ["-c", "import llama_cpp.server, gguf, numpy"], timeout: 120)
        guard check.status == 0 else {
            let message = "llama-cpp-python[server] and gguf are not installed for \(python) (.ci/run installs them: "
                + "CMAKE_ARGS=-DGGML_NATIVE=OFF pip install 'llama-cpp-python[server]' gguf): \(check.err.suffix(300))"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message) }
            throw XCTSkip(message)
        }
        return python
    }

    /// Writes the tiny model into `directory` (once) and returns its path.
    static func writeModel(in directory: String, python: String) throws -> String {
        let model = directory + "/tiny-llama.gguf"
        if FileManager.default.fileExists(atPath: model) { return model }
        let script = directory + "/make_tiny_llama.py"
        try tinyLlamaScript.write(toFile: script, atomically: true, encoding: .utf8)
        let r = Harness.runProgram(python, [script, model], timeout: 120)
        guard r.status == 0 else { throw NSError(domain: "LlamaServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "writing the model failed: \(r.err)"]) }
        return model
    }

    init(python: String, model: String, port: Int = Harness.freePort(), logPath: String) throws {
        self.python = python
        self.model = model
        self.port = port
        self.logPath = logPath
        try start()
    }

    /// Starts (or starts again, on the same port) and waits until `/v1/models` answers.
    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        // One thread: the tests run two servers beside the build on two cores. chatml: a template with a system role.
        p.arguments = ["-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1", "--port", String(port),
                       "--n_ctx", "1024", "--n_threads", "1", "--chat_format", "chatml", "--model_alias", "tiny"]
        var env = ProcessInfo.processInfo.environment
        env["PYTHONUNBUFFERED"] = "1"
        p.environment = env
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = FileHandle(forWritingAtPath: logPath)!
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        process = p
        let ready = Harness.wait(timeout: 180) {
            guard p.isRunning else { return true }
            guard Harness.accepts(port: port) else { return false }
            let r = Harness.runProgram("/usr/bin/env", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "\(baseURL)/models"], timeout: 5)
            if r.out != "200" { usleep(200_000) }
            return r.out == "200"
        }
        guard ready, p.isRunning else {
            let log = ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").suffix(2000)
            throw NSError(domain: "LlamaServer", code: 2, userInfo: [NSLocalizedDescriptionKey: "llama server did not start: \(log)"])
        }
    }

    /// kill -9, as a crash or an OOM kill would.
    func kill9() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// Requests it answered so far (its access log lines for the chat endpoint).
    var chatRequests: Int {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").components(separatedBy: "POST /v1/chat/completions").count - 1
    }

    deinit { kill9() }
}
