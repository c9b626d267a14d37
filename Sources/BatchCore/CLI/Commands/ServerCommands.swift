// server (foreground), server start|stop|status, and starting the local gateway for --local.
import BatchAPI
import BatchClient
import Foundation

enum ServerCommands {
    static func foreground(_ c: Context) throws { throw CLIError.failure("'server' is not implemented yet") }
    static func start(_ c: Context) throws { throw CLIError.failure("'server start' is not implemented yet") }
    static func stop(_ c: Context) throws { throw CLIError.failure("'server stop' is not implemented yet") }
    static func status(_ c: Context) throws { throw CLIError.failure("'server status' is not implemented yet") }
}

enum LocalGateway {
    static func ensureRunning(context: Context) throws {
        throw CLIError.failure("--local is not implemented yet")
    }
}
