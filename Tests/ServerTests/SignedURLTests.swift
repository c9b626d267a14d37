// Signed file URLs as Google Cloud Storage V4 shapes and answers them (issue 12 item 4), bound to the dataset's
// state (issue 14 item 5): single-use upload URLs, only while UPLOADING, download URLs bound to the generation.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation
@testable import BatchServer
import XCTest

final class SignedURLTests: XCTestCase {
    let a = InProcessGateway.a
    let body = Array(InProcessGateway.rows(2).utf8)

    /// A dataset awaiting upload and the signed PUT URL for its one file.
    func uploadURL(_ g: InProcessGateway, _ id: String = "ds", size: Int? = nil) throws -> String {
        if g.gateway.store.dataset("local", id) == nil {
            XCTAssertEqual(try g.send("POST", "\(a)/datasets", body: #"{"datasetId":"\#(id)","dataset":{"userUploaded":{},"exampleCount":"2"}}"#).status, 200)
        }
        let answer = try g.send("POST", "\(a)/datasets/\(id):getUploadEndpoint", body: #"{"filenameToSize":{"in.jsonl":"\#(size ?? body.count)"}}"#)
        XCTAssertEqual(answer.status, 200, answer.text)
        return try XCTUnwrap(answer.json["filenameToSignedUrls"]?["in.jsonl"]?.stringValue)
    }

    func put(_ g: InProcessGateway, _ url: String, contentType: String = "application/octet-stream", range: String? = nil,
             bytes: [UInt8]? = nil) throws -> InProcessGateway.Answer {
        let data = bytes ?? body
        return try g.send("PUT", InProcessGateway.target(of: url), bytes: data,
                          headers: ["Content-Type": contentType, "X-Goog-Content-Length-Range": range ?? "\(data.count),\(data.count)"])
    }

    func code(_ answer: InProcessGateway.Answer) -> String? {
        guard let open = answer.text.range(of: "<Code>"), let close = answer.text.range(of: "</Code>") else { return nil }
        return String(answer.text[open.upperBound..<close.lowerBound])
    }

    func testURLsHaveTheShapeOfGCSV4SignedURLsAndStartWithThePublicURL() throws {
        let g = try InProcessGateway(publicURL: "https://batch.example.com/gw/")
        let url = try uploadURL(g)
        XCTAssertTrue(url.hasPrefix("https://batch.example.com/gw/storage/accounts/local/datasets/ds/in.jsonl?"), url)
        let query = try HTTPRequest(method: "PUT", target: InProcessGateway.target(of: url)).query
        let names = Set(query.map(\.name))
        for name in ["X-Goog-Algorithm", "X-Goog-Credential", "X-Goog-Date", "X-Goog-Expires", "X-Goog-SignedHeaders", "X-Goog-Signature"] {
            XCTAssertTrue(names.contains(name), "\(name) in \(url)")
        }
        func value(_ n: String) -> String? { query.first { $0.name == n }?.value }
        XCTAssertEqual(value("X-Goog-Algorithm"), "GOOG4-HMAC-SHA256")
        XCTAssertEqual(value("X-Goog-SignedHeaders"), "content-type;host;x-goog-content-length-range")
        XCTAssertEqual(value("X-Goog-Expires"), "3600")
        XCTAssertEqual(value("X-Goog-Credential")?.split(separator: "/").suffix(3), ["auto", "storage", "goog4_request"])
        XCTAssertEqual(value("X-Goog-Signature")?.count, 64, "a hex SHA-256 HMAC")
        XCTAssertNotNil(value("X-Goog-Date")?.range(of: #"^\d{8}T\d{6}Z$"#, options: .regularExpression))
        // Without --public-url, the listen address: never the request's Host header.
        let local = try InProcessGateway()
        let answer = try local.send("POST", "\(a)/datasets", body: #"{"datasetId":"ds","dataset":{"userUploaded":{},"exampleCount":"2"}}"#)
        XCTAssertEqual(answer.status, 200)
        let minted = try local.send("POST", "\(a)/datasets/ds:getUploadEndpoint", body: #"{"filenameToSize":{"in.jsonl":"5"}}"#,
                                    // (A foreign Host is refused outright; a loopback name is let in, and still not used.)
                                    headers: ["Host": "localhost:9999"]).json["filenameToSignedUrls"]?["in.jsonl"]?.stringValue ?? ""
        XCTAssertTrue(minted.hasPrefix("http://127.0.0.1:8700/storage/"), minted)
    }

    func testTheHappyPathIsAnEmpty200WithAnETagAndTheDatasetBecomesReady() throws {
        let g = try InProcessGateway(publicURL: "https://batch.example.com")
        let url = try uploadURL(g)
        let answer = try put(g, url)
        XCTAssertEqual(answer.status, 200, answer.text)
        XCTAssertEqual(answer.body, [], "GCS answers a PUT with an empty body")
        let etag = try XCTUnwrap(answer.headers["ETag"])
        XCTAssertNotNil(etag.range(of: #"^"[0-9a-f]{32}"$"#, options: .regularExpression), etag)
        XCTAssertEqual(try g.send("POST", "\(a)/datasets/ds:validateUpload", body: "{}").status, 200)
        let d = try g.send("GET", "\(a)/datasets/ds").json
        XCTAssertEqual(d["state"], .string("READY"))
        XCTAssertEqual(d["estimatedTokenCount"]?.stringValue.flatMap(Int.init).map { $0 > 0 }, true, "counted at validation")
        XCTAssertEqual(d["averageTurnCount"], .number("1"))
        XCTAssertEqual(d["encryptionState"], .string("ENCRYPTION_STATE_PLAINTEXT"))
        // A proxy that rewrites Host does not break the URL: the signed host is the one it was minted for.
        let download = try XCTUnwrap(g.send("GET", "\(a)/datasets/ds:getDownloadEndpoint").json["filenameToSignedUrls"]?["dataset/ds/in.jsonl"]?.stringValue)
        let got = try g.send("GET", InProcessGateway.target(of: download), headers: ["Host": "127.0.0.1:9"])
        XCTAssertEqual(got.status, 200, got.text)
        XCTAssertEqual(got.body, body)
        XCTAssertNotNil(got.headers["ETag"])
    }

    func testAnythingButTheSignedHeadersAndQueryIsSignatureDoesNotMatch() throws {
        let g = try InProcessGateway(publicURL: "https://batch.example.com")
        let url = try uploadURL(g)
        var answer = try put(g, url, range: "0,\(body.count)")
        XCTAssertEqual(answer.status, 403, "a range that merely contains the size is not what was signed: \(answer.text)")
        XCTAssertEqual(code(answer), "SignatureDoesNotMatch")
        XCTAssertTrue(answer.text.hasPrefix("<?xml version='1.0' encoding='UTF-8'?><Error>"), answer.text)
        XCTAssertTrue(answer.text.contains("<StringToSign>GOOG4-HMAC-SHA256\n"), answer.text)
        XCTAssertTrue(answer.text.contains("<CanonicalRequest>PUT\n/storage/accounts/local/datasets/ds/in.jsonl\n"), answer.text)
        XCTAssertEqual(answer.headers["Content-Type"], "application/xml; charset=UTF-8")

        answer = try put(g, url, contentType: "application/json")
        XCTAssertEqual(answer.status, 403)
        XCTAssertEqual(code(answer), "SignatureDoesNotMatch", "the content type is signed")

        answer = try g.send("PUT", InProcessGateway.target(of: url), bytes: body)
        XCTAssertEqual(code(answer), "SignatureDoesNotMatch", "no headers at all")

        for (from, to) in [("X-Goog-Expires=3600", "X-Goog-Expires=7200"), ("generation=", "generation=1"),
                           ("/in.jsonl?", "/other.jsonl?")] {
            answer = try g.send("PUT", InProcessGateway.target(of: url.replacingOccurrences(of: from, with: to)), bytes: body,
                                headers: ["Content-Type": "application/octet-stream", "X-Goog-Content-Length-Range": "\(body.count),\(body.count)"])
            XCTAssertEqual(answer.status, 403, "\(from) -> \(to): \(answer.text)")
            XCTAssertEqual(code(answer), "SignatureDoesNotMatch", from)
        }
        answer = try g.send("GET", InProcessGateway.target(of: url))
        XCTAssertEqual(code(answer), "SignatureDoesNotMatch", "the method is signed: an upload URL reads nothing")

        // The untouched URL still works afterwards.
        XCTAssertEqual(try put(g, url).status, 200)
    }

    func testAnExpiredURLIsAnsweredAsGCSAnswersIt() throws {
        let g = try InProcessGateway(publicURL: "https://batch.example.com")
        _ = try uploadURL(g)
        let session = try XCTUnwrap(g.gateway.uploadSession("local", "ds"))
        let now = Int(Date().timeIntervalSince1970)
        let stale = g.gateway.signer.url(base: g.gateway.mintedBase.current, method: "PUT",
                                         path: StorageObject(account: "local", dataset: "ds", file: "in.jsonl").path,
                                         extraQuery: [("generation", session.generation)],
                                         headers: Gateway.uploadHeaders(size: Int64(body.count)), now: now - 7200, expires: 3600)
        let answer = try put(g, stale)
        XCTAssertEqual(answer.status, 400, answer.text)
        XCTAssertEqual(code(answer), "ExpiredToken")
        XCTAssertTrue(answer.text.contains("<Message>Invalid argument.</Message>"), answer.text)
    }

    func testAnUploadURLWritesOnceOnlyWhileUploadingAndOnlyInItsSession() throws {
        // Issue 14, finding 6: a URL replayed after validateUpload swapped a READY dataset's bytes without a key.
        let g = try InProcessGateway(publicURL: "https://batch.example.com")
        let url = try uploadURL(g)
        XCTAssertEqual(try put(g, url).status, 200)
        var answer = try put(g, url)
        XCTAssertEqual(answer.status, 412, "single use: \(answer.text)")
        XCTAssertEqual(code(answer), "ConditionNotMet")
        XCTAssertEqual(try g.send("POST", "\(a)/datasets/ds:validateUpload", body: "{}").status, 200)
        let other = Array(InProcessGateway.rows(2, prefix: "x").utf8)
        XCTAssertEqual(other.count, body.count)
        answer = try put(g, url, bytes: other)
        XCTAssertEqual(answer.status, 412, "a READY dataset's files never change through a signed URL: \(answer.text)")
        let file = g.gateway.store.datasetFilesDir("local", "ds") + "/in.jsonl"
        XCTAssertEqual(FileManager.default.contents(atPath: file).map { [UInt8]($0) }, body, "the bytes are the validated ones")
        // Uploading again takes the dataset back to UPLOADING under a new session: the old URL stays dead.
        XCTAssertEqual(try g.send("POST", "\(a)/datasets/ds:getUploadEndpoint", body: #"{"filenameToSize":{"in.jsonl":"5"}}"#).status, 200)
        XCTAssertEqual(try g.send("GET", "\(a)/datasets/ds").json["state"], .string("UPLOADING"))
        XCTAssertEqual(try put(g, url, bytes: other).status, 412, "a URL of an earlier session writes nothing")
        XCTAssertEqual(FileManager.default.contents(atPath: file).map { [UInt8]($0) }, body)

        // A later getUploadEndpoint call retires the URLs of the one before.
        let first = try uploadURL(g, "ds2")
        let second = try uploadURL(g, "ds2")
        answer = try put(g, first)
        XCTAssertEqual(answer.status, 412, answer.text)
        XCTAssertEqual(try put(g, second).status, 200)
    }

    func testADownloadURLIsBoundToTheDatasetGeneration() throws {
        let g = try InProcessGateway(publicURL: "https://batch.example.com")
        try g.makeDataset("ds")
        let old = try XCTUnwrap(g.send("GET", "\(a)/datasets/ds:getDownloadEndpoint").json["filenameToSignedUrls"]?["dataset/ds/input.jsonl"]?.stringValue)
        XCTAssertEqual(try g.send("GET", InProcessGateway.target(of: old)).status, 200)
        XCTAssertEqual(try g.send("DELETE", "\(a)/datasets/ds").status, 200)
        var answer = try g.send("GET", InProcessGateway.target(of: old))
        XCTAssertEqual(answer.status, 404)
        XCTAssertEqual(code(answer), "NoSuchKey")
        // Deleted and created again under the same id, with new bytes: the old URL still finds nothing.
        try g.makeDataset("ds", InProcessGateway.rows(4, prefix: "new"))
        answer = try g.send("GET", InProcessGateway.target(of: old))
        XCTAssertEqual(answer.status, 404, "an old URL must not serve the new dataset: \(answer.text)")
        XCTAssertEqual(code(answer), "NoSuchKey")
        let fresh = try XCTUnwrap(g.send("GET", "\(a)/datasets/ds:getDownloadEndpoint").json["filenameToSignedUrls"]?["dataset/ds/input.jsonl"]?.stringValue)
        XCTAssertEqual(try g.send("GET", InProcessGateway.target(of: fresh)).text, InProcessGateway.rows(4, prefix: "new"))
    }

    func testWrongSizesAndUnsignedRequests() throws {
        let g = try InProcessGateway(publicURL: "https://batch.example.com")
        let url = try uploadURL(g, size: body.count + 5)
        // Signed for N+5 bytes, sent N: the signed range is N+5,N+5, the body is shorter.
        let answer = try put(g, url, range: "\(body.count + 5),\(body.count + 5)")
        XCTAssertEqual(answer.status, 400, answer.text)
        XCTAssertEqual(code(answer), "EntityTooSmall")
        let unsigned = try g.send("GET", "/storage/accounts/local/datasets/ds/in.jsonl")
        XCTAssertEqual(unsigned.status, 403)
        XCTAssertEqual(code(unsigned), "AccessDenied")
    }

    func testPublicURLsAreCheckedAtStart() throws {
        for bad in ["ftp://x", "batch.example.com", "https://", "https://h:99999", "https://h/a?b=1", "https://h/../x", "https://u@h"] {
            var options = ServerOptions(dataDir: NSTemporaryDirectory() + "batchctl-publicurl-\(UUID().uuidString.prefix(8))")
            options.quiet = true
            options.publicURL = bad
            XCTAssertThrowsError(try LocalGatewayServer(options: options), bad) { error in
                XCTAssertEqual((error as? ServerStartError)?.isUsage, true, bad)
                XCTAssertTrue("\(error)".contains("--public-url"), "\(error)")
            }
            try? FileManager.default.removeItem(atPath: options.dataDir)
        }
        XCTAssertEqual(try PublicBase.parse("HTTPS://Batch.Example.com:8443/gw/").get(),
                       PublicBase(scheme: "https", authority: "batch.example.com:8443", pathPrefix: "/gw"))
        XCTAssertEqual(try PublicBase.parse("http://[::1]:8700").get().authority, "[::1]:8700")
    }
}
