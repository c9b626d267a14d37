// The entry point: parse, dispatch, map the error to an exit status; it hands the CLI the build's stamp.
import BatchCLI
import CBuildStamp
import Foundation

Interrupt.install()
let streams = IOStreams.system(environment: ProcessInfo.processInfo.environment)
let stamp = BuildStamp(commit: String(cString: batchctl_build_commit()), date: String(cString: batchctl_build_date()),
                       swiftVersion: String(cString: batchctl_build_swift_version()))
let status = Batchctl.run(arguments: Array(CommandLine.arguments.dropFirst()),
                          environment: ProcessInfo.processInfo.environment, streams: streams, stamp: stamp)
streams.flush()
Interrupt.exit(status)
