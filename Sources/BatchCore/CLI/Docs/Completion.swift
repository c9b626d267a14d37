// The entry point of the completion generators: one script per shell, all from the command table.

public enum Completion {
    /// The script for `shell`.
    public static func script(for shell: Shell) -> String {
        switch shell {
        case .bash: return BashCompletion.script()
        case .zsh: return ZshCompletion.script()
        case .fish: return FishCompletion.script()
        }
    }

    /// Where each script is committed in the repository, and the command that regenerates it.
    public static let committedFiles: [(shell: Shell, path: String)] = [
        (.bash, "completions/batchctl.bash"),
        (.zsh, "completions/_batchctl"),
        (.fish, "completions/batchctl.fish"),
    ]
}
