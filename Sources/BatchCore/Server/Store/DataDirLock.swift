// The data dir's exclusive lock: one server per data dir, or two would run the same jobs into the same files.
import Foundation

/// An exclusive `flock` on `DATA/server.lock`, held for the server's life and released by the kernel when the
/// process dies, however it dies. The file holds the holder's pid, to name it in the refusal.
final class DataDirLock {
    let path: String
    private var fd: Int32

    struct Busy: Error, CustomStringConvertible {
        var dataDir: String
        var pid: Int32?
        var description: String {
            "data dir \(dataDir) is in use by another batchctl server" + (pid.map { " (pid \($0))" } ?? "")
                + "; stop it first (batchctl server stop --data-dir \(dataDir)) or use another --data-dir"
        }
    }

    init(dataDir: String) throws {
        path = dataDir + "/server.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.io("open \(path)", errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            var text = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &text, text.count, 0)
            close(fd)
            fd = -1
            guard code == EWOULDBLOCK else { throw StoreError.io("lock \(path)", code) }
            let pid = n > 0 ? Int32(String(decoding: text[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) : nil
            throw Busy(dataDir: dataDir, pid: pid)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
    }

    func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { release() }
}
