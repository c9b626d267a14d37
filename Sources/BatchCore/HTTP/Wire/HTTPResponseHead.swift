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
        let connection = headers.tokens(for: "Connection")
        keepAlive = http10 ? connection.contains("keep-alive") : !connection.contains("close")
        if method == .head || status < 200 || status == 204 || status == 304 {
            framing = .none
        } else if headers.contains("Transfer-Encoding") {
            guard headers.tokens(for: "Transfer-Encoding").last == "chunked" else {
                framing = .untilClose
                keepAlive = false
                return
            }
            framing = .chunked
        } else if let lengthText = headers["Content-Length"] {
            guard !lengthText.isEmpty, lengthText.utf8.count <= 18, lengthText.utf8.allSatisfy({ decimalDigit($0) != nil }),
                  let length = Int(lengthText) else { throw HTTPFieldError("invalid Content-Length '\(lengthText.prefix(30))'") }
            framing = length == 0 ? .none : .length(length)
        } else {
            framing = .untilClose
            keepAlive = false
        }
    }
}
