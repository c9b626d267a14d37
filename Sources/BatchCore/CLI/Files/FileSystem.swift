// File-system errors in human words: the path, what went wrong, what to do (never a Foundation error dump).
import Foundation

enum FileSystem {
    /// `cannot create directory out/x: Permission denied`.
    static func message(_ operation: String, _ path: String, errno code: Int32) -> String {
        var text = "cannot \(operation) \(path): \(String(cString: strerror(code)))"
        switch code {
        case EACCES, EPERM: text += " (check the permissions of the folder, or choose another place)"
        case ENOSPC, EDQUOT: text += " (free some space, or choose another place)"
        case EROFS: text += " (that file system is read-only; choose another place)"
        default: break
        }
        return text
    }

    /// `mkdir -p` that names the part that failed: a file where a folder should be, a missing parent on a
    /// read-only or virtual file system, a permission. `flag` is the option the user gave the path with.
    static func makeDirectories(_ path: String, flag: String) throws {
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") where !part.isEmpty {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
            if stat(prefix, &info) == 0 {
                if (info.st_mode & S_IFMT) == S_IFDIR { continue }
                throw CLIError.failure("cannot create directory \(path): \(prefix) is a file, not a directory; remove it or choose another \(flag)")
            }
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw CLIError.failure(message("create directory", prefix, errno: errno) + (errno == ENOENT || errno == EACCES || errno == EROFS ? "; choose another \(flag)" : ""))
            }
        }
    }
}
