// Benchmarks for the targets of design.md, each side by side with its reference: `batchctl-bench <name>`.
import Foundation

let benchmarks: [(name: String, summary: String, run: ([String]) throws -> Void)] = [
    ("validate", "dataset validate on ~1 GB of chat JSONL vs a Python orjson validator", runValidateBench),
    ("engine", "1,000,000-row job against nginx vs a Python asyncio + aiohttp runner", runEngineBench),
    ("http", "gateway requests/s under wrk, and file serving vs nginx", runHTTPBench),
    ("startup", "batchctl --version and bij get launch time vs curl", runStartupBench),
    ("transfer", "1 GB dataset upload and download through the local gateway vs curl", runTransferBench),
    ("gateway", "GET of a job on a real local gateway under wrk (64 connections)", runGatewayBench),
    ("split", "dataset split of ~1 GB of chat JSONL vs coreutils split -C", runSplitBench),
    ("results", "bij results of a 1,000,000-row job: time and peak memory, vs a Python reconcile script", runResultsBench),
]

let benchArguments = Array(CommandLine.arguments.dropFirst())
guard let name = benchArguments.first, let bench = benchmarks.first(where: { $0.name == name }) else {
    print("usage: batchctl-bench <benchmark> [options]\n")
    for b in benchmarks { print("  \(b.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(b.summary)") }
    exit(benchArguments.isEmpty ? 0 : 2)
}
do {
    try bench.run(Array(benchArguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("batchctl-bench \(name): \(error)\n".utf8))
    exit(1)
}
