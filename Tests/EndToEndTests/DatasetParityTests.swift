// End to end: the dataset rough edges of the first hour (#13 items 1, 11, 14, 15): update, upload into a
// READY dataset, datasets from storage, Fireworks' input limit, the declared format, file-system errors.
import Foundation
import XCTest

final class DatasetParityTests: XCTestCase {
    func chatFile(_ rows: Int = 2, name: String = "rows.jsonl") -> String {
        let path = Harness.temporaryDirectory("input") + "/" + name
        let text = (1...rows).map { #"{"custom_id": "c\#($0)", "body": {"messages": [{"role": "user", "content": "x \#($0)"}]}}"# }
            .joined(separator: "\n") + "\n"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func completionFile() -> String {
        let path = Harness.temporaryDirectory("input") + "/tokens.jsonl"
        _ = FileManager.default.createFile(atPath: path, contents: Data(#"{"custom_id": "t1", "body": {"prompt_token_ids": [1, 2, 3]}}"#.utf8 + [10]))
        return path
    }

    func testUpdateDisplayNameInBothOrders() throws {
        let server = try LocalServer()
        XCTAssertEqual(server.cli(["dataset", "create", "named", chatFile(), "-q"]).status, 0)
        var r = server.cli(["dataset", "update", "named", "--display-name", "March prompts", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])?["displayName"] as? String, "March prompts")
        r = server.cli(["update", "dataset", "named", "--display-name", "April"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("Display Name: April\n"), r.out)
        r = server.cli(["dataset", "update", "named"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("nothing to update: give --display-name NAME"), r.err)
        XCTAssertEqual(server.cli(["dataset", "update", "missing", "--display-name", "x"]).status, 5)
    }

    func testUploadRefusesAReadyDatasetUnlessForced() throws {
        let server = try LocalServer()
        let first = chatFile(2)
        XCTAssertEqual(server.cli(["dataset", "create", "kept", first, "-q"]).status, 0)
        var r = server.cli(["dataset", "upload", "kept", completionFile()])
        XCTAssertEqual(r.status, 6, r.err)
        XCTAssertTrue(r.err.contains("dataset kept is READY with 2 examples; uploading would replace its file"), r.err)
        XCTAssertTrue(r.err.contains("Add --force"), r.err)
        r = server.cli(["dataset", "get", "kept", "-o", "json"])
        let unchanged = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(unchanged["format"] as? String, "CHAT", "the refused upload changed nothing")
        XCTAssertEqual(unchanged["exampleCount"] as? String, "2")
        r = server.cli(["upload", "dataset", "kept", chatFile(3), "--force", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])?["exampleCount"] as? String, "3")
        // An empty dataset (UPLOADING) takes an upload without --force.
        XCTAssertEqual(server.cli(["dataset", "create", "empty"]).status, 0)
        XCTAssertEqual(server.cli(["dataset", "upload", "empty", chatFile(1), "-q"]).status, 0)
    }

    func testExternalURLGoesToFireworksAndTheLocalGatewayRefusesIt() throws {
        let server = try LocalServer()
        var r = server.cli(["dataset", "create", "from-bucket", "--external-url", "gs://bucket/input.jsonl"])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("the local gateway reads only uploaded files"), r.err)
        XCTAssertTrue(r.err.contains("(HTTP 400, code 3 INVALID_ARGUMENT)"), r.err)
        r = Harness.run(["--server", "https://api.fireworks.ai", "-a", "acme", "--api-key", "fw_test1234567", "--dry-run",
                         "create", "dataset", "from-bucket", "--external-url", "gs://bucket/input.jsonl", "--format", "chat"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("POST https://api.fireworks.ai/v1/accounts/acme/datasets\n"), r.out)
        XCTAssertTrue(r.out.contains(#""externalUrl": "gs://bucket/input.jsonl""#), r.out)
        XCTAssertFalse(r.out.contains("exampleCount"), "nothing is uploaded, so no example count: \(r.out)")
        r = server.cli(["dataset", "create", "both", chatFile(), "--external-url", "gs://b/o"])
        XCTAssertEqual(r.status, 2)
    }

    /// Against Fireworks, a file over 1 GB is refused before anything is sent (a sparse file: no disk used).
    func testFireworksInputLimitIsCheckedFirst() throws {
        let big = Harness.temporaryDirectory("input") + "/big.jsonl"
        _ = FileManager.default.createFile(atPath: big, contents: nil)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: big))
        try handle.truncate(atOffset: 1_000_000_001)
        try handle.close()
        let fireworks = ["--server", "https://api.fireworks.ai", "-a", "acme", "--api-key", "fw_test1234567"]
        var r = Harness.run(fireworks + ["dataset", "create", "big", big])
        XCTAssertEqual(r.status, 3, r.err)
        XCTAssertTrue(r.err.contains("\(big) is 1.0 GB, over Fireworks' input limit of 1 GB per dataset; nothing was sent."), r.err)
        XCTAssertTrue(r.err.contains("split -C 900M -d --additional-suffix=.jsonl \(big) big-part-"), r.err)
        r = Harness.run(["dataset", "validate", big])
        XCTAssertEqual(r.status, 3, "validate checks for the default gateway, Fireworks: \(r.err)")
        XCTAssertTrue(r.err.contains("over Fireworks' input limit"), r.err)
        r = Harness.run(fireworks + ["bij", "create", "--input-file", big, "-m", "m", "--dry-run"])
        XCTAssertEqual(r.status, 3, r.err)
    }

    func testDeclaredFormatIsWhatIsValidated() throws {
        let server = try LocalServer()
        let chat = chatFile(2)
        var r = server.cli(["dataset", "create", "declared", chat, "--format", "completion"])
        XCTAssertEqual(r.status, 3, r.err)
        XCTAssertTrue(r.err.contains("\(chat):1: this row is a chat row (messages) but the dataset is declared COMPLETION"), r.err)
        XCTAssertEqual(server.cli(["dataset", "get", "declared"]).status, 5, "nothing was created")
        r = server.cli(["dataset", "create", "declared", completionFile(), "--format", "completion", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])?["format"] as? String, "COMPLETION")
        r = Harness.run(["dataset", "validate", chat, "--format", "completion"])
        XCTAssertEqual(r.status, 3, r.err)
    }

    func testFileSystemErrorsInHumanWords() throws {
        let server = try LocalServer()
        XCTAssertEqual(server.cli(["dataset", "create", "dl", chatFile(), "-q"]).status, 0)
        var r = server.cli(["dataset", "download", "dl", "--output-dir", "/proc/nope"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err, "batchctl: error: cannot create directory /proc/nope: No such file or directory; choose another --output-dir\n")
        let file = Harness.temporaryDirectory("dl") + "/plain-file"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        r = server.cli(["dataset", "download", "dl", "--output-dir", file])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err, "batchctl: error: cannot create directory \(file)/dataset/dl: \(file) is a file, not a directory; remove it or choose another --output-dir\n")
        for text in [r.err] { XCTAssertFalse(text.contains("NSCocoaErrorDomain") || text.contains("(null)"), text) }
        r = server.cli(["dataset", "create", "nodir", Harness.temporaryDirectory("input")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("it is a directory; give a JSONL file"), r.err)
        r = server.cli(["dataset", "create", "nofile", "/nonexistent/rows.jsonl"])
        XCTAssertEqual(r.err, "batchctl: error: cannot read /nonexistent/rows.jsonl: No such file or directory\n")
    }

    func testDownloadPrintsFilesAndSizes() throws {
        let server = try LocalServer()
        let file = chatFile(3)
        XCTAssertEqual(server.cli(["dataset", "create", "sized", file, "-q"]).status, 0)
        let dir = Harness.temporaryDirectory("dl")
        var r = server.cli(["download", "dataset", "sized", "--output-dir", dir, "-o", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        let files = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int
        XCTAssertEqual(files.count, 1)
        XCTAssertEqual(files.first?["path"] as? String, "\(dir)/dataset/sized/rows.jsonl")
        XCTAssertEqual(files.first?["bytes"] as? Int, size)
        XCTAssertEqual(files.first?["dataset"] as? String, "sized")
        r = server.cli(["dataset", "download", "sized", "--output-dir", dir])
        XCTAssertEqual(r.out, "\(dir)/dataset/sized/rows.jsonl\n")
        // Text output without empty headers: no "User Uploaded: {}".
        r = server.cli(["dataset", "get", "sized"])
        XCTAssertFalse(r.out.contains("User Uploaded"), r.out)
        XCTAssertFalse(r.out.contains(": {}"), r.out)
    }
}
