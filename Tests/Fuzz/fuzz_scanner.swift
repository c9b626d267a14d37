// fuzz_scanner: libFuzzer entry point for the JSONL scanner, row checks and line reader (see run.sh).

/// Each input is used three ways, and any disagreement or broken invariant traps (libFuzzer saves the input):
/// the strict scanner and the tree parser must agree on the whole input as one JSON text; the validator
/// must survive it as a dataset, read through a buffer size picked from the input so refills, growth and
/// overlong lines are all reached; and its report must be self-consistent.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    let scannerAccepts = JSONSyntaxError.check(bytes) == nil
    let treeAccepts = (try? JSONValue(parsing: bytes)) != nil
    precondition(scannerAccepts == treeAccepts, "scanner and tree parser disagree")
    if scannerAccepts, let tree = try? JSONValue(parsing: bytes) {
        // What the tree prints must scan and parse back to the same tree.
        let printed = tree.serialized()
        precondition(JSONSyntaxError.check(printed) == nil, "serialized text refused by the scanner")
        precondition((try? JSONValue(parsing: printed)) == tree, "serialize/parse round trip changed the value")
    }

    var options = DatasetValidator.Options(keptProblems: 5, collectCustomIDs: true)
    let knob = Int(bytes.first ?? 0)
    options.bufferSize = 16 + knob % 64
    options.maxLineBytes = knob % 3 == 0 ? 24 + knob % 40 : 1 << 20
    let report = DatasetValidator(options).validate(bytes: bytes, displayName: "fuzz")
    precondition(report.valid == (report.problemCount == 0), "valid flag and problem count disagree")
    precondition(report.problems.count <= 5 && report.problems.count <= report.problemCount, "kept too many problems")
    precondition(zip(report.problems, report.problems.dropFirst()).allSatisfy { $0.line <= $1.line }, "problems out of line order")
    precondition(report.bytes == size, "bytes read differ from the input size")
    let newlines = bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    precondition(report.problems.allSatisfy { $0.line >= 1 && $0.line <= newlines + 1 }, "line number out of range")
    if report.valid {
        precondition(report.customIDs?.count == report.rows, "custom_id list does not match the rows")
        precondition(Set(report.customIDs ?? []).count == report.rows, "duplicate custom_id in a valid report")
    }
    _ = report.json.compactText
    _ = report.summary
    return 0
}
