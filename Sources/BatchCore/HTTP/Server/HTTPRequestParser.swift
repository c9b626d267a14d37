// Parsing of a request head (request line and header fields) and of its message framing, per RFC 9112.

struct HTTPRequestHead {
    var method: String
    var target: String
    var version: HTTPVersion
    var headers: HTTPHeaders
}

enum HTTPRequestParser {
    /// Parses the head's bytes: everything before the empty line that ends it, line ends included or not.
    /// Lines may end in CRLF or a bare LF (RFC 9112 §2.2 lets recipients accept a bare LF).
    static func parseHead(_ bytes: UnsafeBufferPointer<UInt8>) throws -> HTTPRequestHead {
        var lines: [Range<Int>] = []
        var lineStart = 0
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            var lineEnd = i
            if lineEnd > lineStart && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            lines.append(lineStart..<lineEnd)
            lineStart = i + 1
        }
        if lineStart < bytes.count { lines.append(lineStart..<bytes.count) }
        guard let requestLine = lines.first else {
            throw HTTPError(.badRequest, "empty request")
        }
        var head = try parseRequestLine(UnsafeBufferPointer(rebasing: bytes[requestLine]))
        head.headers = try parseFields(lines.dropFirst().map { UnsafeBufferPointer(rebasing: bytes[$0]) })
        if head.version.minor >= 1 {
            let hosts = head.headers.values(for: "Host")
            if hosts.isEmpty { throw HTTPError(.badRequest, "missing Host header") }
            if hosts.count > 1 { throw HTTPError(.badRequest, "more than one Host header") }
        }
        return head
    }

    static func parseRequestLine(_ line: UnsafeBufferPointer<UInt8>) throws -> HTTPRequestHead {
        let parts = line.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw HTTPError(.badRequest, "malformed request line")
        }
        guard parts[0].allSatisfy(isTokenByte) else {
            throw HTTPError(.badRequest, "malformed request line: invalid method")
        }
        guard parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw HTTPError(.badRequest, "malformed request line: invalid characters in the target")
        }
        let version = try parseVersion(parts[2])
        return HTTPRequestHead(method: String(decoding: parts[0], as: UTF8.self),
                               target: String(decoding: parts[1], as: UTF8.self),
                               version: version, headers: HTTPHeaders())
    }

    /// `HTTP/<digit>.<digit>`; 1.x with x > 1 is treated as 1.1, as §2.6 allows for a higher minor version.
    static func parseVersion(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) throws -> HTTPVersion {
        let text = Array(bytes)
        guard text.count == 8, text[0..<5].elementsEqual("HTTP/".utf8), text[6] == UInt8(ascii: "."),
              let major = decimalDigit(text[5]), let minor = decimalDigit(text[7]) else {
            throw HTTPError(.badRequest, "malformed request line: invalid HTTP version")
        }
        guard major == 1 else {
            throw HTTPError(.httpVersionNotSupported, "HTTP/\(major).\(minor) is not supported; use HTTP/1.1")
        }
        return HTTPVersion(major: 1, minor: min(minor, 1))
    }

    static func parseFields(_ lines: [UnsafeBufferPointer<UInt8>]) throws -> HTTPHeaders {
        do { return try HTTPFields.parse(lines) } catch let error as HTTPFieldError {
            throw HTTPError(.badRequest, error.message)
        }
    }

    /// The body framing of RFC 9112 §6.3 for requests, refusing the ambiguous cases that enable smuggling.
    static func framing(of head: HTTPRequestHead) throws -> HTTPBodyFraming {
        let transferCodings = head.headers.tokens(for: "Transfer-Encoding")
        let lengths = head.headers.values(for: "Content-Length")
        if head.headers.contains("Transfer-Encoding") {
            if !lengths.isEmpty {
                throw HTTPError(.badRequest, "both Content-Length and Transfer-Encoding are present")
            }
            guard transferCodings.last == "chunked" else {
                throw HTTPError(.badRequest, "Transfer-Encoding must end with chunked")
            }
            guard transferCodings.count == 1 else {
                throw HTTPError(.notImplemented, "unsupported transfer coding \(transferCodings[0])")
            }
            return .chunked
        }
        if lengths.isEmpty { return .none }
        var length: Int?
        for value in lengths {
            for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                let digits = trimmingOptionalWhitespace(part)
                guard !digits.isEmpty, digits.utf8.count <= 18, digits.utf8.allSatisfy({ decimalDigit($0) != nil }),
                      let parsed = Int(digits) else {
                    throw HTTPError(.badRequest, "invalid Content-Length")
                }
                if let length, length != parsed {
                    throw HTTPError(.badRequest, "conflicting Content-Length values")
                }
                length = parsed
            }
        }
        return length.map { $0 == 0 ? .none : .length($0) } ?? .none
    }
}
