// Every way a command can fail, and the one place that maps each to an exit status (cli.md's table).
import BatchAPI
import BatchClient

public enum CLIError: Error, Equatable {
    /// A bad command line: exit 2, with a hint to --help for `command`.
    case usage(String, command: String?)
    /// A dataset file that fails validation: exit 3 (details were already printed).
    case invalidData(String)
    /// Any other failure: exit 1.
    case failure(String)
    /// Something is in the way (a taken id, a READY dataset): exit 6, as for a 409 from the gateway.
    case conflict(String)
    /// A job that ended in a state other than COMPLETED: exit 8.
    case jobEnded(state: String, message: String)
    /// `--wait-timeout` ran out: exit 9.
    case waitTimedOut(String)
    /// `--fail-on-row-errors` and the job ended with failed rows: exit 10.
    case rowErrors(String)
    /// Ctrl-C: exit 130.
    case interrupted(String)
    /// The failure was already reported on stderr; only the status remains to be returned.
    case silent(Int32)
}

public enum ExitStatus {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 2
    public static let invalidData: Int32 = 3
    public static let auth: Int32 = 4
    public static let notFound: Int32 = 5
    public static let conflict: Int32 = 6
    public static let unavailable: Int32 = 7
    public static let jobNotCompleted: Int32 = 8
    public static let waitTimeout: Int32 = 9
    public static let rowErrors: Int32 = 10
    public static let interrupted: Int32 = 130

    /// The exit status and the message for any error a command throws.
    public static func of(_ error: Error) -> (status: Int32, message: String?) {
        switch error {
        case let e as CLIError:
            switch e {
            case let .usage(m, command):
                let hint = command.map { "batchctl \($0) --help" } ?? "batchctl --help"
                return (usage, "\(m)\nRun '\(hint)' for usage.")
            case let .invalidData(m): return (invalidData, m)
            case let .failure(m): return (failure, m)
            case let .conflict(m): return (conflict, m)
            case let .jobEnded(state, m): return (jobNotCompleted, "job ended in \(state)" + (m.isEmpty ? "" : ": \(m)"))
            case let .waitTimedOut(m): return (waitTimeout, m)
            case let .rowErrors(m): return (rowErrors, m)
            case let .interrupted(m): return (interrupted, m)
            case let .silent(code): return (code, nil)
            }
        case let e as GatewayError:
            let text = "\(e.message.isEmpty ? e.code.name : e.message) (HTTP \(e.httpStatus), code \(e.code.rawValue) \(e.code.name))"
            return (status(of: e), text)
        case let e as TransportError:
            return (unavailable, e.description)
        case let e as ClientError:
            return (failure, e.description)
        default:
            return (failure, "\(error)")
        }
    }

    /// The gateway's code decides first (a NOT_FOUND is 5 whatever HTTP status carried it); the HTTP status
    /// decides for codes that name no class of their own, and for answers that carried no code.
    static func status(of e: GatewayError) -> Int32 {
        switch e.code {
        case .notFound: return notFound
        case .alreadyExists, .aborted: return conflict
        case .unauthenticated, .permissionDenied: return auth
        case .unavailable, .resourceExhausted: return unavailable
        default: break
        }
        switch e.httpStatus {
        case 401, 403: return auth
        case 404: return notFound
        case 409: return conflict
        case 429, 500...599: return unavailable
        default: return failure
        }
    }
}
