// The entry point behind main.swift: parse, dispatch to the command, map any error to an exit status.
import BatchAPI
import BatchClient
import Foundation

public enum Batchctl {
    typealias Command = (Context) throws -> Void

    /// Every command id of the table, bound to its implementation (a test checks none is missing).
    static let implementations: [String: Command] = [
        "dataset.create": DatasetCommands.create,
        "dataset.upload": DatasetCommands.upload,
        "dataset.get": DatasetCommands.get,
        "dataset.list": DatasetCommands.list,
        "dataset.delete": DatasetCommands.delete,
        "dataset.download": DatasetCommands.download,
        "dataset.validate": DatasetCommands.validate,
        "batch-inference-job.create": JobCommands.create,
        "batch-inference-job.get": JobCommands.get,
        "batch-inference-job.list": JobCommands.list,
        "batch-inference-job.delete": JobCommands.delete,
        "batch-inference-job.cancel": JobCommands.cancel,
        "batch-inference-job.wait": JobCommands.wait,
        "server": ServerCommands.foreground,
        "server.start": ServerCommands.start,
        "server.stop": ServerCommands.stop,
        "server.status": ServerCommands.status,
        "completion": MiscCommands.completion,
        "man": MiscCommands.man,
        "version": MiscCommands.version,
        "help": MiscCommands.help,
        "__complete": MiscCommands.complete,
    ]

    public static func isImplemented(_ id: String) -> Bool { implementations[id] != nil }

    /// Runs one command line and returns the exit status. Nothing here calls exit(): main.swift does.
    public static func run(arguments: [String], environment: [String: String], streams: IOStreams) -> Int32 {
        do {
            let invocation = try Parser.parse(arguments)
            let context = Context(invocation: invocation, streams: streams, environment: environment)
            if let topic = invocation.helpTopic {
                streams.print(Help.text(for: topic), terminator: "")
                return ExitStatus.success
            }
            if invocation.has("version") {
                streams.print(BuildInfo.line)
                return ExitStatus.success
            }
            guard let command = implementations[invocation.command.id] else {
                throw CLIError.failure("'\(invocation.command.path)' is not implemented yet")
            }
            try command(context)
            return ExitStatus.success
        } catch {
            let (status, message) = ExitStatus.of(error)
            if let message { streams.error("batchctl: error: \(message)") }
            return status
        }
    }
}
