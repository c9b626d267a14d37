// CustomIDIndex: custom_id bytes to a dense entry number, for joins outside this module (`bij results`).

/// The validator's id table (one arena, open addressing) behind a small public face: each id entered gets the
/// next entry number, so a caller keeps what it knows about an id in its own arrays, indexed by entry. Memory
/// grows with the number of ids and their bytes, nothing else.
public struct CustomIDIndex: Sendable {
    private var table = CustomIDTable()

    public init() {}

    /// Ids entered so far; entries are numbered 0..<count.
    public var count: Int { table.count }

    /// The entry of `id` (its unescaped UTF-8 bytes), if it was entered.
    public func find(_ id: UnsafeBufferPointer<UInt8>) -> Int? { table.find(id) }

    /// Enters `id` unless it is there; returns its entry and whether it is new.
    public mutating func insert(_ id: UnsafeBufferPointer<UInt8>) -> (entry: Int, inserted: Bool) {
        if let e = table.find(id) { return (e, false) }
        let staged = table.stage(id)
        _ = table.commit(staged, line: 0)
        return (table.count - 1, true)
    }

    /// The bytes of entry `e`'s id.
    public func id(ofEntry e: Int) -> [UInt8] { table.bytes(ofEntry: e) }
}
