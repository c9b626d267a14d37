// The wire enums (JobState, DatasetState, Precision, DatasetFormat): their names, terminal states, and names from
// a newer gateway, which decode, survive a round trip, and are refused only in requests.
import BatchAPI
import BatchJSONL
import XCTest

final class WireEnumTests: XCTestCase {
    /// The names of gateway-api.md, in its order.
    static let jobStates = ["UNSPECIFIED", "CREATING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "DELETING", "WRITING_RESULTS",
                            "VALIDATING", "DELETING_CLEANING_UP", "PENDING", "EXPIRED", "RE_QUEUEING", "CREATING_INPUT_DATASET",
                            "IDLE", "CANCELLING", "EARLY_STOPPED", "PAUSED", "DELETED"].map { "JOB_STATE_" + $0 }
    static let precisions = ["PRECISION_UNSPECIFIED", "FP16", "FP8", "FP8_MM", "FP8_AR", "FP8_MM_KV_ATTN", "FP8_KV", "FP8_MM_V2",
                             "FP8_V2", "FP8_MM_KV_ATTN_V2", "NF4", "FP4", "BF16", "FP4_BLOCKSCALED_MM", "FP4_MX_MOE"]

    func assertWireNames<E: WireEnum>(_ type: E.Type, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(E.names, expected, "\(E.self): the names of gateway-api.md", file: file, line: line)
        XCTAssertEqual(E.allCases.first, E.unspecified, "\(E.self): the zero value comes first", file: file, line: line)
        for c in E.allCases {
            XCTAssertEqual(E(name: c.rawValue), c, "\(c) round-trips", file: file, line: line)
            XCTAssertEqual(E(rawValue: c.rawValue), c, file: file, line: line)
            XCTAssertTrue(c.isRecognized, file: file, line: line)
            XCTAssertEqual("\(c)", c.rawValue, "messages interpolate the wire name", file: file, line: line)
        }
        let unknown = E(name: "FROM_A_NEWER_GATEWAY")
        XCTAssertEqual(unknown, E.unrecognized("FROM_A_NEWER_GATEWAY"), file: file, line: line)
        XCTAssertEqual(unknown.rawValue, "FROM_A_NEWER_GATEWAY", "kept as sent", file: file, line: line)
        XCTAssertFalse(unknown.isRecognized, file: file, line: line)
        XCTAssertNotNil(E(rawValue: ""), "RawRepresentable never fails: an unknown name is kept", file: file, line: line)
        XCTAssertFalse(E.allCases.contains(unknown), file: file, line: line)
    }

    func testWireNamesRoundTrip() {
        assertWireNames(JobState.self, WireEnumTests.jobStates)
        assertWireNames(DatasetState.self, ["STATE_UNSPECIFIED", "UPLOADING", "READY"])
        assertWireNames(Precision.self, WireEnumTests.precisions)
        assertWireNames(DatasetFormat.self, ["FORMAT_UNSPECIFIED", "CHAT", "COMPLETION", "RL"])
        XCTAssertEqual(JobState.writingResults.rawValue, "JOB_STATE_WRITING_RESULTS")
        XCTAssertEqual(Precision.fp4BlockScaledMM.rawValue, "FP4_BLOCKSCALED_MM")
    }

    func testJobStateShortNamesAndTerminalStates() {
        XCTAssertEqual(JobState.allCases.map(\.shortName), WireEnumTests.jobStates.map { String($0.dropFirst("JOB_STATE_".count)) })
        XCTAssertEqual(JobState.unrecognized("JOB_STATE_TELEPORTING").shortName, "TELEPORTING", "an unknown state loses its prefix too")
        XCTAssertEqual(JobState.unrecognized("ODD").shortName, "ODD")
        XCTAssertEqual(Set(JobState.allCases.filter(\.isTerminal)), [.completed, .failed, .expired, .cancelled, .earlyStopped, .deleted])
        XCTAssertFalse(JobState(name: "JOB_STATE_TELEPORTING").isTerminal, "an unknown state is not an end: keep following")
        var job = BatchInferenceJob()
        job.state = .cancelling
        XCTAssertFalse(job.isTerminal)
        job.state = .cancelled
        XCTAssertTrue(job.isTerminal)
    }

    func testUnknownNamesFromAGatewayDecodeAndEncodeBackUnchanged() throws {
        let job = try BatchInferenceJob(json: JSONValue(parsing: #"{"state": "JOB_STATE_TELEPORTING", "precision": "FP2"}"#))
        XCTAssertEqual(job.state, .unrecognized("JOB_STATE_TELEPORTING"))
        XCTAssertEqual(job.precision, .unrecognized("FP2"))
        XCTAssertEqual(job.json["state"], .string("JOB_STATE_TELEPORTING"))
        XCTAssertEqual(job.json["precision"], .string("FP2"))
        XCTAssertEqual(job.createBody["precision"], .string("FP2"), "a precision that is set is sent, known or not")
        XCTAssertEqual(try BatchInferenceJob(json: job.json), job)

        let dataset = try Dataset(json: JSONValue(parsing: #"{"state": "ARCHIVED", "format": "IMAGES"}"#))
        XCTAssertEqual(dataset.state, .unrecognized("ARCHIVED"))
        XCTAssertEqual(dataset.format, .unrecognized("IMAGES"))
        XCTAssertEqual(dataset.json["state"], .string("ARCHIVED"))
        XCTAssertEqual(dataset.json["format"], .string("IMAGES"))

        let known = try BatchInferenceJob(json: JSONValue(parsing: #"{"state": "JOB_STATE_RUNNING", "precision": "FP8"}"#))
        XCTAssertEqual(known.state, .running)
        XCTAssertEqual(known.precision, .fp8)
        let absent = try Dataset(json: .object([]))
        XCTAssertEqual(absent.state, .unspecified, "an absent enum field is the zero value")
        XCTAssertEqual(absent.format, .unspecified)
        XCTAssertEqual(absent.json["format"], .string("FORMAT_UNSPECIFIED"), "and is printed, as unpopulated fields are")
        XCTAssertNil(BatchInferenceJob().createBody["precision"], "an unset precision is not sent")
    }

    func testRequestsRefuseUnknownNamesWithTheGatewaysMessages() {
        func message(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch { return (error as? ProtoJSONError)?.message }
        }
        XCTAssertEqual(message { _ = try Dataset(json: JSONValue(parsing: #"{"state": "ARCHIVED"}"#), strict: true) },
                       #"invalid value for enum field state: "ARCHIVED""#)
        XCTAssertEqual(message { _ = try Dataset(json: JSONValue(parsing: #"{"format": "chat"}"#), strict: true) },
                       #"invalid value for enum field format: "chat""#, "names are case-sensitive")
        XCTAssertEqual(message { _ = try BatchInferenceJob(json: JSONValue(parsing: #"{"precision": "FP99"}"#), strict: true) },
                       #"invalid value for enum field precision: "FP99""#)
        XCTAssertEqual(message { _ = try Dataset(json: JSONValue(parsing: #"{"state": 2}"#)) },
                       "invalid value for string field state: 2", "enum numbers are not names")
        XCTAssertNil(message { _ = try Dataset(json: JSONValue(parsing: #"{"state": "READY", "format": "RL"}"#), strict: true) })
        XCTAssertNil(message { _ = try BatchInferenceJob(json: JSONValue(parsing: #"{"precision": "FP4_MX_MOE"}"#), strict: true) })
    }
}
