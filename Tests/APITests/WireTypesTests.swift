// The wire contract: protojson rules, resource names, times, durations and both error shapes.
import BatchAPI
import BatchJSONL
import XCTest

final class WireTypesTests: XCTestCase {
    func testDatasetRoundTripKeepsUnpopulatedFieldsAndInt64Strings() throws {
        let text = #"{"datasetId":"x","dataset":{"user_uploaded":{},"example_count":3,"format":"CHAT"}}"#
        let body = try ProtoObject(JSONValue(parsing: text))
        var d = try Dataset(json: body.value("dataset")!, strict: true)
        XCTAssertEqual(d.exampleCount, 3, "a number is accepted for an int64")
        d.name = "accounts/a/datasets/x"
        let out = d.json
        XCTAssertEqual(out["exampleCount"], .string("3"), "int64 goes out as a string")
        XCTAssertEqual(out["displayName"], .string(""), "unpopulated fields are present")
        XCTAssertEqual(out["createTime"], .null, "an unset message is null")
        XCTAssertEqual(out["userUploaded"], .object([]))
        XCTAssertNil(out["evaluationResult"], "unset oneof members are omitted")
        XCTAssertEqual(try Dataset(json: out), d, "round trip")
    }

    func testUnknownFieldsAndBadEnumsAreRefusedInRequests() {
        XCTAssertThrowsError(try Dataset(json: JSONValue(parsing: #"{"foo": 1}"#), strict: true)) { error in
            XCTAssertEqual((error as? ProtoJSONError)?.message, #"unknown field "foo" in dataset"#)
        }
        XCTAssertNoThrow(try Dataset(json: JSONValue(parsing: #"{"foo": 1}"#)), "answers from a newer gateway are read leniently")
        XCTAssertThrowsError(try BatchInferenceJob(json: JSONValue(parsing: #"{"precision": "FP99"}"#), strict: true))
        XCTAssertThrowsError(try BatchInferenceJob(json: JSONValue(parsing: #"{"inferenceParameters": {"extraBody": "[1]"}}"#), strict: true))
        XCTAssertThrowsError(try BatchInferenceJob(json: JSONValue(parsing: #"{"inferenceParameters": {"maxTokens": 99999999999}}"#), strict: true))
    }

    func testPresenceKeepsZerosApartFromUnset() throws {
        var job = BatchInferenceJob()
        job.model = "m"
        var p = InferenceParameters()
        p.temperature = 0
        p.topK = 0
        job.inferenceParameters = p
        XCTAssertEqual(job.createBody.compactText, #"{"model":"m","inferenceParameters":{"temperature":0,"topK":0}}"#,
                       "set zeros are sent; unset fields are not")
        let decoded = try InferenceParameters(json: JSONValue(parsing: #"{"temperature": 0, "n": 1}"#), strict: true)
        XCTAssertEqual(decoded.temperature, 0)
        XCTAssertEqual(decoded.n, 1)
        XCTAssertNil(decoded.topP)
        XCTAssertNil(decoded.maxTokens)
        XCTAssertEqual(decoded.json.compactText, #"{"temperature":0,"n":1}"#)
        job.inferenceParameters = InferenceParameters()
        XCTAssertNil(job.createBody["inferenceParameters"], "nothing set: no inferenceParameters at all")
        XCTAssertEqual(BatchInferenceJob().json["placement"], .null)
        XCTAssertEqual(Dataset().json["encryptionState"], .string("ENCRYPTION_STATE_UNSPECIFIED"))
    }

    func testTimestampsPrintTheFractionProtojsonPrints() {
        XCTAssertEqual(Timestamp.string(seconds: 1_788_061_722, nanoseconds: 0), "2026-08-30T03:48:42Z")
        XCTAssertEqual(Timestamp.string(seconds: 1_788_061_722, nanoseconds: 645_000_000), "2026-08-30T03:48:42.645Z")
        XCTAssertEqual(Timestamp.string(seconds: 1_788_061_722, nanoseconds: 645_723_000), "2026-08-30T03:48:42.645723Z")
        XCTAssertEqual(Timestamp.string(seconds: 1_788_061_722, nanoseconds: 645_723_001), "2026-08-30T03:48:42.645723001Z")
        XCTAssertEqual(Timestamp.date(from: "2026-08-30T03:48:42.645723001Z")?.timeIntervalSince1970 ?? 0, 1_788_061_722.645723, accuracy: 1e-5)
    }

    func testCloudStorageXMLErrorsReadAsMessages() {
        let xml = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>SignatureDoesNotMatch</Code><Message>Access denied.</Message>"
            + "<Details>The request signature we calculated does not match &amp; so on</Details><StringToSign>x</StringToSign></Error>"
        let e = GatewayError(httpStatus: 403, body: Array(xml.utf8))
        XCTAssertEqual(e.message, "SignatureDoesNotMatch: The request signature we calculated does not match & so on")
        XCTAssertEqual(e.code, .permissionDenied)
        let live403 = #"{"error": {"message": "The API key you provided is invalid.", "param": null, "code": "UNAUTHORIZED", "type": "error"}, "request_id": "r"}"#
        XCTAssertEqual(GatewayError(httpStatus: 403, body: Array(live403.utf8)).message, "The API key you provided is invalid.")
    }

    func testJobCreateBodyHasOnlyWhatIsSet() throws {
        var job = BatchInferenceJob()
        job.model = "m"
        job.inputDatasetId = "accounts/a/datasets/d"
        var p = InferenceParameters()
        p.temperature = 0.7
        p.extraBody = #"{"stop":["\n"]}"#
        job.inferenceParameters = p
        XCTAssertEqual(job.createBody.compactText,
                       #"{"model":"m","inputDatasetId":"accounts/a/datasets/d","inferenceParameters":{"temperature":0.7,"extraBody":"{\"stop\":[\"\\n\"]}"}}"#)
        let full = job.json
        XCTAssertEqual(full["jobProgress"], .null)
        XCTAssertEqual(full["state"], .string("JOB_STATE_UNSPECIFIED"))
        XCTAssertEqual(try BatchInferenceJob(json: full), job)
    }

    func testResourceNames() {
        XCTAssertNil(ResourceID.problem("my-ds-1"))
        XCTAssertNotNil(ResourceID.problem(""))
        XCTAssertNotNil(ResourceID.problem("UPPER"))
        XCTAssertNotNil(ResourceID.problem("1abc"))
        XCTAssertNotNil(ResourceID.problem("-a"))
        XCTAssertNotNil(ResourceID.problem("a-"))
        XCTAssertNotNil(ResourceID.problem("../etc"))
        XCTAssertNotNil(ResourceID.problem(String(repeating: "a", count: 64)))
        XCTAssertEqual(try ResourceName.parse("ds", kind: .dataset, defaultAccount: "acct").get().description, "accounts/acct/datasets/ds")
        XCTAssertEqual(try ResourceName.parse("accounts/b/datasets/ds", kind: .dataset, defaultAccount: "acct").get().account, "b")
        XCTAssertThrowsError(try ResourceName.parse("accounts/b/batchInferenceJobs/j", kind: .dataset, defaultAccount: "a").get())
        XCTAssertThrowsError(try ResourceName.parse("accounts/b/datasets/../x", kind: .dataset, defaultAccount: "a").get())
    }

    func testTimestampsAndDurations() throws {
        let date = try XCTUnwrap(Timestamp.date(from: "2026-08-30T03:48:42.645723Z"))
        XCTAssertEqual(Timestamp.string(from: date), "2026-08-30T03:48:42.645723Z")
        XCTAssertEqual(Timestamp.date(from: "2026-08-30T05:48:42+02:00")?.timeIntervalSince1970, Timestamp.date(from: "2026-08-30T03:48:42Z")?.timeIntervalSince1970)
        XCTAssertNil(Timestamp.date(from: "yesterday"))
        XCTAssertEqual(DurationText.parse("30s"), .success(.seconds(30)))
        XCTAssertEqual(DurationText.parse("2m"), .success(.seconds(120)))
        XCTAssertEqual(DurationText.parse("1h30m"), .success(.seconds(5400)))
        XCTAssertEqual(DurationText.parse("86400s"), .success(.seconds(86400)))
        XCTAssertEqual(DurationText.parse("500ms"), .success(.milliseconds(500)))
        XCTAssertEqual(DurationText.parse("10"), .failure(.malformed), "a bare number has no unit")
        XCTAssertEqual(DurationText.parse("1x"), .failure(.malformed))
        XCTAssertEqual(DurationText.wire(172800), "172800s")
        XCTAssertEqual(DurationText.human(5400), "1h30m")
    }

    func testDurationsBelowASecondAreExact() {
        XCTAssertEqual(DurationText.parse("300ms"), .success(.milliseconds(300)))
        XCTAssertEqual(DurationText.parse("0.3s"), .success(.milliseconds(300)))
        XCTAssertEqual(DurationText.parse("1.5s"), .success(.milliseconds(1500)))
        XCTAssertEqual(DurationText.seconds(.milliseconds(300)), 0.3)
        XCTAssertEqual(DurationText.wire(DurationText.seconds(.milliseconds(300))), "0.3s")
    }

    func testDurationsThatAreNotPositiveAreRefusedAsSuch() {
        for text in ["-5m", "-1s", "-0.5s", "0s", "0ms", "0h0m", "-0s", "0.0000000001s"] {
            XCTAssertEqual(DurationText.parse(text), .failure(.notPositive), text)
        }
        XCTAssertEqual(DurationText.parse("-"), .failure(.malformed))
        XCTAssertEqual(DurationText.parse("-5x"), .failure(.malformed))
        XCTAssertEqual(DurationText.Problem.notPositive.description, "must be positive")
    }

    func testAbsurdDurationsAreRefusedWithTheLimitNotATrap() {
        XCTAssertEqual(DurationText.parse("36500d"), .success(DurationText.limit))
        XCTAssertEqual(DurationText.parse("36500d1ms"), .failure(.tooLong))
        for text in ["99999999999999999999s", "9223372036854775808s", String(repeating: "9", count: 400) + "d", "36501d"] {
            XCTAssertEqual(DurationText.parse(text), .failure(.tooLong), text)
        }
        XCTAssertEqual(DurationText.Problem.tooLong.description, "must be at most 36500d (100 years)")
        // The limit in nanoseconds fits an Int64, so any later conversion to nanoseconds is safe.
        let (seconds, _) = DurationText.limit.components
        XCTAssertLessThan(seconds, Int64.max / 1_000_000_000)
        XCTAssertEqual(DurationText.human(.infinity), DurationText.human(DurationText.seconds(DurationText.limit)))
        XCTAssertEqual(DurationText.human(.nan), "0ms")
    }

    func testBothErrorShapesDecode() {
        let grpc = GatewayError(httpStatus: 404, body: Array(#"{"code":5,"message":"resource not found","details":[]}"#.utf8))
        XCTAssertEqual(grpc.code, .notFound)
        XCTAssertEqual(grpc.message, "resource not found")
        let openai = GatewayError(httpStatus: 403, body: Array(#"{"error":{"message":"bad key","code":"UNAUTHORIZED","type":"error","param":null},"request_id":"r"}"#.utf8))
        XCTAssertEqual(openai.code, .permissionDenied)
        XCTAssertEqual(openai.message, "bad key")
        let html = GatewayError(httpStatus: 502, body: Array("<html>bad gateway</html>".utf8))
        XCTAssertEqual(html.httpStatus, 502)
        XCTAssertEqual(GatewayError(.alreadyExists, "x").json.compactText, #"{"code":6,"message":"x","details":[]}"#)
        for code in StatusCode.allCases where code != .ok { XCTAssertEqual(StatusCode(name: code.name), code) }
        XCTAssertEqual(StatusCode.resourceExhausted.httpStatus, 429)
        XCTAssertEqual(StatusCode.cancelled.httpStatus, 499)
    }
}
