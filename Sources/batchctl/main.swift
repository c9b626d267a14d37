// The entry point: parse, dispatch, map the error to an exit status.
import BatchCLI
import Foundation

Interrupt.install()
let streams = IOStreams.system(environment: ProcessInfo.processInfo.environment)
let status = Batchctl.run(arguments: Array(CommandLine.arguments.dropFirst()),
                          environment: ProcessInfo.processInfo.environment, streams: streams)
streams.flush()
Interrupt.exit(status)
