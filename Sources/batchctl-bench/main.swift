// Benchmarks for the targets of design.md, each side by side with its reference.
import Foundation

let benchArguments = Array(CommandLine.arguments.dropFirst())
switch benchArguments.first {
case "http":
    do {
        try runHTTPBench(arguments: Array(benchArguments.dropFirst()))
    } catch {
        FileHandle.standardError.write(Data("batchctl-bench http: \(error)\n".utf8))
        exit(1)
    }
case "startup":
    do {
        try runStartupBench(arguments: Array(benchArguments.dropFirst()))
    } catch {
        FileHandle.standardError.write(Data("batchctl-bench startup: \(error)\n".utf8))
        exit(1)
    }
default:
    print("usage: batchctl-bench http|startup|validate|engine [options]")
}
