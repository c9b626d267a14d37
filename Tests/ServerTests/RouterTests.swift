// The router on its own: paths to routes, grpc-gateway's 404 "Not Found" for unknown paths and verbs and 501
// "Method Not Allowed" for a known path with a wrong method; and how the gateway answers each type of thrown error.
import BatchAPI
import BatchHTTP
@testable import BatchServer
import Glibc
import XCTest

final class RouterTests: XCTestCase {
    func route(_ method: String, _ target: String) throws -> Route {
        try Router.route(HTTPRequest(method: method, target: target))
    }

    /// The HTTP status and gateway code the router refuses a request with.
    func refusal(_ method: String, _ target: String, file: StaticString = #filePath, line: UInt = #line) -> (Int, StatusCode)? {
        do {
            let r = try route(method, target)
            XCTFail("\(method) \(target) routed to \(r)", file: file, line: line)
        } catch let e as GatewayError {
            return (e.httpStatus, e.code)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
        return nil
    }

    func testKnownPathsResolve() throws {
        let a = "/v1/accounts/acct"
        XCTAssertEqual(try route("GET", "/verifyApiKey"), .verifyAPIKey)
        XCTAssertEqual(try route("GET", "\(a)/datasets?pageSize=2"), .dataset(.list, account: "acct"))
        XCTAssertEqual(try route("POST", "\(a)/datasets"), .dataset(.create, account: "acct"))
        XCTAssertEqual(try route("GET", "\(a)/datasets/ds"), .dataset(.get(id: "ds"), account: "acct"))
        XCTAssertEqual(try route("PATCH", "\(a)/datasets/ds"), .dataset(.update(id: "ds"), account: "acct"))
        XCTAssertEqual(try route("DELETE", "\(a)/datasets/ds"), .dataset(.delete(id: "ds"), account: "acct"))
        XCTAssertEqual(try route("POST", "\(a)/datasets/ds:upload"), .dataset(.upload(id: "ds"), account: "acct"))
        XCTAssertEqual(try route("POST", "\(a)/datasets/ds:getUploadEndpoint"), .dataset(.getUploadEndpoint(id: "ds"), account: "acct"))
        XCTAssertEqual(try route("POST", "\(a)/datasets/ds:validateUpload"), .dataset(.validateUpload(id: "ds"), account: "acct"))
        XCTAssertEqual(try route("GET", "\(a)/datasets/ds:getDownloadEndpoint?downloadLineage=true"),
                       .dataset(.getDownloadEndpoint(id: "ds"), account: "acct"))
        XCTAssertEqual(try route("GET", "\(a)/batchInferenceJobs"), .job(.list, account: "acct"))
        XCTAssertEqual(try route("POST", "\(a)/batchInferenceJobs?batchInferenceJobId=j"), .job(.create, account: "acct"))
        XCTAssertEqual(try route("GET", "\(a)/batchInferenceJobs/j"), .job(.get(id: "j"), account: "acct"))
        XCTAssertEqual(try route("DELETE", "\(a)/batchInferenceJobs/j"), .job(.delete(id: "j"), account: "acct"))
        XCTAssertEqual(try route("POST", "\(a)/batchInferenceJobs/j:cancel"), .job(.cancel(id: "j"), account: "acct"))
        XCTAssertEqual(try route("GET", "\(a)/datasets/ds%3AgetDownloadEndpoint"), .dataset(.getDownloadEndpoint(id: "ds"), account: "acct"),
                       "the colon may come percent-encoded")
    }

    func testSignedFilePathsAreRecognisedBeforeAnythingElse() throws {
        let object = Router.signedFile(try HTTPRequest(method: "PUT", target: "/storage/accounts/a/datasets/ds/in.jsonl?X-Goog-Date=x"))
        XCTAssertEqual(object, StorageObject(account: "a", dataset: "ds", file: "in.jsonl"))
        XCTAssertEqual(object?.path, "/storage/accounts/a/datasets/ds/in.jsonl")
        for target in ["/storage/accounts/a/datasets/ds", "/storage/accounts/a/datasets/ds/f/more", "/storage/accounts/a/jobs/ds/f",
                       "/storage/accounts/a/datasets/Bad/f", "/storage/accounts/a/datasets/ds/.hidden", "/signed/download/tok"] {
            XCTAssertNil(Router.signedFile(try HTTPRequest(method: "GET", target: target)), target)
        }
    }

    func testUnknownPathsAre404AndWrongMethods501AsGrpcGatewayAnswers() throws {
        let a = "/v1/accounts/acct"
        for target in ["/", "/v1", "/v1/accounts/acct", "/v2/accounts/acct/datasets", "\(a)/models", "\(a)/datasets/ds/files",
                       "\(a)/datasets/ds:frobnicate", "\(a)/batchInferenceJobs/j:", "/signed/upload/tok", "\(a)/datasets/ds:cancel",
                       "\(a)/batchInferenceJobs/j:upload", "/v1/accounts/Not_Valid/models"] {
            XCTAssertTrue(refusal("GET", target).map { $0 == (404, .notFound) } ?? false, target)
            do { _ = try route("POST", target) } catch let e as GatewayError { XCTAssertEqual(e.message, "Not Found", target) }
        }
        for (method, target) in [("PUT", "\(a)/datasets"), ("PATCH", "\(a)/batchInferenceJobs"), ("POST", "\(a)/datasets/ds"),
                                 ("PATCH", "\(a)/batchInferenceJobs/j"), ("GET", "\(a)/datasets/ds:upload"),
                                 ("GET", "\(a)/batchInferenceJobs/j:cancel"), ("POST", "\(a)/datasets/ds:getDownloadEndpoint"),
                                 ("DELETE", "/verifyApiKey"), ("get", "\(a)/datasets")] {
            XCTAssertTrue(refusal(method, target).map { $0 == (501, .unimplemented) } ?? false, "\(method) \(target)")
            do { _ = try route(method, target) } catch let e as GatewayError { XCTAssertEqual(e.message, "Method Not Allowed") }
        }
        XCTAssertTrue(refusal("GET", "/v1/accounts/Not_Valid/datasets").map { $0 == (400, .invalidArgument) } ?? false)
        XCTAssertTrue(refusal("GET", "\(a)/datasets/..").map { $0 == (400, .invalidArgument) } ?? false)
        XCTAssertTrue(refusal("POST", "\(a)/datasets/Bad:upload").map { $0 == (400, .invalidArgument) } ?? false,
                      "a path that matches a route has its id checked")
    }

    func testThrownErrorsAreAnsweredByType() {
        func answer(_ error: Error) -> (Int, StatusCode, String) {
            let e = Gateway.answer(for: error)
            return (e.httpStatus, e.code, e.message)
        }
        XCTAssertTrue(answer(HTTPBodyError.tooLarge(limit: 10)) == (413, .invalidArgument, "request body is larger than 10 bytes"))
        XCTAssertTrue(answer(HTTPBodyError.malformed("bad chunk")) == (400, .invalidArgument, "malformed request body: bad chunk"))
        XCTAssertTrue(answer(HTTPBodyError.timedOut) == (400, .invalidArgument, "timed out reading the request body"))
        XCTAssertTrue(answer(ProtoJSONError("unknown field \"x\"")) == (400, .invalidArgument, "unknown field \"x\""))
        XCTAssertTrue(answer(MultipartError(message: "multipart body ends early")) == (400, .invalidArgument, "multipart body ends early"))
        XCTAssertTrue(answer(GatewayError(.failedPrecondition, "busy")) == (400, .failedPrecondition, "busy"))
        let full = FileError("write", "/data/x", errno: ENOSPC)
        XCTAssertTrue(full.isDiskFull)
        // A full disk is retryable on every route: 503 UNAVAILABLE, never 400 or 500.
        XCTAssertTrue(answer(full) == (503, .unavailable, Gateway.diskFull.message))
        XCTAssertTrue(answer(HTTPBodyError.destinationWriteFailed(errno: ENOSPC)).0 == 503)
        XCTAssertTrue(answer(StoreError.io("save", ENOSPC)).0 == 503)
        XCTAssertTrue(answer(FileError("write", "/data/x", errno: EIO)).0 == 500)
    }
}
