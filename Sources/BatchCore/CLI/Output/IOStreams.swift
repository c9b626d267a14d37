// IOStreams: the one object that owns stdout and stderr, knows which is a terminal, the width, and whether
// colour and progress are allowed. Commands write only through it, so tests can fake a terminal.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `@unchecked Sendable`: writes are serialised by `lock`; the settings (`quiet`, `colorAllowed`, ...) are set on
/// the main thread while the command starts, before any other thread is handed the streams.
public final class IOStreams: @unchecked Sendable {
    public var stdoutIsTerminal: Bool
    public var stderrIsTerminal: Bool
    public var width: Int
    public var colorAllowed: Bool
    public var quiet = false
    private let writeOut: (String) -> Void
    private let writeErr: (String) -> Void
    private let lock = NSLock()

    public init(stdoutIsTerminal: Bool, stderrIsTerminal: Bool, width: Int, colorAllowed: Bool,
                writeOut: @escaping (String) -> Void, writeErr: @escaping (String) -> Void) {
        self.stdoutIsTerminal = stdoutIsTerminal
        self.stderrIsTerminal = stderrIsTerminal
        self.width = width
        self.colorAllowed = colorAllowed
        self.writeOut = writeOut
        self.writeErr = writeErr
    }

    /// The process's real streams. Colour is off when NO_COLOR is set or stdout is not a terminal.
    public static func system(environment: [String: String]) -> IOStreams {
        let outTTY = isatty(1) == 1
        let errTTY = isatty(2) == 1
        var width = 80
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { width = Int(size.ws_col) } else if let c = environment["COLUMNS"].flatMap(Int.init) { width = c }
        let color = outTTY && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
        return IOStreams(stdoutIsTerminal: outTTY, stderrIsTerminal: errTTY, width: width, colorAllowed: color,
                         writeOut: { s in fputs(s, standardOutput) },
                         writeErr: { s in fflush(standardOutput); fputs(s, standardError) })
    }

    /// Streams that collect into strings, for tests. `terminal` fakes a TTY on both.
    public static func capture(terminal: Bool = false, width: Int = 100) -> (IOStreams, Captured) {
        let captured = Captured()
        let streams = IOStreams(stdoutIsTerminal: terminal, stderrIsTerminal: terminal, width: width, colorAllowed: terminal,
                                writeOut: { captured.append(out: $0) }, writeErr: { captured.append(err: $0) })
        return (streams, captured)
    }

    /// `@unchecked Sendable`: `_out` and `_err` are guarded by `lock`.
    public final class Captured: @unchecked Sendable {
        private let lock = NSLock()
        private var _out = "", _err = ""
        public var out: String { lock.lock(); defer { lock.unlock() }; return _out }
        public var err: String { lock.lock(); defer { lock.unlock() }; return _err }
        func append(out s: String) { lock.lock(); _out += s; lock.unlock() }
        func append(err s: String) { lock.lock(); _err += s; lock.unlock() }
    }

    /// Data on stdout.
    public func print(_ text: String, terminator: String = "\n") {
        lock.lock(); defer { lock.unlock() }
        writeOut(text + terminator)
    }

    /// A note on stderr (silenced by --quiet).
    public func note(_ text: String) {
        guard !quiet else { return }
        lock.lock(); defer { lock.unlock() }
        writeErr(text + "\n")
    }

    /// An error or warning on stderr (never silenced).
    public func error(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        writeErr(text + "\n")
    }

    /// Raw text on stderr, for a live progress line (`\r` and erase).
    public func progress(_ text: String) {
        guard showsProgress else { return }
        lock.lock(); defer { lock.unlock() }
        writeErr(text)
    }

    /// Progress bars and live lines only on a terminal and without --quiet.
    public var showsProgress: Bool { stderrIsTerminal && !quiet }

    public func flush() { fflush(standardOutput) }

    /// Wraps `text` in an ANSI colour when colour is allowed.
    public func colored(_ text: String, _ code: Int) -> String {
        colorAllowed ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}

/// Streams on file descriptors 1 and 2, buffered as C's stdout and stderr are (line-buffered on a terminal,
/// stderr unbuffered). Glibc declares `stdout` and `stderr` as `var`s, which Swift 6 refuses to touch from
/// any thread; every byte batchctl prints goes through IOStreams and these two, so nothing interleaves with
/// the C ones. A FILE locks around each call, and these names are never reassigned.
nonisolated(unsafe) let standardOutput: UnsafeMutablePointer<FILE> = {
    let stream = fdopen(1, "w")!
    setvbuf(stream, nil, isatty(1) == 1 ? _IOLBF : _IOFBF, 1 << 16)
    return stream
}()
nonisolated(unsafe) let standardError: UnsafeMutablePointer<FILE> = {
    let stream = fdopen(2, "w")!
    setvbuf(stream, nil, _IONBF, 0)
    return stream
}()
