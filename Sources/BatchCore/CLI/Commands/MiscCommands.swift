// version, help, completion, man and the hidden id lister behind live completion.
import BatchAPI
import BatchClient

enum MiscCommands {
    static func version(_ c: Context) throws {
        c.streams.print(BuildInfo.line)
    }

    static func help(_ c: Context) throws {
        c.streams.print(Help.text(for: c.invocation.helpTopic ?? .top), terminator: "")
    }

    static func completion(_ c: Context) throws {
        guard let shell = c.invocation.positional(0), CommandTable.shells.contains(shell) else {
            throw CLIError.usage("unknown shell '\(c.invocation.positional(0) ?? "")': expected bash, zsh or fish", command: "completion")
        }
        throw CLIError.failure("'completion \(shell)' is not implemented yet")
    }

    static func man(_ c: Context) throws {
        throw CLIError.failure("'man' is not implemented yet")
    }

    static func complete(_ c: Context) throws {
        throw CLIError.silent(1)
    }
}
