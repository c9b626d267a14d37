// protojson decoding rules: both field spellings accepted, unknown fields refused, int64 as strings.
import BatchJSONL
import Foundation

/// A request body that breaks the protojson rules; the gateway answers it with 400 / INVALID_ARGUMENT.
public struct ProtoJSONError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads one JSON object the protojson way: each field may be spelled lowerCamelCase or snake_case.
public struct ProtoObject {
    public let members: [(String, JSONValue)]
    private let context: String

    public init(_ value: JSONValue, context: String = "") throws {
        guard case let .object(members) = value else {
            throw ProtoJSONError("\(context.isEmpty ? "request body" : context) must be a JSON object")
        }
        self.members = members
        self.context = context
    }

    /// The value under `camelName` or its snake_case spelling; JSON null counts as absent.
    public func value(_ camelName: String) -> JSONValue? {
        let snake = ProtoObject.snakeCase(camelName)
        for (key, value) in members where key == camelName || key == snake {
            return value.isNull ? nil : value
        }
        return nil
    }

    /// Refuses any member that is not one of `allowed` (given in lowerCamelCase).
    public func rejectUnknown(_ allowed: [String]) throws {
        for (key, _) in members where !allowed.contains(ProtoObject.camelCase(key)) {
            throw ProtoJSONError("unknown field \"\(key)\"\(context.isEmpty ? "" : " in \(context)")")
        }
    }

    public func string(_ name: String) throws -> String? {
        guard let v = value(name) else { return nil }
        guard let s = v.stringValue else { throw ProtoJSONError("invalid value for string field \(name): \(v.compactText)") }
        return s
    }

    public func int64(_ name: String) throws -> Int64? {
        guard let v = value(name) else { return nil }
        guard let n = v.int64Value else { throw ProtoJSONError("invalid value for int64 field \(name): \(v.compactText)") }
        return n
    }

    public func int32(_ name: String) throws -> Int32? {
        guard let n = try int64(name) else { return nil }
        guard let small = Int32(exactly: n) else { throw ProtoJSONError("value out of range for int32 field \(name): \(n)") }
        return small
    }

    public func double(_ name: String) throws -> Double? {
        guard let v = value(name) else { return nil }
        if let d = v.doubleValue { return d }
        if let s = v.stringValue, let d = Double(s) { return d }
        throw ProtoJSONError("invalid value for number field \(name): \(v.compactText)")
    }

    public func bool(_ name: String) throws -> Bool? {
        guard let v = value(name) else { return nil }
        guard let b = v.boolValue else { throw ProtoJSONError("invalid value for bool field \(name): \(v.compactText)") }
        return b
    }

    /// An enum field by name; a name this build does not know decodes to `unrecognized`.
    public func wireEnum<E: WireEnum>(_ name: String) throws -> E? {
        try string(name).map(E.init(name:))
    }

    /// Refuses an unknown enum name, as the gateway does in request bodies.
    public static func requireRecognized<E: WireEnum>(_ value: E, field: String) throws {
        guard value.isRecognized else { throw ProtoJSONError("invalid value for enum field \(field): \"\(value.rawValue)\"") }
    }

    public func object(_ name: String) throws -> ProtoObject? {
        guard let v = value(name) else { return nil }
        return try ProtoObject(v, context: name)
    }

    public static func snakeCase(_ camel: String) -> String {
        var out = ""
        for c in camel {
            if c.isUppercase { out.append("_"); out.append(contentsOf: c.lowercased()) } else { out.append(c) }
        }
        return out
    }

    public static func camelCase(_ name: String) -> String {
        guard name.contains("_") else { return name }
        var out = ""
        var upper = false
        for c in name {
            if c == "_" { upper = true; continue }
            out.append(contentsOf: upper ? c.uppercased() : String(c))
            upper = false
        }
        return out
    }
}

/// RFC 3339 timestamps as the gateway writes them: UTC, `Z`, and the fraction protojson prints for a
/// `google.protobuf.Timestamp` (none, 3, 6 or 9 digits, the fewest that keep every nanosecond).
public enum Timestamp {
    public static func string(from date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        let whole = seconds.rounded(.down)
        // A Date is a Double: below the microsecond its digits are noise, so a Date keeps microseconds.
        let micros = Int(((seconds - whole) * 1_000_000).rounded(.down))
        return string(seconds: Int(whole), nanoseconds: micros * 1000)
    }

    public static func string(seconds: Int, nanoseconds: Int) -> String {
        var whole = time_t(seconds)
        var parts = tm()
        gmtime_r(&whole, &parts)
        func pad<N: BinaryInteger>(_ n: N, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        var fraction = ""
        if nanoseconds > 0 {
            if nanoseconds % 1_000_000 == 0 { fraction = "." + pad(nanoseconds / 1_000_000, 3) }
            else if nanoseconds % 1000 == 0 { fraction = "." + pad(nanoseconds / 1000, 6) }
            else { fraction = "." + pad(nanoseconds, 9) }
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))" + fraction + "Z"
    }

    /// Now, to the nanosecond of the real-time clock (as Fireworks' own `createTime`s are).
    public static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return string(seconds: Int(spec.tv_sec), nanoseconds: Int(spec.tv_nsec))
    }

    /// Parses RFC 3339 (`Z` or a numeric offset, any number of fraction digits).
    public static func date(from text: String) -> Date? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var n = 0
            for i in from..<(from + count) {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                n = n * 10 + Int(b[i] - 0x30)
            }
            return n
        }
        guard b.count >= 20, let year = num(0, 4), b[4] == 0x2D, let month = num(5, 2), b[7] == 0x2D,
              let day = num(8, 2), b[10] == 0x54 || b[10] == 0x74 || b[10] == 0x20, let hour = num(11, 2), b[13] == 0x3A,
              let minute = num(14, 2), b[16] == 0x3A, let second = num(17, 2) else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == 0x2E {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { fraction += Double(b[i] - 0x30) * scale; scale /= 10; i += 1 }
            if i == start { return nil }
        }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == 0x5A || b[i] == 0x7A { i += 1 } else if b[i] == 0x2B || b[i] == 0x2D {
            guard let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == 0x3A, let om = num(i + 4, 2) else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == 0x2D ? -1 : 1)
            i += 6
        } else { return nil }
        guard i == b.count, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900); parts.tm_mon = Int32(month - 1); parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour); parts.tm_min = Int32(minute); parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(epoch - offset) + fraction)
    }
}

/// Durations as text: protojson's `"86400s"` on the wire, and the friendlier `1h30m` / `2m` / `30s` / `300ms` on
/// the command line. Not named `Duration`: that is Swift's own type, which `parse` returns.
public enum DurationText {
    /// The longest duration accepted anywhere, 36500 days (100 years): far beyond any timeout, poll interval or
    /// job window, and small enough to fit in Int64 nanoseconds (which hold about 292 years), so converting a
    /// parsed duration to nanoseconds, a `timeval`, a `Date` or a `DispatchTime` can never overflow.
    public static let limit: Duration = .seconds(limitSeconds)
    static let limitSeconds: Int64 = 36_500 * 86_400
    public static let limitText = "36500d (100 years)"

    /// Why a text is not a duration; `description` is the message a user sees after the flag's name.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case malformed
        case notPositive
        case tooLong

        public var description: String {
            switch self {
            case .malformed: return "expected a duration like 30s, 2m, 1h30m or 300ms"
            case .notPositive: return "must be positive"
            case .tooLong: return "must be at most \(DurationText.limitText)"
            }
        }
    }

    /// Parses `86400s`, `1.5s`, `2m`, `1h30m`, `300ms`, `1d`. Zero and negative durations (`-5m`) are
    /// `.notPositive`: no caller has a meaning for them, and 0 used to mean "no timeout" deep in the socket
    /// code. Anything above `limit` is `.tooLong`, however many digits it has.
    public static func parse(_ text: String) -> Result<Duration, Problem> {
        if text.hasPrefix("-") {
            return seconds(String(text.dropFirst())) == nil ? .failure(.malformed) : .failure(.notPositive)
        }
        guard let total = seconds(text) else { return .failure(.malformed) }
        // Compared as a Double first (an absurd count of digits is +infinity here, never a trap).
        guard total <= Double(limitSeconds) else { return .failure(.tooLong) }
        let nanoseconds = Int64((total * 1e9).rounded())
        guard nanoseconds > 0 else { return .failure(.notPositive) }
        return .success(.nanoseconds(nanoseconds))
    }

    /// A parsed duration in seconds (exact to the nanosecond for anything `parse` returns).
    public static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The sum of the text's number-unit pairs in seconds, unbounded; nil when malformed.
    private static func seconds(_ text: String) -> Double? {
        var total = 0.0
        var number = ""
        var sawUnit = false
        let chars = Array(text)
        if chars.isEmpty { return nil }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isASCII, c.isNumber || c == "." { number.append(c); i += 1; continue }
            guard let value = Double(number) else { return nil }
            var unit = String(c)
            if c == "m", i + 1 < chars.count, chars[i + 1] == "s" { unit = "ms"; i += 1 }
            switch unit {
            case "ms": total += value / 1000
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            case "d": total += value * 86400
            default: return nil
            }
            number = ""
            sawUnit = true
            i += 1
        }
        if !number.isEmpty { return nil }  // a bare number has no unit: refuse rather than guess
        return sawUnit ? total : nil
    }

    /// The wire form, `"86400s"` (fractions kept when present).
    public static func wire(_ seconds: Double) -> String {
        if seconds == seconds.rounded() { return "\(Int64(seconds))s" }
        return "\(seconds)s"
    }

    /// A short human form: `1h30m`, `2m5s`, `12s`, `850ms`.
    public static func human(_ seconds: Double) -> String {
        // Clamped so that no value, however odd, can trap in the Int conversions below.
        let seconds = seconds.isNaN ? 0 : min(max(seconds, 0), Double(limitSeconds))
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        var s = Int(seconds.rounded())
        let h = s / 3600; s %= 3600
        let m = s / 60; s %= 60
        var out = ""
        if h > 0 { out += "\(h)h" }
        if m > 0 { out += "\(m)m" }
        if s > 0 || out.isEmpty { out += "\(s)s" }
        return out
    }
}
