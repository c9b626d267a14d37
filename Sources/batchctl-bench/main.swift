// Benchmarks for the targets of design.md, each side by side with its reference: `batchctl-bench <name> [flags]`.
#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "validate": try runValidateBench(arguments: Array(arguments.dropFirst()))
    case "engine": try runEngineBench(arguments: Array(arguments.dropFirst()))
    default:
        print("usage: batchctl-bench validate [--size-mb N] [--runs N] [--batchctl PATH] [--keep]")
        print("       batchctl-bench engine [--rows N] [--concurrency N] [--no-python] [--help]")
        exit(arguments.isEmpty ? 0 : 2)
    }
} catch {
    fputs("batchctl-bench: \(error)\n", stderr)
    exit(1)
}
