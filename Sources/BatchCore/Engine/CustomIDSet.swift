// CustomIDSet: a set of custom_ids stored as 128-bit FNV-1a hashes, 16 bytes an id whatever its length.

/// Resume and continuation must remember every finished row of a job; a million UUID-sized `String`s would
/// cost ~100 MB, their 128-bit hashes ~25 MB. With 128 bits the chance of two ids of one job colliding is
/// about n²/2¹²⁹ (1e-26 for a million rows), far below the chance of a disk corrupting the files.
public struct CustomIDSet: Sendable, Equatable, ExpressibleByArrayLiteral {
    struct Key: Hashable, Sendable {
        var high: UInt64
        var low: UInt64
    }

    private var keys = Set<Key>()

    public init() {}
    public init<S: Sequence>(_ ids: S) where S.Element == String { for id in ids { insert(id) } }
    public init(arrayLiteral elements: String...) { self.init(elements) }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    public mutating func insert(_ id: String) { keys.insert(Self.key(id)) }
    public func contains(_ id: String) -> Bool { !keys.isEmpty && keys.contains(Self.key(id)) }
    public mutating func formUnion(_ other: CustomIDSet) { keys.formUnion(other.keys) }
    public mutating func reserveCapacity(_ n: Int) { keys.reserveCapacity(n) }

    static func key(_ id: String) -> Key {
        var id = id
        return id.withUTF8 { key(bytes: $0) }
    }

    /// FNV-1a with the 128-bit parameters: prime 2^88 + 0x13B, so a multiply is one 64x64 product plus a shift.
    static func key(bytes: UnsafeBufferPointer<UInt8>) -> Key {
        var high: UInt64 = 0x6c62_272e_07bb_0142
        var low: UInt64 = 0x62b8_2175_6295_c58d
        for byte in bytes {
            low ^= UInt64(byte)
            let product = low.multipliedFullWidth(by: 0x13B)
            high = high &* 0x13B &+ product.high &+ (low << 24)
            low = product.low
        }
        return Key(high: high, low: low)
    }
}
