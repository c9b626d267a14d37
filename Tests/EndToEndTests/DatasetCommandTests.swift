// End to end: the built batchctl against a real local gateway, for every dataset command.
import Foundation
import XCTest

final class DatasetCommandTests: XCTestCase {
    static let rows = (1...7).map { i in
        #"{"custom_id": "row-\#(i)", "body": {"messages": [{"role": "user", "content": "question number \#(i)"}]}}"#
    }.joined(separator: "\n") + "\n"

    func writeInput(_ text: String = rows) -> String {
        let path = Harness.temporaryDirectory("input") + "/input.jsonl"
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func testCreateGetListDeleteAndOutputFormats() throws {
        let server = try LocalServer()
        let input = writeInput()
        var r = server.cli(["dataset", "create", "ds-one", input, "--display-name", "First"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("State: READY"), r.out)
        XCTAssertTrue(r.out.contains("Example Count: 7"), r.out)

        r = server.cli(["dataset", "get", "ds-one", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(json["name"] as? String, "accounts/local/datasets/ds-one")
        XCTAssertEqual(json["exampleCount"] as? String, "7", "int64 fields are JSON strings")
        XCTAssertEqual(json["format"] as? String, "CHAT")
        XCTAssertEqual(json["displayName"] as? String, "First")
        XCTAssertNotNil(json["userUploaded"] as? [String: Any])
        XCTAssertEqual(json["state"] as? String, "READY")

        // firectl's verb-noun order and the full resource name work the same.
        r = server.cli(["get", "dataset", "accounts/local/datasets/ds-one", "-o", "name"])
        XCTAssertEqual(r.out, "accounts/local/datasets/ds-one\n", r.err)

        r = server.cli(["dataset", "list"])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = r.out.split(separator: "\n")
        XCTAssertTrue(lines[0].hasPrefix("NAME"), r.out)
        XCTAssertTrue(lines[0].contains("STATE") && lines[0].contains("EXAMPLES") && lines[0].contains("FORMAT") && lines[0].contains("CREATED"))
        XCTAssertTrue(lines[1].hasPrefix("ds-one"), r.out)

        r = server.cli(["dataset", "list", "-o", "jsonl"])
        XCTAssertEqual(r.out.split(separator: "\n").count, 1)
        r = server.cli(["dataset", "list", "-o", "wide"])
        XCTAssertTrue(r.out.contains("DISPLAY NAME"), r.out)

        r = server.cli(["dataset", "create", "ds-one", input])
        XCTAssertEqual(r.status, 6, "409 maps to exit 6: \(r.err)")
        r = server.cli(["dataset", "get", "nope"])
        XCTAssertEqual(r.status, 5, "404 maps to exit 5: \(r.err)")
        XCTAssertTrue(r.err.contains("HTTP 404"), r.err)

        r = server.cli(["dataset", "delete", "ds-one", "--wait"])
        XCTAssertEqual(r.status, 0, r.err)
        r = server.cli(["dataset", "list"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.out, "", "an empty list prints nothing on stdout")
        XCTAssertTrue(r.err.contains("No datasets found"), r.err)
    }

    func testPaginationLimitAndNoPaginate() throws {
        let server = try LocalServer()
        let input = writeInput()
        for i in 0..<5 { XCTAssertEqual(server.cli(["dataset", "create", "ds-\(i)", input, "-q"]).status, 0) }
        var r = server.cli(["dataset", "list", "--page-size", "2", "-o", "name"])
        XCTAssertEqual(r.out.split(separator: "\n").count, 5, "follows nextPageToken to the end: \(r.out)")
        r = server.cli(["dataset", "list", "--limit", "3", "-o", "name"])
        XCTAssertEqual(r.out.split(separator: "\n").count, 3)
        r = server.cli(["dataset", "list", "--no-paginate", "--page-size", "2", "-o", "name"])
        XCTAssertEqual(r.out.split(separator: "\n").count, 5, "--no-paginate lists all, as in firectl: \(r.out)")
        r = server.cli(["dataset", "list", "--page-token", "", "--page-size", "2", "-o", "name"])
        XCTAssertEqual(r.out.split(separator: "\n"), ["accounts/local/datasets/ds-0", "accounts/local/datasets/ds-1"])
        XCTAssertTrue(r.err.contains("--page-token"), "says how to get the next page: \(r.err)")
        r = server.cli(["dataset", "list", "--order-by", "name desc", "--limit", "1", "-o", "name"])
        XCTAssertEqual(r.out, "accounts/local/datasets/ds-4\n")
        r = server.cli(["dataset", "list", "-o", "json"])
        let array = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [[String: Any]]
        XCTAssertEqual(array.count, 5, "json prints one array of all items across pages")
    }

    func testInvalidFileIsRefusedBeforeAnythingIsSent() throws {
        let server = try LocalServer()
        let bad = writeInput(#"{"custom_id": "a", "body": {"messages": []}}"# + "\n")
        let r = server.cli(["dataset", "create", "bad-ds", bad])
        XCTAssertEqual(r.status, 3, r.err)
        XCTAssertTrue(r.err.contains("\(bad):1:"), r.err)
        XCTAssertEqual(server.cli(["dataset", "get", "bad-ds"]).status, 5, "nothing was created")
    }

    func testUploadIntoExistingDatasetAndDownload() throws {
        let server = try LocalServer()
        XCTAssertEqual(server.cli(["dataset", "create", "empty-ds"]).status, 0)
        let input = writeInput()
        var r = server.cli(["dataset", "upload", "empty-ds", input])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("READY"), r.out)
        let dir = Harness.temporaryDirectory("dl")
        r = server.cli(["dataset", "download", "empty-ds", "--output-dir", dir])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "\(dir)/dataset/empty-ds/input.jsonl\n")
        XCTAssertEqual(try String(contentsOfFile: "\(dir)/dataset/empty-ds/input.jsonl", encoding: .utf8), Self.rows)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/dataset/empty-ds").filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no partial files are left behind")
    }

    func testSignedURLPathForLargeFiles() throws {
        let server = try LocalServer()
        let input = writeInput()
        // Lower the direct-upload threshold so a small file takes the signed-URL path.
        let r = server.cli(["dataset", "create", "big-ds", input], env: ["BATCHCTL_DIRECT_UPLOAD_LIMIT": "10"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(server.log.contains(":getUploadEndpoint"), server.log)
        XCTAssertTrue(server.log.contains("PUT /storage/accounts/local/datasets/big-ds/input.jsonl 200"), server.log)
        XCTAssertTrue(server.log.contains(":validateUpload"), server.log)
        let dir = Harness.temporaryDirectory("dl")
        XCTAssertEqual(server.cli(["dataset", "download", "big-ds", "--output-dir", dir]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: "\(dir)/dataset/big-ds/input.jsonl", encoding: .utf8), Self.rows)
    }

    func testCreateFromStandardInput() throws {
        let server = try LocalServer()
        let r = server.cli(["dataset", "create", "piped", "-", "-o", "json"], stdin: Self.rows)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains(#""exampleCount": "7""#), r.out)
        let dir = Harness.temporaryDirectory("dl")
        XCTAssertEqual(server.cli(["dataset", "download", "piped", "--output-dir", dir]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: "\(dir)/dataset/piped/input.jsonl", encoding: .utf8), Self.rows)
    }

    func testValidateCommandExitStatuses() throws {
        let good = writeInput()
        var r = Harness.run(["dataset", "validate", good])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("7 rows"), r.out)
        let bad = writeInput("{\"custom_id\": \"a\"}\nnot json\n")
        r = Harness.run(["dataset", "validate", bad])
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.err.contains("\(bad):1:") && r.err.contains("\(bad):2:"), r.err)
        r = Harness.run(["dataset", "validate", "/nonexistent/file.jsonl"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.lowercased().contains("no such file"), r.err)
        r = Harness.run(["dataset", "validate", "-"], stdin: Self.rows)
        XCTAssertEqual(r.status, 0, r.err)
        r = Harness.run(["dataset", "validate", good, "-o", "json"])
        let report = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(report["valid"] as? Bool, true)
    }
}
