// `readMask` (AIP-157 partial responses): comma-separated field paths in either spelling, dotted for subfields;
// the answer keeps only the named fields. Empty or `*` keeps everything.
import BatchAPI
import BatchJSONL

struct FieldMask {
    /// Each path as lowerCamelCase segments; nil when the mask selects everything.
    let paths: [[String]]?

    init(_ text: String) throws {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if parts.isEmpty || parts.contains("*") { paths = nil; return }
        paths = try parts.map { part in
            let segments = part.split(separator: ".", omittingEmptySubsequences: false).map { ProtoObject.camelCase(String($0)) }
            guard segments.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber } }) else {
                throw GatewayError(.invalidArgument, "invalid read_mask path \"\(part)\"")
            }
            return segments
        }
    }

    /// `value` with only the masked fields. A path naming no field the resource has is refused (AIP-157), except
    /// a member of a oneof that is unset here (`transformed` on an uploaded dataset), which is simply absent.
    func apply(to value: JSONValue, optional: Set<String> = []) throws -> JSONValue {
        guard let paths else { return value }
        return try FieldMask.select(value, paths, optional: optional, prefix: "")
    }

    private static func select(_ value: JSONValue, _ paths: [[String]], optional: Set<String>, prefix: String) throws -> JSONValue {
        guard case let .object(members) = value else { return value }
        var out: [(String, JSONValue)] = []
        for (key, member) in members {
            let here = paths.filter { $0.first == key }
            guard !here.isEmpty else { continue }
            if here.contains(where: { $0.count == 1 }) || member.isNull {
                out.append((key, member))
            } else {
                out.append((key, try select(member, here.map { Array($0.dropFirst()) }, optional: optional, prefix: prefix + key + ".")))
            }
        }
        for path in paths where !members.contains(where: { $0.0 == path[0] }) && !optional.contains(path[0]) {
            throw GatewayError(.invalidArgument, "invalid read_mask: unknown field \"\(prefix + path.joined(separator: "."))\"")
        }
        return .object(out)
    }
}
