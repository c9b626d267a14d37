// The validator's OpenAI rule (`requireOneModel`): every row names its model in body.model, the same one.
import BatchJSONL
import Foundation
import XCTest

final class DatasetValidatorOneModelTests: XCTestCase {
    func row(_ id: String, model: String?) -> String {
        let m = model.map { #""model":\#($0),"# } ?? ""
        return #"{"custom_id":"\#(id)","method":"POST","url":"/v1/chat/completions","body":{\#(m)"messages":[{"role":"user","content":"hi"}]}}"#
    }

    func validate(_ lines: [String], oneModel: Bool = true) -> ValidationReport {
        var options = DatasetValidator.Options()
        options.requireOneModel = oneModel
        return DatasetValidator(options).validate(bytes: Array((lines.joined(separator: "\n") + "\n").utf8), displayName: "in.jsonl")
    }

    func testOneModelIsTheBatchModel() {
        let report = validate([row("a", model: #""gpt-4o-mini""#), row("b", model: #""gpt-4o-mini""#), row("c", model: #""gpt\u002d4o-mini""#)])
        XCTAssertTrue(report.valid, "\(report.renderedProblems)")
        XCTAssertEqual(report.model, "gpt-4o-mini")
        XCTAssertEqual(report.warningCount, 0, "body.model is the batch's model, not ignored")
    }

    func testMissingDifferentAndBadModelsNameTheirLines() {
        let report = validate([row("a", model: #""m1""#), row("b", model: nil), row("c", model: #""m2""#), row("d", model: "7"),
                               row("e", model: #""""#), row("f", model: #""m1""#)])
        XCTAssertEqual(report.renderedProblems, [
            "in.jsonl:2: missing body.model: each row names its model, the same in every row of a batch",
            #"in.jsonl:3: body.model "m2" differs from "m1" on line 1: a batch has one model"#,
            "in.jsonl:4: body.model must be a string, not a number",
            "in.jsonl:5: body.model must not be empty",
        ])
        XCTAssertEqual(report.model, "m1")
    }

    func testOtherFaultsComeFirst() {
        let report = validate([row("a", model: #""m1""#), row("a", model: #""m2""#)])
        XCTAssertEqual(report.problems.map(\.line), [2])
        XCTAssertTrue(report.problems[0].reason.hasPrefix("duplicate custom_id"), report.problems[0].reason)
    }

    func testWithoutTheRuleModelsAreIgnored() {
        let report = validate([row("a", model: #""m1""#), row("b", model: #""m2""#), row("c", model: nil)], oneModel: false)
        XCTAssertTrue(report.valid)
        XCTAssertNil(report.model)
        XCTAssertEqual(report.warningCount, 2)
    }
}
