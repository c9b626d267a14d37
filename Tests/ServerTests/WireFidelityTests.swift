// The gateway's answers next to live Fireworks' (issue 12): presence of optional scalars, fields as live, the
// SDK's whole dataset surface (sourceDatasetId, update, readMask), filters on any scalar field, page tokens bound
// to their query, placement.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation
@testable import BatchServer
import XCTest

final class WireFidelityTests: XCTestCase {
    let a = InProcessGateway.a

    func createJob(_ g: InProcessGateway, _ id: String, _ fields: String) throws -> InProcessGateway.Answer {
        try g.send("POST", "\(a)/batchInferenceJobs?batchInferenceJobId=\(id)",
                   body: #"{"model":"accounts/fireworks/models/m","inputDatasetId":"accounts/local/datasets/in"\#(fields)}"#)
    }

    func testInferenceParametersKeepPresenceAndUnsetFieldsAreNull() throws {
        let g = try InProcessGateway()
        try g.makeDataset("in")
        var answer = try createJob(g, "greedy", #","inferenceParameters":{"temperature":0,"top_k":0,"maxTokens":0}"#)
        XCTAssertEqual(answer.status, 200, answer.text)
        XCTAssertEqual(answer.json["inferenceParameters"], .object([("maxTokens", .number("0")), ("temperature", .number("0")), ("topK", .number("0"))]),
                       "set zeros are kept; unset fields are absent, not 0")
        XCTAssertEqual(try g.send("GET", "\(a)/batchInferenceJobs/greedy").json["inferenceParameters"], answer.json["inferenceParameters"],
                       "and stored so")
        answer = try createJob(g, "plain", "")
        let job = answer.json
        XCTAssertEqual(job["inferenceParameters"], .null)
        XCTAssertEqual(job["lifecycle"], .null, "null until the job is validated, as live")
        XCTAssertEqual(job["maxJobDuration"], .null, "the default applies through expireTime only")
        XCTAssertEqual(job["placement"], .null)
        XCTAssertEqual(job["createdBy"], .string("local@localhost"))
        let created = try XCTUnwrap(job["createTime"]?.stringValue.flatMap(Timestamp.date(from:)))
        let expires = try XCTUnwrap(job["expireTime"]?.stringValue.flatMap(Timestamp.date(from:)))
        XCTAssertEqual(expires.timeIntervalSince(created), 24 * 3600, accuracy: 1)
        // Nanoseconds, as protojson prints them (9 digits unless the last groups are zero); two stamps make a
        // 1-in-a-million chance that both end in 000.
        let stamps = [job["createTime"]?.stringValue ?? "", try g.send("GET", "\(a)/datasets/in").json["createTime"]?.stringValue ?? ""]
        XCTAssertTrue(stamps.contains { $0.range(of: #"\.\d{9}Z$"#, options: .regularExpression) != nil }, "\(stamps)")

        answer = try createJob(g, "placed", #","placement":{"region":"US_IOWA_1"},"maxJobDuration":"86400s""#)
        XCTAssertEqual(answer.json["placement"], .object([("region", .string("US_IOWA_1"))]))
        XCTAssertEqual(answer.json["maxJobDuration"], .string("86400s"))
        answer = try createJob(g, "bad", #","placement":{"zone":"x"}"#)
        XCTAssertEqual(answer.status, 400)
        XCTAssertEqual(answer.json["message"], .string(#"unknown field "zone" in placement"#))

        let custom = try InProcessGateway(createdBy: "alice@example.com")
        try custom.makeDataset("in")
        XCTAssertEqual(try custom.send("GET", "\(a)/datasets/in").json["createdBy"], .string("alice@example.com"))
    }

    func testDatasetFieldsAsLive() throws {
        let g = try InProcessGateway()
        let created = try g.send("POST", "\(a)/datasets", body: #"{"datasetId":"d","dataset":{"userUploaded":{},"exampleCount":"3"}}"#).json
        XCTAssertEqual(created["encryptionState"], .string("ENCRYPTION_STATE_PLAINTEXT"))
        XCTAssertEqual(created["estimatedTokenCount"], .string("0"))
        let multi = #"{"custom_id": "m1", "body": {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]}}"#
            + "\n" + #"{"custom_id": "m2", "body": {"messages": [{"role": "user", "content": "one more question"}]}}"# + "\n"
        let d = try g.makeDataset("e", multi)
        XCTAssertEqual(d["averageTurnCount"], .number("1.5"), "from the validator at upload")
        let tokens = try XCTUnwrap(d["estimatedTokenCount"]?.stringValue.flatMap(Int.init))
        XCTAssertGreaterThan(tokens, 0)
        XCTAssertEqual(d["encryptionState"], .string("ENCRYPTION_STATE_PLAINTEXT"))
    }

    func testCreateFromASourceDatasetCopiesItsFilesAndIsReadyAtOnce() throws {
        let g = try InProcessGateway()
        try g.makeDataset("src", InProcessGateway.rows(4))
        let answer = try g.send("POST", "\(a)/datasets", body: #"{"datasetId":"copy","dataset":{"displayName":"c"},"sourceDatasetId":"accounts/local/datasets/src"}"#)
        XCTAssertEqual(answer.status, 200, answer.text)
        XCTAssertEqual(answer.json["state"], .string("READY"))
        XCTAssertEqual(answer.json["exampleCount"], .string("4"))
        XCTAssertEqual(answer.json["transformed"]?["sourceDatasetId"], .string("accounts/local/datasets/src"))
        XCTAssertNil(answer.json["userUploaded"])
        let copied = g.gateway.store.datasetFilesDir("local", "copy") + "/input.jsonl"
        XCTAssertEqual(try String(contentsOfFile: copied, encoding: .utf8), InProcessGateway.rows(4))
        var refused = try g.send("POST", "\(a)/datasets", body: #"{"datasetId":"f","dataset":{},"sourceDatasetId":"src","filter":"x = 1"}"#)
        XCTAssertEqual(refused.status, 400)
        XCTAssertTrue(refused.json["message"]?.stringValue?.contains("not supported by the local gateway") ?? false, refused.text)
        refused = try g.send("POST", "\(a)/datasets", body: #"{"datasetId":"f","dataset":{},"sourceDatasetId":"nope"}"#)
        XCTAssertEqual(refused.status, 400, refused.text)
    }

    func testUpdateTakesEveryFieldTheSDKSends() throws {
        let g = try InProcessGateway()
        try g.makeDataset("d")
        let path = "\(a)/datasets/d"
        var answer = try g.send("PATCH", path, body: #"{"displayName":"New","exampleCount":"9","format":"COMPLETION","externalUrl":"gs://b/x","sourceJobName":"accounts/local/batchInferenceJobs/j","userUploaded":{}}"#)
        XCTAssertEqual(answer.status, 200, answer.text)
        XCTAssertEqual(answer.json["displayName"], .string("New"))
        XCTAssertEqual(answer.json["exampleCount"], .string("9"))
        XCTAssertEqual(answer.json["format"], .string("COMPLETION"))
        XCTAssertEqual(answer.json["externalUrl"], .string("gs://b/x"))
        XCTAssertEqual(answer.json["sourceJobName"], .string("accounts/local/batchInferenceJobs/j"))
        for (field, value) in [("transformed", #"{"sourceDatasetId":"x"}"#), ("splitted", #"{"sourceDatasetId":"x"}"#),
                               ("evaluationResult", #"{"evaluationJobId":"x"}"#), ("evalProtocol", "{}")] {
            answer = try g.send("PATCH", path, body: #"{"\#(field)":\#(value)}"#)
            XCTAssertEqual(answer.status, 400, field)
            XCTAssertEqual(answer.json["message"], .string("the source of a dataset (\(field)) cannot be changed after it is created"))
        }
        answer = try g.send("PATCH", path, body: #"{"state":"UPLOADING"}"#)
        XCTAssertEqual(answer.json["message"], .string("field state is output only: the gateway sets it"))
        answer = try g.send("PATCH", path, body: #"{"frob":1}"#)
        XCTAssertEqual(answer.json["message"], .string(#"unknown field "frob""#))
    }

    func testReadMaskOnGetListAndTheEndpoints() throws {
        let g = try InProcessGateway()
        try g.makeDataset("d", displayName: "Dee")
        XCTAssertEqual(try g.send("GET", "\(a)/datasets/d?readMask=name,state").json,
                       .object([("name", .string("accounts/local/datasets/d")), ("state", .string("READY"))]))
        XCTAssertEqual(try g.send("GET", "\(a)/datasets/d?read_mask=display_name,status.code").json,
                       .object([("displayName", .string("Dee")), ("status", .object([("code", .string("OK"))]))]), "both spellings, subfields")
        XCTAssertEqual(try g.send("GET", "\(a)/datasets/d?readMask=*").json.objectValue?.count, try g.send("GET", "\(a)/datasets/d").json.objectValue?.count)
        XCTAssertEqual(try g.send("GET", "\(a)/datasets/d?readMask=transformed").json, .object([]), "an unset oneof member is just absent")
        XCTAssertEqual(try g.send("GET", "\(a)/datasets/d?readMask=nope").status, 400)
        let list = try g.send("GET", "\(a)/datasets?readMask=name").json
        XCTAssertEqual(list["datasets"], .array([.object([("name", .string("accounts/local/datasets/d"))])]))
        XCTAssertEqual(list["totalSize"], .number("1"))
        let download = try g.send("GET", "\(a)/datasets/d:getDownloadEndpoint?readMask=filenameToSignedUrls").json
        XCTAssertEqual(download["filenameToSignedUrls"]?.objectValue?.count, 1)
        XCTAssertEqual(try g.send("GET", "\(a)/datasets/d:getDownloadEndpoint?readMask=other").status, 400)
        try g.send("POST", "\(a)/datasets", body: #"{"datasetId":"u","dataset":{"userUploaded":{},"exampleCount":"1"}}"#)
        let upload = try g.send("POST", "\(a)/datasets/u:getUploadEndpoint", body: #"{"filenameToSize":{"a.jsonl":"3"},"readMask":"filename_to_signed_urls"}"#)
        XCTAssertEqual(upload.status, 200, upload.text)
        XCTAssertNotNil(upload.json["filenameToSignedUrls"]?["a.jsonl"])
        try g.makeDataset("in")
        XCTAssertEqual(try createJob(g, "j", "").status, 200)
        XCTAssertEqual(try g.send("GET", "\(a)/batchInferenceJobs/j?readMask=state,job_progress").json,
                       .object([("state", .string("JOB_STATE_VALIDATING")), ("jobProgress", .null)]))
    }

    func testFiltersOnAnyScalarFieldOrderAliasesAndPageTokensBoundToTheirQuery() throws {
        let g = try InProcessGateway()
        for (i, name) in ["c", "a", "b"].enumerated() { try g.makeDataset(name, InProcessGateway.rows(i + 1), displayName: "set-\(name)") }
        func names(_ query: String) throws -> [String] {
            let answer = try g.send("GET", "\(a)/datasets?\(query)")
            XCTAssertEqual(answer.status, 200, "\(query): \(answer.text)")
            return (answer.json["datasets"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue?.split(separator: "/").last.map(String.init) }
        }
        let q = { (s: String) in s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }
        XCTAssertEqual(try names("filter=" + q(#"display_name = "set-b""#)), ["b"])
        XCTAssertEqual(try names("filter=" + q("exampleCount > 1")), ["a", "b"])
        XCTAssertEqual(try names("filter=" + q(#"encryption_state = "ENCRYPTION_STATE_PLAINTEXT" AND average_turn_count = 1"#)), ["a", "b", "c"])
        XCTAssertEqual(try names("filter=" + q(#"status.code = "OK""#)), ["a", "b", "c"], "subfields by their dotted path")
        XCTAssertEqual(try names("order_by=" + q("created_time desc")), ["b", "a", "c"], "the SDK's spelling of create_time")
        XCTAssertEqual(try g.send("GET", "\(a)/datasets?filter=" + q("nope = 1")).status, 400)

        // Paging with page_size=1: each token continues only the query that made it.
        var seen: [String] = []
        var token = ""
        repeat {
            let answer = try g.send("GET", "\(a)/datasets?page_size=1&order_by=name&pageToken=\(token)")
            seen += (answer.json["datasets"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            token = answer.json["nextPageToken"]?.stringValue ?? ""
            if seen.count == 1 {
                for other in ["page_size=2&order_by=name", "page_size=1&order_by=name%20desc", "page_size=1&order_by=name&filter=" + q("example_count > 0")] {
                    let reused = try g.send("GET", "\(a)/datasets?\(other)&pageToken=\(token)")
                    XCTAssertEqual(reused.status, 400, other)
                    XCTAssertEqual(reused.json["code"], .number("3"))
                }
                XCTAssertEqual(try g.send("GET", "\(a)/datasets?pageToken=" + Base64URLTestHelper.encode("o:1")).status, 400, "old-style tokens are not accepted")
            }
        } while !token.isEmpty && seen.count < 10
        XCTAssertEqual(seen, ["a", "b", "c"].map { "accounts/local/datasets/\($0)" })

        // Jobs: nested scalar fields too.
        try g.makeDataset("in")
        XCTAssertEqual(try createJob(g, "hot", #","inferenceParameters":{"temperature":1.5}"#).status, 200)
        XCTAssertEqual(try createJob(g, "cold", #","inferenceParameters":{"temperature":0}"#).status, 200)
        let jobs = try g.send("GET", "\(a)/batchInferenceJobs?filter=" + q("inference_parameters.temperature = 0")).json
        XCTAssertEqual(jobs["batchInferenceJobs"]?.arrayValue?.compactMap { $0["name"]?.stringValue }, ["accounts/local/batchInferenceJobs/cold"])
    }
}

/// Base64url without padding, for hand-made page tokens.
enum Base64URLTestHelper {
    static func encode(_ text: String) -> String {
        Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
