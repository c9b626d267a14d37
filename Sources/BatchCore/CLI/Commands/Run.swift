// The entry point behind main.swift: parse, dispatch to the command, map any error to an exit status.
import BatchAPI
import BatchClient
import Foundation

public enum Batchctl {
    /// Every command id of the table, bound to its implementation (a test checks none is missing).
    static let implementations: [String: Command] = [
        "dataset.create": Command(DatasetCommands.create),
        "dataset.upload": Command(DatasetCommands.upload),
        "dataset.get": Command(DatasetCommands.get),
        "dataset.update": Command(DatasetCommands.update),
        "dataset.list": Command(DatasetCommands.list),
        "dataset.delete": Command(DatasetCommands.delete),
        "dataset.download": Command(DatasetCommands.download),
        "dataset.validate": Command(DatasetCommands.validate),
        "dataset.split": Command(SplitCommand.split),
        "batch-inference-job.create": Command(JobCommands.create),
        "batch-inference-job.get": Command(JobCommands.get),
        "batch-inference-job.list": Command(JobCommands.list),
        "batch-inference-job.delete": Command(JobCommands.delete),
        "batch-inference-job.cancel": Command(JobCommands.cancel),
        "batch-inference-job.wait": Command(JobCommands.wait),
        "batch-inference-job.results": Command(ResultsCommands.results),
        "whoami": Command(AccountCommands.whoami),
        "set-api-key": Command(AccountCommands.setAPIKey),
        "server": Command(ServerCommands.foreground),
        "server.start": Command(ServerCommands.start),
        "server.stop": Command(ServerCommands.stop),
        "server.status": Command(ServerCommands.status),
        "completion": Command(MiscCommands.completion),
        "man": Command(MiscCommands.man),
        "version": Command(MiscCommands.version),
        "help": Command(MiscCommands.help),
        "__complete": Command(MiscCommands.complete),
    ]

    public static func isImplemented(_ id: String) -> Bool { implementations[id] != nil }

    /// Runs one command line and returns the exit status. Nothing here calls exit(): main.swift does.
    public static func run(arguments: [String], environment: [String: String], streams: IOStreams,
                           stamp: BuildStamp = BuildStamp()) -> Int32 {
        do {
            let invocation = try Parser.parse(arguments)
            let context = Context(invocation: invocation, streams: streams, environment: environment, stamp: stamp)
            if let topic = invocation.helpTopic {
                streams.print(Help.text(for: topic), terminator: "")
                return ExitStatus.success
            }
            if context.global.version {
                try MiscCommands.version(context)
                return ExitStatus.success
            }
            if let format = context.format, !invocation.command.formats.contains(format) {
                let names = invocation.command.formats.map(\.rawValue)
                let list = names.count == 1 ? names[0] : names.dropLast().joined(separator: ", ") + " or " + names.last!
                throw CLIError.usage("'batchctl \(invocation.command.path)' does not print -o \(format.rawValue); it prints \(list)",
                                     command: invocation.command.path)
            }
            guard let command = implementations[invocation.command.id] else {
                throw CLIError.failure("'\(invocation.command.path)' is not implemented yet")
            }
            try command.run(context)
            return ExitStatus.success
        } catch {
            let (status, message) = ExitStatus.of(error)
            // A failure a signal caused is not news: the signal's own message and status follow.
            if let message, !Interrupt.hasArrived { streams.error("batchctl: error: \(message)") }
            return status
        }
    }
}

/// One command's implementation, and the arguments type it reads its own flags with.
struct Command: Sendable {
    /// Decodes the command's arguments with `flags` and drops them: ArgumentsTests audits the reads.
    let decode: @Sendable (FlagReader) throws -> Void
    let run: @Sendable (Context) throws -> Void

    /// A command with flags of its own: `body` gets them typed.
    init<Arguments: CommandArguments>(_ body: @escaping @Sendable (Context, Arguments) throws -> Void) {
        decode = { _ = try Arguments($0) }
        run = { c in
            let flags = FlagReader(c.invocation)
            let arguments = Result { try Arguments(flags) }
            assert(flags.problems.isEmpty, flags.problems.joined(separator: "\n"))
            try body(c, arguments.get())
        }
    }

    /// A command with only the global flags.
    init(_ body: @escaping @Sendable (Context) throws -> Void) {
        decode = { _ in }
        run = body
    }
}
