// Durable files for every layer: write every byte, and replace a file atomically (temporary, fsync, rename,
// fsync of the folder). The store, the engine's checkpoints, the client's downloads and the transfers use these.
import Glibc

/// A file-system call that failed: what was done, to which path, and errno.
public struct FileError: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var path: String
    public var errno: Int32
    public init(_ operation: String, _ path: String, errno: Int32) {
        self.operation = operation; self.path = path; self.errno = errno
    }
    /// ENOSPC / EDQUOT: the disk (or quota) is full.
    public var isDiskFull: Bool { errno == ENOSPC || errno == EDQUOT }
    public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
}

public enum AtomicFile {
    /// Writes `bytes` to `path` so that a crash leaves either the old or the new content: temporary file,
    /// fsync, rename, then fsync of the folder so the rename itself is durable.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let (dir, base) = split(path)
        let temporary = dir + "/.tmp-\(base)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileError("create", temporary, errno: errno) }
        var ok = false
        defer { if !ok { unlink(temporary) } }
        do {
            try bytes.withUnsafeBytes { try writeAll(fd, $0, path: temporary) }
        } catch { close(fd); throw error }
        if fsync(fd) != 0 { let e = errno; close(fd); throw FileError("fsync", temporary, errno: e) }
        close(fd)
        guard rename(temporary, path) == 0 else { throw FileError("rename to", path, errno: errno) }
        ok = true
        syncDirectory(dir)
    }

    /// Writes every byte, retrying short writes and EINTR.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 { if errno == EINTR { continue }; throw FileError("write", path, errno: errno) }
            done += n
        }
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    }

    /// fsync of a folder, so that renames and creations inside it survive a crash. Best effort.
    public static func syncDirectory(_ dir: String) {
        let d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if d >= 0 { fsync(d); close(d) }
    }

    /// The folder and the last component of a path (`.` for a bare name).
    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }
}
