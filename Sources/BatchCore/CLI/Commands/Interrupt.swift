// Signals: SIGINT, SIGTERM and SIGHUP remove temporary files, say what keeps running, and exit 128+N; the
// foreground server turns the first one into a graceful stop and the second into an immediate exit.
import BatchClient
import Foundation

/// How the process answers SIGINT, SIGTERM and SIGHUP.
///
/// The handler itself only records the first signal and writes its number to a pipe (both async-signal-safe);
/// a watcher thread does the rest. Because the signal is recorded before any system call it interrupts can
/// fail, `exit(_:)` sees it whatever error the interrupted request turned into: once a signal has arrived, the
/// exit status is 128+N (130, 143, 129), never the status of a failure it caused.
public enum Interrupt {
    /// The first signal received, 0 before any. Written by the signal handler, read everywhere.
    nonisolated(unsafe) static var first: Int32 = 0
    nonisolated(unsafe) static var signalsSeen: Int32 = 0
    nonisolated(unsafe) static var pipeWrite: Int32 = -1
    nonisolated(unsafe) static var message: String?
    /// The server's waiter: when set, the first signal goes to it instead of ending the process.
    nonisolated(unsafe) static var serverWaiter: DispatchSemaphore?
    static let lock = NSLock()
    /// Taken by whoever ends the process, and never given back: the first to take it decides the status.
    static let exitLock = NSLock()
    public static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    static func setMessage(_ m: String?) { lock.lock(); message = m; lock.unlock() }

    /// 128 + the signal number, as shells report a process a signal ended: 130, 143, 129.
    public static func status(for signal: Int32) -> Int32 { 128 + signal }

    /// Installs the handlers (called once by main.swift, before any other thread starts).
    public static func install() {
        // Every global the handler touches is initialised here, before the handler can run.
        first = 0
        signalsSeen = 0
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        pipeWrite = fds[1]
        let readEnd = fds[0]
        let watcher = Thread { watch(readEnd) }
        watcher.name = "batchctl-signals"
        watcher.start()
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            if Interrupt.first == 0 { Interrupt.first = number }
            Interrupt.signalsSeen += 1
            var byte = UInt8(truncatingIfNeeded: number)
            _ = write(Interrupt.pipeWrite, &byte, 1)
        }
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        for number in signals { sigaction(number, &action, nil) }
    }

    private static func watch(_ readEnd: Int32) {
        var byte: UInt8 = 0
        while true {
            let n = read(readEnd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            lock.lock()
            let waiter = serverWaiter
            lock.unlock()
            if let waiter {
                if signalsSeen <= 1 { waiter.signal(); continue }
                exitLock.lock()
                fputs("batchctl server: second signal: stopping now\n", standardError)
                _exit(status(for: first))
            }
            endForSignal()
        }
    }

    /// Removes temporary files, prints the message and exits 128+N. Never returns.
    private static func endForSignal() -> Never {
        exitLock.lock()
        TemporaryFiles.shared.removeAll()
        lock.lock()
        let m = message ?? "interrupted"
        lock.unlock()
        if isatty(2) == 1 { fputs("\r\u{1B}[K", standardError) }
        fputs("batchctl: \(m)\n", standardError)
        // _exit, not exit: atexit handlers would run while the main thread is still mid-request.
        _exit(status(for: first))
    }

    /// Whether a signal has arrived (a command can stop printing an error it caused).
    public static var hasArrived: Bool { first != 0 }

    /// The end of main: exits with `status`, unless a signal has arrived, whose status then wins.
    public static func exit(_ status: Int32) -> Never {
        if first != 0 { endForSignal() }
        exitLock.lock()
        if first != 0 { TemporaryFiles.shared.removeAll(); _exit(Interrupt.status(for: first)) }
        Foundation.exit(status)
    }

    /// The foreground server: blocks until the first signal and returns it. A second signal ends the process
    /// at once, whatever the graceful stop is doing.
    /// `watching` runs once the signals go to the waiter (e.g. to tell a service manager the server is ready).
    public static func waitForServerStop(watching: () -> Void = {}) -> Int32 {
        let waiter = DispatchSemaphore(value: 0)
        lock.lock()
        serverWaiter = waiter
        let already = first
        lock.unlock()
        watching()
        if already == 0 { waiter.wait() }
        let received = first
        // Handled: the graceful stop is the answer, so it does not decide the exit status. A second signal
        // is recorded afresh and ends the process at once.
        first = 0
        return received
    }
}
