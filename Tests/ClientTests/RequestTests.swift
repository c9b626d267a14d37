// The client's request building: endpoints, query encoding and key masking.
import BatchAPI
import BatchClient
import BatchJSONL
import Foundation
import XCTest

final class RequestTests: XCTestCase {
    func testEndpointsAndQueryEncoding() {
        let ds = ResourceName(account: "a", kind: .dataset, id: "d")
        XCTAssertEqual(Endpoints.getDownloadEndpoint(ds, lineage: true).url(base: "https://h"),
                       "https://h/v1/accounts/a/datasets/d:getDownloadEndpoint?downloadLineage=true")
        let list = Endpoints.listJobs(account: "a", query: [("filter", #"state = "JOB_STATE_RUNNING""#), ("pageSize", "5")])
        XCTAssertEqual(list.url(base: "https://h"),
                       "https://h/v1/accounts/a/batchInferenceJobs?filter=state%20%3D%20%22JOB_STATE_RUNNING%22&pageSize=5")
        let create = Endpoints.createJob(account: "a", id: "j", job: .object([]))
        XCTAssertEqual(create.method, .post)
        XCTAssertFalse(create.isIdempotent, "a create is not retried after a network error")
        XCTAssertTrue(Endpoints.getJob(ResourceName(account: "a", kind: .batchInferenceJob, id: "j")).isIdempotent)
        XCTAssertEqual(Endpoints.createDataset(account: "a", id: "d", dataset: .object([])).body?.compactText, #"{"datasetId":"d","dataset":{}}"#)
    }

    func testKeyMasking() {
        XCTAssertEqual(GatewayClient.mask("fw_1234567890abcd"), "fw_****abcd")
        XCTAssertEqual(GatewayClient.mask("short"), "****")
    }

    func testDryRunSendsNothing() throws {
        let printed = Printed()
        let client = GatewayClient(options: ClientOptions(baseURL: "http://127.0.0.1:1", apiKey: "k", dryRun: true,
                                                          dryRunOutput: { printed.append($0) }))
        XCTAssertNil(try client.send(Endpoints.listDatasets(account: "a", query: [])))
        XCTAssertTrue(printed.text.hasPrefix("GET http://127.0.0.1:1/v1/accounts/a/datasets\n"), printed.text)
    }
}

/// What --dry-run printed; the lock makes it safe to hand to a @Sendable closure.
final class Printed: @unchecked Sendable {
    private let lock = NSLock()
    private var value = ""
    func append(_ text: String) { lock.withLock { value += text } }
    var text: String { lock.withLock { value } }
}
