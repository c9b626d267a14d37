// CustomIDTable: the set of custom_ids seen so far, as raw bytes in one arena with an open-addressing index.

/// Remembers every custom_id of a file with the line it was first seen on. One String per row would cost an
/// allocation and a Unicode-aware hash per row; bytes in an arena cost neither, and ids are compared as the
/// UTF-8 of their unescaped text, so `"a\u0062"` and `"ab"` are the same id.
struct CustomIDTable {
    private var arena: [UInt8] = []
    private var offsets: [Int] = []
    private var lengths: [Int32] = []
    private var lines: [Int] = []
    /// Per slot, the entry's 32-bit hash in the high half and its index + 1 in the low half (0: empty), so a
    /// probe rejects other ids without touching the entry arrays. A power of two, kept at most half full.
    private var slots: [UInt64] = Array(repeating: 0, count: 1024)

    var count: Int { offsets.count }

    init() {
        arena.reserveCapacity(1 << 16)
    }

    /// Inserts `id`; returns the line it was first seen on when it is already there (and leaves it there).
    mutating func insert(_ id: UnsafeBufferPointer<UInt8>, line: Int) -> Int? {
        let hash = CustomIDTable.hash(id)
        var mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        let tag = hash &<< 32
        while true {
            let stored = slots[slot]
            if stored == 0 { break }
            if stored & 0xFFFF_FFFF_0000_0000 == tag {
                let e = Int(truncatingIfNeeded: stored & 0xFFFF_FFFF) - 1
                if Int(lengths[e]) == id.count, entry(e, equals: id) { return lines[e] }
            }
            slot = (slot &+ 1) & mask
        }
        if (count + 1) * 2 > slots.count {
            grow()
            mask = slots.count - 1
            slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] != 0 { slot = (slot &+ 1) & mask }
        }
        offsets.append(arena.count)
        lengths.append(Int32(truncatingIfNeeded: id.count))
        arena.append(contentsOf: id)
        lines.append(line)
        slots[slot] = tag | UInt64(count)
        return nil
    }

    private func entry(_ e: Int, equals id: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let idBase = id.baseAddress else { return true }  // lengths are equal, so both are empty
        return arena.withUnsafeBufferPointer { a in a.baseAddress.map { memcmpEqual($0 + offsets[e], idBase, id.count) } ?? false }
    }

    private mutating func grow() {
        var bigger = [UInt64](repeating: 0, count: slots.count * 2)
        let mask = bigger.count - 1
        for stored in slots where stored != 0 {
            // Slots are placed by the low bits of the hash, which are the tag's low bits too.
            var slot = Int(truncatingIfNeeded: stored >> 32) & mask
            while bigger[slot] != 0 { slot = (slot &+ 1) & mask }
            bigger[slot] = stored
        }
        slots = bigger
    }

    /// The ids in the order they were first seen.
    func strings() -> [String] {
        arena.withUnsafeBufferPointer { buffer in
            (0..<count).map { e in
                String(decoding: UnsafeBufferPointer(rebasing: buffer[offsets[e]..<(offsets[e] + Int(lengths[e]))]), as: UTF8.self)
            }
        }
    }

    /// A fast 64-bit hash (multiply-xorshift over 8-byte words); ids are short, so per-call cost dominates.
    @inline(__always) static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        guard let base = bytes.baseAddress else { return h }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i &+ 8 <= bytes.count {
            h = mix(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i &+= 8
        }
        if i < bytes.count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < bytes.count { tail |= UInt64(base[i]) << shift; shift &+= 8; i &+= 1 }
            h = mix(h ^ tail)
        }
        return mix(h)
    }

    @inline(__always) private static func mix(_ x: UInt64) -> UInt64 {
        var z = x &* 0xBF58_476D_1CE4_E5B9
        z ^= z >> 31
        z = z &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 29)
    }
}
