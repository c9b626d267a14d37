// A streaming multipart/form-data reader for `:upload`: finds the `file` part and copies its bytes to a file
// descriptor without holding the body in memory.
import BatchHTTP
import Foundation

struct MultipartError: Error { var message: String }

enum Multipart {
    /// The boundary parameter of a `multipart/form-data` content type, or nil.
    static func boundary(contentType: String?) -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for param in contentType.split(separator: ";").dropFirst() {
            let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == "boundary" {
                var b = kv[1]
                if b.hasPrefix("\""), b.hasSuffix("\""), b.count >= 2 { b = String(b.dropFirst().dropLast()) }
                return b.isEmpty || b.count > 200 ? nil : b
            }
        }
        return nil
    }

    /// Reads parts from `read` until the part named `field` is found; its bytes go to `sink`. Returns the
    /// part's filename and byte count. Other parts are skipped (each at most 64 KiB); with `otherField`, each
    /// is handed to it (name and bytes) and the whole body is read, so fields after the file are seen too.
    static func extractFile(field: String, boundary: String, read: () throws -> [UInt8]?,
                            sink: (UnsafeRawBufferPointer) throws -> Void,
                            otherField: ((String, [UInt8]) throws -> Void)? = nil) throws -> (filename: String, bytes: Int) {
        var found: (filename: String, bytes: Int)?
        var collected: [UInt8] = []
        var buffer: [UInt8] = []
        var finished = false
        func fill() throws -> Bool {
            guard !finished else { return false }
            guard let chunk = try read(), !chunk.isEmpty else { finished = true; return false }
            buffer += chunk
            return true
        }
        func find(_ needle: [UInt8], from: Int = 0) -> Int? {
            guard buffer.count >= needle.count + from else { return nil }
            return buffer.withUnsafeBytes { hay -> Int? in
                let base = hay.baseAddress!
                var i = from
                let last = hay.count - needle.count
                while i <= last {
                    // memchr finds candidates for the first byte at memory speed; then compare the rest.
                    guard let p = memchr(base + i, Int32(needle[0]), last - i + 1) else { return nil }
                    let at = base.distance(to: UnsafeRawPointer(p))
                    if memcmp(base + at, needle, needle.count) == 0 { return at }
                    i = at + 1
                }
                return nil
            }
        }
        let opening = Array("--\(boundary)".utf8)
        let delimiter = Array("\r\n--\(boundary)".utf8)
        // The preamble ends at the first boundary line.
        var start = find(opening)
        while start == nil {
            if buffer.count > 1 << 16 { throw MultipartError(message: "multipart preamble too long") }
            guard try fill() else { throw MultipartError(message: "multipart body has no boundary line") }
            start = find(opening)
        }
        buffer.removeSubrange(0..<(start! + opening.count))
        while true {
            // After a boundary: "--" ends the body, CRLF starts a part.
            while buffer.count < 2 { guard try fill() else { throw MultipartError(message: "multipart body ends early") } }
            if buffer[0] == UInt8(ascii: "-"), buffer[1] == UInt8(ascii: "-") { break }
            guard buffer[0] == 0x0D, buffer[1] == 0x0A else { throw MultipartError(message: "malformed multipart boundary") }
            buffer.removeFirst(2)
            let headerEnd = Array("\r\n\r\n".utf8)
            while find(headerEnd) == nil {
                guard buffer.count < 1 << 14 else { throw MultipartError(message: "multipart part headers too long") }
                guard try fill() else { throw MultipartError(message: "multipart part headers end early") }
            }
            let end = find(headerEnd)!
            let headers = String(decoding: buffer[0..<end], as: UTF8.self)
            buffer.removeSubrange(0..<(end + 4))
            let (name, filename) = disposition(headers)
            let wanted = name == field && found == nil
            var count = 0
            // Copy the part body up to the next delimiter, keeping a tail that might be a split delimiter.
            while true {
                if let at = find(delimiter) {
                    if wanted { try buffer.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<at])) } }
                    if !wanted, otherField != nil { collected += buffer[0..<at] }
                    count += at
                    buffer.removeSubrange(0..<(at + delimiter.count))
                    break
                }
                let safe = buffer.count - (delimiter.count - 1)
                if safe > 0 {
                    if wanted { try buffer.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<safe])) } }
                    if !wanted, otherField != nil { collected += buffer[0..<safe] }
                    count += safe
                    buffer.removeSubrange(0..<safe)
                    if !wanted, count > 1 << 16 { throw MultipartError(message: "multipart field '\(name ?? "")' too large") }
                }
                guard try fill() else { throw MultipartError(message: "multipart body ends inside a part") }
            }
            if wanted {
                found = (filename ?? "", count)
                if otherField == nil { break }
            } else if let otherField {
                try otherField(name ?? "", collected)
                collected = []
            }
        }
        if let found { return found }
        throw MultipartError(message: "multipart body has no '\(field)' part")
    }

    /// `name` and `filename` of a part's Content-Disposition header.
    static func disposition(_ headers: String) -> (String?, String?) {
        var name: String?, filename: String?
        for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
            for param in line.split(separator: ";").dropFirst() {
                let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2 else { continue }
                var v = kv[1]
                if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
                if kv[0].lowercased() == "name" { name = v }
                if kv[0].lowercased() == "filename" { filename = v }
            }
        }
        return (name, filename)
    }
}
