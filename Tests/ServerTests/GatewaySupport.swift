// An in-process gateway for tests: a real LocalGatewayServer over a fresh data dir, not listening; requests go
// straight to `Gateway.handle` and answers come back as status, headers, text and JSON.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation
@testable import BatchServer
import XCTest

final class InProcessGateway {
    let dataDir: String
    let server: LocalGatewayServer
    var gateway: Gateway { server.gateway }

    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSONValue { (try? JSONValue(parsing: body)) ?? .null }
    }

    init(publicURL: String? = nil, createdBy: String? = nil) throws {
        dataDir = NSTemporaryDirectory() + "batchctl-gateway-\(UUID().uuidString.prefix(8))"
        var options = ServerOptions(dataDir: dataDir)
        options.quiet = true
        options.publicURL = publicURL
        options.createdBy = createdBy
        server = try LocalGatewayServer(options: options)
    }

    deinit { try? FileManager.default.removeItem(atPath: dataDir) }

    @discardableResult
    func send(_ method: String, _ target: String, body: String = "", headers: HTTPHeaders = [:]) throws -> Answer {
        try send(method, target, bytes: Array(body.utf8), headers: headers)
    }

    @discardableResult
    func send(_ method: String, _ target: String, bytes: [UInt8], headers: HTTPHeaders = [:]) throws -> Answer {
        var headers = headers
        // JSON routes take application/json only (a browser's text/plain is refused); send it unless told otherwise.
        if !bytes.isEmpty && headers["Content-Type"] == nil { headers["Content-Type"] = "application/json" }
        let response = gateway.handle(try HTTPRequest(method: method, target: target, headers: headers, body: bytes))
        switch response.body {
        case .empty: return Answer(status: response.status.code, headers: response.headers, body: [])
        case .bytes(let b): return Answer(status: response.status.code, headers: response.headers, body: b)
        case .file(let region):
            var out = [UInt8](repeating: 0, count: region.length)
            _ = out.withUnsafeMutableBytes { pread(region.file.fileDescriptor, $0.baseAddress, region.length, off_t(region.offset)) }
            return Answer(status: response.status.code, headers: response.headers, body: out)
        case .stream: return Answer(status: response.status.code, headers: response.headers, body: Array("<stream>".utf8))
        }
    }

    /// The path and query of an absolute URL, as a request target.
    static func target(of url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        return rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? "/"
    }

    static let a = "/v1/accounts/local"

    /// Rows of one user message each.
    static func rows(_ n: Int, prefix: String = "r") -> String {
        (1...n).map { #"{"custom_id": "\#(prefix)\#($0)", "body": {"messages": [{"role": "user", "content": "question number \#($0)"}]}}"# }
            .joined(separator: "\n") + "\n"
    }

    /// Creates dataset `id` and uploads `text` through `:upload`; returns the dataset JSON after it.
    @discardableResult
    func makeDataset(_ id: String, _ text: String = InProcessGateway.rows(3), displayName: String = "") throws -> JSONValue {
        let rows = text.split(separator: "\n").count
        let created = try send("POST", "\(Self.a)/datasets", body: #"{"datasetId":"\#(id)","dataset":{"userUploaded":{},"exampleCount":"\#(rows)","format":"CHAT","displayName":"\#(displayName)"}}"#)
        XCTAssertEqual(created.status, 200, created.text)
        let boundary = "b0undary"
        let form = "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"input.jsonl\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            + text + "\r\n--\(boundary)--\r\n"
        let up = try send("POST", "\(Self.a)/datasets/\(id):upload", body: form, headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"])
        XCTAssertEqual(up.status, 200, up.text)
        return try send("GET", "\(Self.a)/datasets/\(id)").json
    }
}
