// The entry point of the completion generators: one script per shell, all from the command table.

public enum Completion {
    /// The script for `shell` (bash, zsh or fish; see `CommandTable.shells`).
    public static func script(for shell: String) -> String {
        switch shell {
        case "bash": return BashCompletion.script()
        case "zsh": return ZshCompletion.script()
        case "fish": return FishCompletion.script()
        default: return ""
        }
    }

    /// Where each script is committed in the repository, and the command that regenerates it.
    public static let committedFiles: [(shell: String, path: String)] = [
        ("bash", "completions/batchctl.bash"),
        ("zsh", "completions/_batchctl"),
        ("fish", "completions/batchctl.fish"),
    ]
}
