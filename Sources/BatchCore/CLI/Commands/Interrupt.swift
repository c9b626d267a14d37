// Ctrl-C handling: temporary files removed, a message that says what keeps running, exit status 130.
import BatchClient
import Foundation

/// Ctrl-C: remove temporary files, say what happened, exit 130.
public enum Interrupt {
    nonisolated(unsafe) static var message: String?
    static let lock = NSLock()
    nonisolated(unsafe) static var source: DispatchSourceSignal?

    static func setMessage(_ m: String?) { lock.lock(); message = m; lock.unlock() }

    /// Hands SIGINT to someone else (the server's graceful shutdown).
    public static func disable() {
        source?.cancel()
        source = nil
    }

    /// Installs the SIGINT handler (called once by main.swift).
    public static func install() {
        signal(SIGINT, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        s.setEventHandler {
            TemporaryFiles.shared.removeAll()
            lock.lock()
            let m = message ?? "interrupted"
            lock.unlock()
            if isatty(2) == 1 { fputs("\r\u{1B}[K", standardError) }
            fputs("batchctl: \(m)\n", standardError)
            // _exit, not exit: atexit handlers would run while the main thread is still mid-request, and its
            // failure could race us to exit with another status.
            _exit(130)
        }
        s.resume()
        source = s
    }
}
