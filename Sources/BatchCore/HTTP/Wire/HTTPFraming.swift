// Message framing shared by the client and the server: header field lines, body framing, chunk sizes (RFC 9112).

/// How the body of a message is delimited.
public enum HTTPBodyFraming: Equatable, Sendable {
    case none
    case length(Int)
    case chunked
    /// A response without a length runs to the end of the connection.
    case untilClose
}

/// A framing line that breaks the rules; each side answers it its own way (400 on the server, a bad
/// response on the client).
public struct HTTPFieldError: Error, Sendable, Equatable {
    public var message: String
    init(_ message: String) { self.message = message }
}

public enum HTTPFields {
    /// Parses header field lines (without their line ends) into an ordered list.
    public static func parse(_ lines: [UnsafeBufferPointer<UInt8>]) throws -> HTTPHeaders {
        var headers = HTTPHeaders()
        for line in lines {
            if line.isEmpty { continue }
            if line[0] == 0x20 || line[0] == 0x09 {
                // obs-fold would let a field value hide a second field from intermediaries (RFC 9112 §5.2).
                throw HTTPFieldError("obsolete line folding in header fields is not allowed")
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw HTTPFieldError("malformed header field: missing \":\"")
            }
            let name = line[..<colon]
            // Whitespace before the colon is a classic request smuggling vector (RFC 9112 §5.1).
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
                throw HTTPFieldError("malformed header field name")
            }
            var valueStart = colon + 1
            var valueEnd = line.count
            while valueStart < valueEnd, line[valueStart] == 0x20 || line[valueStart] == 0x09 { valueStart += 1 }
            while valueEnd > valueStart, line[valueEnd - 1] == 0x20 || line[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            let value = line[valueStart..<valueEnd]
            guard !value.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else {
                throw HTTPFieldError("invalid character in header field \(String(decoding: name, as: UTF8.self))")
            }
            headers.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
        }
        return headers
    }

    /// Splits a head (bytes before the blank line) into lines, accepting CRLF or a bare LF (RFC 9112 §2.2).
    public static func lines(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var lines: [Range<Int>] = []
        var lineStart = 0
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            var lineEnd = i
            if lineEnd > lineStart && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            lines.append(lineStart..<lineEnd)
            lineStart = i + 1
        }
        if lineStart < bytes.count {
            var lineEnd = bytes.count
            if bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            lines.append(lineStart..<lineEnd)
        }
        return lines
    }
}

public enum HTTPChunked {
    /// `1*HEXDIG [ ; extensions ]`; extensions are ignored.
    public static func parseSize<C: Collection>(_ line: C) throws -> Int where C.Element == UInt8 {
        var size = 0
        var digits = 0
        var rest = line[...]
        while let byte = rest.first, let value = hexValue(byte) {
            digits += 1
            // 15 hex digits keep the size inside Int64 with room to spare.
            guard digits <= 15 else { throw HTTPFieldError("chunk size too large") }
            size = size << 4 | Int(value)
            rest = rest.dropFirst()
        }
        guard digits > 0 else { throw HTTPFieldError("invalid chunk size") }
        while let byte = rest.first, byte == 0x20 || byte == 0x09 { rest = rest.dropFirst() }
        guard rest.isEmpty || rest.first == UInt8(ascii: ";") else { throw HTTPFieldError("invalid chunk size") }
        return size
    }
}

@inline(__always)
func decimalDigit(_ byte: UInt8) -> Int? {
    byte &- UInt8(ascii: "0") < 10 ? Int(byte &- UInt8(ascii: "0")) : nil
}

/// tchar of RFC 9110 §5.6.2.
@inline(__always)
func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
         UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
         UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        return true
    default:
        return false
    }
}
