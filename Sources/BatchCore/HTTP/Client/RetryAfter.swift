// Retry-After (RFC 9110 §10.2.3), in delay-seconds or as an HTTP-date, and the backoff schedule retries use.
import Glibc

public enum RetryAfter {
    /// The delay a `Retry-After` value asks for, in seconds from `now` (Unix time), never negative; nil when
    /// it is neither a number of seconds nor an HTTP-date.
    public static func seconds(_ value: String, now: Double = currentUnixTime()) -> Double? {
        let text = trimmingOptionalWhitespace(value)
        if let s = Double(text) {
            return s.isFinite && s >= 0 ? s : nil
        }
        guard let date = parseHTTPDate(text) else { return nil }
        return max(0, date - now)
    }

    public static func currentUnixTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
    /// (`Sun Nov  6 08:49:37 1994`), as Unix seconds.
    public static func parseHTTPDate(_ text: String) -> Double? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "-" || $0 == "," }).map { $0.lowercased() }
        var day: Int?, month: Int?, year: Int?, clock: [Int]?
        for word in words {
            if word.contains(":") {
                let parts = word.split(separator: ":").compactMap { Int($0) }
                if parts.count == 3 { clock = parts }
            } else if let m = months.firstIndex(of: String(word.prefix(3))), word.count == 3 {
                month = m
            } else if let n = Int(word) {
                if n > 31 || word.count == 4 { year = n } else if day == nil { day = n } else { year = n }
            }
        }
        guard let d = day, let m = month, var y = year, let c = clock, (1...31).contains(d), c[0] < 24, c[1] < 60, c[2] <= 60 else {
            return nil
        }
        if y < 100 { y += y < 70 ? 2000 : 1900 }  // RFC 850's two-digit years (RFC 9110 §5.6.7)
        var tm = Glibc.tm()
        tm.tm_year = Int32(y - 1900); tm.tm_mon = Int32(m); tm.tm_mday = Int32(d)
        tm.tm_hour = Int32(c[0]); tm.tm_min = Int32(c[1]); tm.tm_sec = Int32(c[2])
        let t = timegm(&tm)
        return t == -1 ? nil : Double(t)
    }
}

/// Exponential backoff with jitter: base x 2^(attempt-1), each delay in [0.8, 1.2] of that, capped.
public struct Backoff: Sendable {
    public var base: Double
    public var cap: Double
    public init(base: Double = 0.5, cap: Double = 30) { self.base = base; self.cap = cap }

    /// The delay before retry number `attempt` (1 for the first retry); a `Retry-After` asks for at least its
    /// own value, up to `cap`.
    public func delay(attempt: Int, retryAfter: Double? = nil) -> Double {
        let exponent = Double(min(max(attempt - 1, 0), 30))
        var d = min(cap, base * pow(2, exponent)) * Double.random(in: 0.8...1.2)
        if let retryAfter { d = max(d, min(retryAfter, cap)) }
        return d
    }
}
