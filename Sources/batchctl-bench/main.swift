// Benchmarks for the targets of design.md, each side by side with its reference: `batchctl-bench <name> [flags]`.
import Foundation

let benchArguments = Array(CommandLine.arguments.dropFirst())
let benchName = benchArguments.first ?? ""
do {
    switch benchName {
    case "http": try runHTTPBench(arguments: Array(benchArguments.dropFirst()))
    case "validate": try runValidateBench(arguments: Array(benchArguments.dropFirst()))
    default:
        print("usage: batchctl-bench http|validate [flags]")
        exit(benchArguments.isEmpty ? 0 : 2)
    }
} catch {
    FileHandle.standardError.write(Data("batchctl-bench \(benchName): \(error)\n".utf8))
    exit(1)
}
