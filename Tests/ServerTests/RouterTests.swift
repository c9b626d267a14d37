// The router on its own: paths to routes, 404 for unknown paths and verbs, 405 for a known path with a wrong
// method; and how the gateway answers each type of thrown error.
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
        XCTAssertEqual(Router.signedFile(try HTTPRequest(method: "PUT", target: "/signed/upload/tok"))?.token, "tok")
        XCTAssertEqual(Router.signedFile(try HTTPRequest(method: "GET", target: "/signed/download/tok"))?.operation, "download")
        XCTAssertNil(Router.signedFile(try HTTPRequest(method: "GET", target: "/signed/download")))
        XCTAssertNil(Router.signedFile(try HTTPRequest(method: "GET", target: "/signed/download/tok/more")))
    }

    func testUnknownPathsAre404AndWrongMethods405() {
        let a = "/v1/accounts/acct"
        for target in ["/", "/v1", "/v1/accounts/acct", "/v2/accounts/acct/datasets", "\(a)/models", "\(a)/datasets/ds/files",
                       "\(a)/datasets/ds:frobnicate", "\(a)/batchInferenceJobs/j:", "/signed/upload/tok"] {
            XCTAssertTrue(refusal("GET", target).map { $0 == (404, .notFound) } ?? false, target)
        }
        for (method, target) in [("PUT", "\(a)/datasets"), ("PATCH", "\(a)/batchInferenceJobs"), ("POST", "\(a)/datasets/ds"),
                                 ("PATCH", "\(a)/batchInferenceJobs/j"), ("GET", "\(a)/datasets/ds:upload"),
                                 ("GET", "\(a)/batchInferenceJobs/j:cancel"), ("POST", "\(a)/datasets/ds:cancel"),
                                 ("POST", "\(a)/batchInferenceJobs/j:upload"), ("DELETE", "/verifyApiKey"), ("get", "\(a)/datasets")] {
            XCTAssertTrue(refusal(method, target).map { $0 == (405, .unimplemented) } ?? false, "\(method) \(target)")
        }
        XCTAssertTrue(refusal("POST", "\(a)/datasets/ds:getDownloadEndpoint").map { $0 == (405, .invalidArgument) } ?? false,
                      "getDownloadEndpoint keeps its own 405 with code 3")
        XCTAssertTrue(refusal("GET", "/v1/accounts/Not_Valid/datasets").map { $0 == (400, .invalidArgument) } ?? false)
        XCTAssertTrue(refusal("GET", "\(a)/datasets/..").map { $0 == (400, .invalidArgument) } ?? false)
        XCTAssertTrue(refusal("GET", "\(a)/datasets/Bad:frobnicate").map { $0 == (400, .invalidArgument) } ?? false,
                      "the id is checked before the verb")
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
