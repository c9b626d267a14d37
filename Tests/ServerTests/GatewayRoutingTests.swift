// The gateway's answers to every kind of route, in process: unknown paths, wrong methods, bad ids and accounts,
// auth, fault injection, and how request-body errors map to statuses.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation
@testable import BatchServer
import XCTest

final class GatewayRoutingTests: XCTestCase {
    var directories: [String] = []

    override func tearDown() {
        for dir in directories { try? FileManager.default.removeItem(atPath: dir) }
        super.tearDown()
    }

    /// A gateway over a fresh data dir, not listening: requests go straight to `Gateway.handle`.
    func makeGateway(apiKey: String? = nil, fault: (status: Int, count: Int)? = nil) throws -> Gateway {
        let dir = NSTemporaryDirectory() + "batchctl-routing-\(UUID().uuidString.prefix(8))"
        directories.append(dir)
        var options = ServerOptions(dataDir: dir)
        options.quiet = true
        options.apiKey = apiKey
        options.injectedFault = fault
        return try LocalGatewayServer(options: options).gateway
    }

    struct Answer: Equatable, CustomStringConvertible {
        var status: Int
        var body: String
        var description: String { "\(status) \(body)" }
    }

    func send(_ gateway: Gateway, _ method: String, _ target: String, body: String = "",
              headers: HTTPHeaders = [:]) throws -> Answer {
        var headers = headers
        // JSON routes take application/json only (a browser's text/plain is refused); send it unless told otherwise.
        if !body.isEmpty && headers["Content-Type"] == nil { headers["Content-Type"] = "application/json" }
        let response = gateway.handle(try HTTPRequest(method: method, target: target, headers: headers, body: Array(body.utf8)))
        guard case .bytes(let bytes) = response.body else { return Answer(status: response.status.code, body: "<not bytes>") }
        return Answer(status: response.status.code, body: String(decoding: bytes, as: UTF8.self))
    }

    func error(_ status: Int, _ code: Int, _ message: String) -> Answer {
        Answer(status: status, body: JSONValue.object([("code", .int(code)), ("message", .string(message)), ("details", .array([]))]).compactText)
    }

    func testUnknownPathsAndWrongMethodsGetGrpcGatewaysRoutingErrors() throws {
        let g = try makeGateway()
        let a = "/v1/accounts/local"
        let notFound = error(404, 5, "Not Found"), wrongMethod = error(501, 12, "Method Not Allowed")
        let cases: [(String, String, Answer)] = [
            ("GET", "/", notFound),
            ("GET", "/v1/accounts", notFound),
            ("GET", "/v1/accounts/local/models", notFound),
            ("GET", "/v1/accounts/Bad_Account/models", notFound),
            ("GET", "/v1/accounts/Bad_Account/datasets", error(400, 3, #"invalid account "Bad_Account": "# + ResourceID.accountProblem("Bad_Account")!)),
            ("GET", "/signed/x", notFound),
            ("PUT", "\(a)/datasets", wrongMethod),
            ("DELETE", "\(a)/batchInferenceJobs", wrongMethod),
            ("GET", "\(a)/datasets/x/y", notFound),
            ("GET", "\(a)/datasets/Bad", error(400, 3, #"invalid resource id "Bad": "# + ResourceID.problem("Bad")!)),
            ("GET", "\(a)/datasets/missing", error(404, 5, #"dataset "accounts/local/datasets/missing" not found"#)),
            ("POST", "\(a)/datasets/missing", wrongMethod),
            ("POST", "\(a)/datasets/x:getDownloadEndpoint", wrongMethod),
            ("GET", "\(a)/datasets/x:upload", wrongMethod),
            ("POST", "\(a)/datasets/x:frobnicate", notFound),
            ("POST", "\(a)/datasets/x:cancel", notFound),
            ("GET", "\(a)/batchInferenceJobs/x:upload", notFound),
            ("PATCH", "\(a)/batchInferenceJobs/x", wrongMethod),
            ("GET", "\(a)/batchInferenceJobs/missing", error(404, 5, #"batch inference job "accounts/local/batchInferenceJobs/missing" not found"#)),
            ("POST", "\(a)/batchInferenceJobs/missing:cancel", error(404, 5, #"batch inference job "accounts/local/batchInferenceJobs/missing" not found"#)),
            ("DELETE", "\(a)/batchInferenceJobs/missing", error(404, 5, #"batch inference job "accounts/local/batchInferenceJobs/missing" not found"#)),
            ("POST", "/verifyApiKey", wrongMethod),
            ("GET", "/signed/download/garbage", notFound),
            ("GET", "\(a)/datasets", Answer(status: 200, body: #"{"datasets":[],"nextPageToken":"","totalSize":0}"#)),
            ("GET", "\(a)/batchInferenceJobs", Answer(status: 200, body: #"{"batchInferenceJobs":[],"nextPageToken":"","totalSize":0}"#)),
        ]
        for (method, target, expected) in cases {
            XCTAssertEqual(try send(g, method, target), expected, "\(method) \(target)")
        }
        let verify = g.handle(try HTTPRequest(method: "GET", target: "/verifyApiKey"))
        XCTAssertEqual(verify.status.code, 200)
        XCTAssertEqual(verify.headers["x-fireworks-account-id"], "local")
    }

    func testRequestsAreCheckedAndBodyErrorsMapByType() throws {
        let g = try makeGateway()
        let a = "/v1/accounts/local"
        let create = #"{"datasetId":"ds","dataset":{"userUploaded":{},"exampleCount":"1","format":"CHAT"}}"#
        XCTAssertEqual(try send(g, "POST", "\(a)/datasets", body: create).status, 200)
        XCTAssertEqual(try send(g, "POST", "\(a)/datasets", body: create),
                       error(409, 6, #"dataset "accounts/local/datasets/ds" already exists"#))
        XCTAssertEqual(try send(g, "PATCH", "\(a)/datasets/ds", body: #"{"format":"NOPE"}"#),
                       error(400, 3, #"invalid value for enum field format: "NOPE""#))
        XCTAssertEqual(try send(g, "POST", "\(a)/datasets", body: #"{"datasetId":"d2","dataset":{"exampleCount":"1","format":"NOPE"}}"#),
                       error(400, 3, #"invalid value for enum field format: "NOPE""#))
        XCTAssertEqual(try send(g, "POST", "\(a)/datasets", body: #"{"datasetId":"d2","dataset":{"exampleCount":"1","state":"GONE"}}"#),
                       error(400, 3, #"invalid value for enum field state: "GONE""#))
        XCTAssertEqual(try send(g, "POST", "\(a)/batchInferenceJobs", body: #"{"model":"m","inputDatasetId":"ds","precision":"FP99"}"#),
                       error(400, 3, #"invalid value for enum field precision: "FP99""#))
        XCTAssertEqual(try send(g, "POST", "\(a)/batchInferenceJobs", body: #"{"model":"m","inputDatasetId":"ds"}"#),
                       error(400, 9, #"input dataset "accounts/local/datasets/ds" is UPLOADING, not READY"#))
        // A JSON body over 1 MiB is HTTPBodyError.tooLarge: 413 with the body error's text.
        let huge = "{\"displayName\":\"" + String(repeating: "x", count: 1 << 20) + "\"}"
        XCTAssertEqual(try send(g, "PATCH", "\(a)/datasets/ds", body: huge),
                       error(413, 3, HTTPBodyError.tooLarge(limit: 1 << 20).description))
        XCTAssertEqual(try send(g, "POST", "\(a)/datasets/ds:upload", body: "x", headers: ["Content-Type": "text/plain"]),
                       error(400, 3, "expected multipart/form-data with a boundary"))
        XCTAssertEqual(try send(g, "GET", "\(a)/datasets/ds:getDownloadEndpoint", body: "x"),
                       error(400, 3, "getDownloadEndpoint takes no request body"))
    }

    func testAPIKeyIsCheckedBeforeRoutingButNotOnSignedURLs() throws {
        let g = try makeGateway(apiKey: "secret")
        XCTAssertEqual(try send(g, "GET", "/nowhere"), error(401, 16, "missing API key: send Authorization: Bearer <key>"))
        // A wrong key gets the live front door's 403 envelope, not a google.rpc body.
        let wrong = try send(g, "GET", "/nowhere", headers: ["Authorization": "Bearer wrong"])
        XCTAssertEqual(wrong.status, 403)
        let envelope = try JSONValue(parsing: wrong.body)
        XCTAssertEqual(envelope["error"], .object([("message", .string("The API key you provided is invalid.")), ("code", .string("UNAUTHORIZED")),
                                                   ("type", .string("error")), ("param", .null)]))
        XCTAssertEqual(envelope["request_id"]?.stringValue?.count, 32)
        XCTAssertEqual(envelope.objectValue?.map(\.0), ["error", "request_id"])
        XCTAssertEqual(try send(g, "GET", "/nowhere", headers: ["Authorization": "Bearer secret"]), error(404, 5, "Not Found"))
        let signed = try send(g, "GET", "/storage/accounts/local/datasets/ds/f.jsonl")
        XCTAssertEqual(signed.status, 403, "no key needed, but no signature either: GCS's anonymous refusal")
        XCTAssertTrue(signed.body.contains("<Code>AccessDenied</Code>"), signed.body)
    }

    func testInjectedFaultsAnswerTheFirstRequestsThenStop() throws {
        let g = try makeGateway(fault: (status: 503, count: 2))
        XCTAssertEqual(try send(g, "GET", "/verifyApiKey"), error(503, 14, "injected fault"))
        XCTAssertEqual(try send(g, "GET", "/nowhere"), error(503, 14, "injected fault"))
        XCTAssertEqual(try send(g, "GET", "/verifyApiKey").status, 200)
        XCTAssertEqual(try send(g, "GET", "/storage/accounts/local/datasets/ds/f.jsonl").status, 403, "signed URLs skip faults")
    }
}
