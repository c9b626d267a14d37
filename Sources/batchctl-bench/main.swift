// Benchmarks for the targets of design.md, each side by side with its reference.
import Foundation

let benchArguments = Array(CommandLine.arguments.dropFirst())
do {
    switch benchArguments.first {
    case "engine"?: try runEngineBench(arguments: Array(benchArguments.dropFirst()))
    default: print("usage: batchctl-bench engine [--rows N] [--help]")
    }
} catch {
    FileHandle.standardError.write("batchctl-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
