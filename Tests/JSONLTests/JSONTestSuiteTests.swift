// JSONTestSuiteTests: the scanner and the tree parser against nst/JSONTestSuite's test_parsing corpus.

import BatchJSONL
import Foundation
import XCTest

final class JSONTestSuiteTests: XCTestCase {
    /// `<package>/../shared/data/JSONTestSuite/test_parsing`, found from this file so the working directory
    /// does not matter.
    static let corpus: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data/JSONTestSuite/test_parsing")

    /// The corpus files by name; skips (or fails on CI) when the corpus is not there.
    func corpusFiles() throws -> [(name: String, bytes: [UInt8])] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("JSONTestSuite corpus missing at \(Self.corpus.path): clone shared/ beside the package")
                return []
            }
            throw XCTSkip("JSONTestSuite corpus not found at \(Self.corpus.path)")
        }
        XCTAssertGreaterThan(names.count, 300, "the corpus looks incomplete")
        return try names.map { ($0, Array(try Data(contentsOf: Self.corpus.appendingPathComponent($0)))) }
    }

    /// `i_` cases that break rules this project holds to (UTF-8 only, no lone surrogates, RFC 8259 text
    /// without a byte order mark): both parsers must refuse them, not just survive them.
    static let mustRefuse: Set<String> = [
        "i_object_key_lone_2nd_surrogate.json",
        "i_string_1st_surrogate_but_2nd_missing.json",
        "i_string_1st_valid_surrogate_2nd_invalid.json",
        "i_string_UTF-16LE_with_BOM.json",
        "i_string_UTF-8_invalid_sequence.json",
        "i_string_UTF8_surrogate_U+D800.json",
        "i_string_incomplete_surrogate_and_escape_valid.json",
        "i_string_incomplete_surrogate_pair.json",
        "i_string_incomplete_surrogates_escape_valid.json",
        "i_string_invalid_lonely_surrogate.json",
        "i_string_invalid_surrogate.json",
        "i_string_invalid_utf-8.json",
        "i_string_inverted_surrogates_U+1D11E.json",
        "i_string_iso_latin_1.json",
        "i_string_lone_second_surrogate.json",
        "i_string_lone_utf8_continuation_byte.json",
        "i_string_not_in_unicode_range.json",
        "i_string_overlong_sequence_2_bytes.json",
        "i_string_overlong_sequence_6_bytes.json",
        "i_string_overlong_sequence_6_bytes_null.json",
        "i_string_truncated-utf-8.json",
        "i_string_utf16BE_no_BOM.json",
        "i_string_utf16LE_no_BOM.json",
        "i_structure_UTF-8_BOM_empty_object.json",
    ]

    /// `i_` cases both must accept: big numbers keep their text, and 500 levels are under the 512 limit.
    static let mustAccept: Set<String> = [
        "i_number_double_huge_neg_exp.json", "i_number_huge_exp.json", "i_number_neg_int_huge_exp.json",
        "i_number_pos_double_huge_exp.json", "i_number_real_neg_overflow.json", "i_number_real_pos_overflow.json",
        "i_number_real_underflow.json", "i_number_too_big_neg_int.json", "i_number_too_big_pos_int.json",
        "i_number_very_big_negative_int.json", "i_structure_500_nested_arrays.json",
    ]

    func testScannerOnCorpus() throws {
        let files = try corpusFiles()
        var checked = 0
        for (name, bytes) in files {
            let error = JSONSyntaxError.check(bytes)
            if name.hasPrefix("y_") || Self.mustAccept.contains(name) {
                XCTAssertNil(error, "\(name) must be accepted, got \(String(describing: error))")
            } else if name.hasPrefix("n_") || Self.mustRefuse.contains(name) {
                XCTAssertNotNil(error, "\(name) must be refused")
            } else {
                XCTFail("\(name): an i_ case with no expectation; add it to mustAccept or mustRefuse")
            }
            checked += 1
        }
        XCTAssertEqual(checked, files.count)
    }

    func testTreeParserOnCorpus() throws {
        for (name, bytes) in try corpusFiles() {
            let parsed = try? JSONValue(parsing: bytes)
            if name.hasPrefix("y_") || Self.mustAccept.contains(name) {
                XCTAssertNotNil(parsed, "\(name) must be accepted by JSONValue(parsing:)")
                // A parsed document printed and parsed again is the same document.
                if let parsed { XCTAssertEqual(try? JSONValue(parsing: parsed.serialized()), parsed, name) }
            } else {
                XCTAssertNil(parsed, "\(name) must be refused by JSONValue(parsing:)")
            }
        }
    }

    /// Every corpus document as one dataset line: a `y_` value that is not an object is a row fault, never
    /// a syntax fault, and an `n_` value is always a syntax fault (when it has no newline to split it).
    func testRowScannerOnCorpus() throws {
        let validator = DatasetValidator()
        for (name, bytes) in try corpusFiles() where !bytes.contains(0x0A) && !bytes.contains(0x0D) {
            let report = validator.validate(bytes: bytes, displayName: name)
            let reason = report.firstProblem?.reason ?? ""
            if name.hasPrefix("y_") {
                XCTAssertFalse(reason.hasPrefix("invalid JSON"), "\(name): \(reason)")
            } else if name.hasPrefix("n_"), !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }),
                      !bytes.starts(with: [0xEF, 0xBB, 0xBF]) {  // the reader drops a byte order mark
                XCTAssertFalse(report.valid, name)
                XCTAssertTrue(reason.hasPrefix("invalid JSON"), "\(name): \(reason)")
            }
        }
    }
}
