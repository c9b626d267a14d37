// A response's status line and header fields, parsed as bytes, and the framing of its body (RFC 9112 §6.3).

public struct HTTPResponseHead: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    /// HTTP/1.0 answers close unless they say keep-alive; 1.1 answers stay open unless they say close.
    public var keepAlive: Bool
    public var framing: HTTPBodyFraming

    /// Parses the bytes before the blank line. `method` decides whether a body follows (HEAD: never).
    public init(parsing bytes: UnsafeBufferPointer<UInt8>, method: HTTPMethod) throws {
        let lines = HTTPFields.lines(bytes)
        guard let first = lines.first else { throw HTTPFieldError("empty response head") }
        let statusLine = UnsafeBufferPointer(rebasing: bytes[first])
        // `HTTP/1.x NNN[ reason]`
        guard statusLine.count >= 12, statusLine[0] == UInt8(ascii: "H"), statusLine[1] == UInt8(ascii: "T"),
              statusLine[2] == UInt8(ascii: "T"), statusLine[3] == UInt8(ascii: "P"), statusLine[4] == UInt8(ascii: "/"),
              statusLine[5] == UInt8(ascii: "1"), statusLine[6] == UInt8(ascii: "."), decimalDigit(statusLine[7]) != nil,
              statusLine[8] == 0x20,
              let a = decimalDigit(statusLine[9]), let b = decimalDigit(statusLine[10]), let c = decimalDigit(statusLine[11]),
              statusLine.count == 12 || statusLine[12] == 0x20 else {
            throw HTTPFieldError("malformed status line '\(String(decoding: statusLine.prefix(60), as: UTF8.self))'")
        }
        status = a * 100 + b * 10 + c
        guard status >= 100 else { throw HTTPFieldError("malformed status code") }
        let http10 = statusLine[7] == UInt8(ascii: "0")
        headers = try HTTPFields.parse(lines.dropFirst().map { UnsafeBufferPointer(rebasing: bytes[$0]) })
        // One pass over the fields for what framing needs (this runs for every inference answer).
        var closes = false, keepsAlive = false, chunked = false, otherCoding = false
        var lengthText: String?
        for field in headers {
            if asciiCaseInsensitiveEquals(field.name, "Connection") {
                closes = closes || containsToken(field.value, "close")
                keepsAlive = keepsAlive || containsToken(field.value, "keep-alive")
            } else if asciiCaseInsensitiveEquals(field.name, "Transfer-Encoding") {
                // The last coding must be chunked for the body to be chunk-framed (RFC 9112 §6.3).
                let last = field.value.split(separator: ",").last.map { trimmingOptionalWhitespace($0) } ?? ""
                chunked = asciiCaseInsensitiveEquals(last, "chunked")
                otherCoding = !chunked
            } else if asciiCaseInsensitiveEquals(field.name, "Content-Length") {
                lengthText = field.value
            }
        }
        keepAlive = http10 ? keepsAlive : !closes
        if method == .head || status < 200 || status == 204 || status == 304 {
            framing = .none
        } else if chunked {
            framing = .chunked
        } else if otherCoding {
            framing = .untilClose
            keepAlive = false
        } else if let lengthText {
            guard !lengthText.isEmpty, lengthText.utf8.count <= 18, lengthText.utf8.allSatisfy({ decimalDigit($0) != nil }),
                  let length = Int(lengthText) else { throw HTTPFieldError("invalid Content-Length '\(lengthText.prefix(30))'") }
            framing = length == 0 ? .none : .length(length)
        } else {
            framing = .untilClose
            keepAlive = false
        }
    }
}

/// Whether a comma-separated header value holds `token` (ASCII case-insensitive), without allocating.
func containsToken(_ value: String, _ token: StaticString) -> Bool {
    var value = value
    return value.withUTF8 { bytes in
        let needle = UnsafeBufferPointer(start: token.utf8Start, count: token.utf8CodeUnitCount)
        var i = 0
        while i < bytes.count {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x2C { i += 1 }
            let start = i
            while i < bytes.count, bytes[i] != 0x2C { i += 1 }
            var end = i
            while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
            if end - start == needle.count {
                var same = true
                for k in 0..<needle.count where asciiLower(bytes[start + k]) != needle[k] { same = false; break }
                if same { return true }
            }
        }
        return false
    }
}
