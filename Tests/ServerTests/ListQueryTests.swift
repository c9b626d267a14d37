// List pages: each page serialises only its own items, and filtering, ordering and paging are unchanged.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation
@testable import BatchServer
import XCTest

final class ListQueryTests: XCTestCase {
    func testAPageSerialisesOnlyItsOwnItems() throws {
        let items = (0..<1000).map { i in (name: String(format: "accounts/a/batchInferenceJobs/j%04d", i), state: i % 2 == 0 ? "A" : "B") }
        let query = try ListQuery([HTTPQueryItem(name: "pageSize", value: "20"), HTTPQueryItem(name: "filter", value: "state = \"A\"")],
                                  defaultOrder: "name", fields: ["name", "state"])
        var serialised = 0
        let page = try query.page(items, itemsKey: "items", fields: { .object([("name", .string($0.name)), ("state", .string($0.state))]) },
                              json: { item -> JSONValue in serialised += 1; return .object([("name", .string(item.name))]) })
        XCTAssertEqual(serialised, 20, "only the page's items are serialised")
        XCTAssertEqual(page["totalSize"]?.int64Value, 500)
        XCTAssertEqual(page["items"]?.arrayValue?.first?["name"]?.stringValue, "accounts/a/batchInferenceJobs/j0000")
        XCTAssertEqual(page["items"]?.arrayValue?.last?["name"]?.stringValue, "accounts/a/batchInferenceJobs/j0038")
        XCTAssertFalse(page["nextPageToken"]?.stringValue?.isEmpty ?? true)
    }
}
