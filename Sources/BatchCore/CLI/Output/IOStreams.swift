// IOStreams: the one object that owns stdout and stderr, knows which is a terminal, the width, and whether
// colour and progress are allowed. Commands write only through it, so tests can fake a terminal.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
                         writeOut: { s in fputs(s, stdout) },
                         writeErr: { s in fflush(stdout); fputs(s, stderr) })
    }

    /// Streams that collect into strings, for tests. `terminal` fakes a TTY on both.
    public static func capture(terminal: Bool = false, width: Int = 100) -> (IOStreams, Captured) {
        let captured = Captured()
        let streams = IOStreams(stdoutIsTerminal: terminal, stderrIsTerminal: terminal, width: width, colorAllowed: terminal,
                                writeOut: { captured.append(out: $0) }, writeErr: { captured.append(err: $0) })
        return (streams, captured)
    }

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

    public func flush() { fflush(stdout) }

    /// Wraps `text` in an ANSI colour when colour is allowed.
    public func colored(_ text: String, _ code: Int) -> String {
        colorAllowed ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}
