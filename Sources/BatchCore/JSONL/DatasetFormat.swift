// DatasetFormat: the `format` of a dataset, one type for the validator (what it found) and the wire (`Dataset.format`).

/// A dataset's `format`: what its rows carry. The validator finds `chat` or `completion`.
public enum DatasetFormat: WireEnum {
    case unspecified
    /// Rows carry `body.messages`.
    case chat
    /// Rows carry `body.prompt_token_ids`.
    case completion
    case rl
    case unrecognized(String)

    public static let allCases: [DatasetFormat] = [.unspecified, .chat, .completion, .rl]

    public var rawValue: String {
        switch self {
        case .unspecified: return "FORMAT_UNSPECIFIED"
        case .chat: return "CHAT"
        case .completion: return "COMPLETION"
        case .rl: return "RL"
        case .unrecognized(let name): return name
        }
    }
}
