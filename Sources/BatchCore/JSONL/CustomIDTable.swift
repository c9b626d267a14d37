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
    private var touched: UInt64 = 0

    var count: Int { offsets.count }

    init() {
        arena.reserveCapacity(1 << 16)
    }

    /// An id copied into the arena but not yet entered: `commit` enters it (or finds it already there).
    struct Staged {
        var offset: Int
        var length: Int
        var hash: UInt64
    }

    /// Copies `id` into the arena (the line it came from is about to be overwritten) and hashes it.
    mutating func stage(_ id: UnsafeBufferPointer<UInt8>) -> Staged {
        let staged = Staged(offset: arena.count, length: id.count, hash: CustomIDTable.hash(id))
        arena.append(contentsOf: id)
        return staged
    }

    /// Reads the slots the staged ids will probe first. The loads do not depend on each other, so the CPU
    /// overlaps their cache misses; `commit` then finds the slots cached. (Swift has no prefetch hint.)
    mutating func touch<S: Sequence>(_ staged: S) where S.Element == Staged {
        let mask = slots.count - 1
        var sum: UInt64 = 0
        slots.withUnsafeBufferPointer { slots in
            for id in staged { sum &+= slots[Int(truncatingIfNeeded: id.hash) & mask] }
        }
        // Keeps the loads from being optimized away.
        touched = sum
    }

    /// Enters a staged id; returns the line it was first seen on when it is already there (the staged
    /// copy is then left unused in the arena).
    mutating func commit(_ staged: Staged, line: Int) -> Int? {
        let hash = staged.hash
        var mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        let tag = hash &<< 32
        while true {
            let stored = slots[slot]
            if stored == 0 { break }
            if stored & 0xFFFF_FFFF_0000_0000 == tag {
                let e = Int(truncatingIfNeeded: stored & 0xFFFF_FFFF) - 1
                if Int(lengths[e]) == staged.length, equalInArena(offsets[e], staged.offset, staged.length) { return lines[e] }
            }
            slot = (slot &+ 1) & mask
        }
        if (count + 1) * 2 > slots.count {
            grow()
            mask = slots.count - 1
            slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] != 0 { slot = (slot &+ 1) & mask }
        }
        offsets.append(staged.offset)
        lengths.append(Int32(truncatingIfNeeded: staged.length))
        lines.append(line)
        slots[slot] = tag | UInt64(count)
        return nil
    }

    /// The entry of `id` (its number in the order ids were entered), if it is there.
    func find(_ id: UnsafeBufferPointer<UInt8>) -> Int? {
        let hash = CustomIDTable.hash(id)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        let tag = hash &<< 32
        return arena.withUnsafeBufferPointer { arena in
            while true {
                let stored = slots[slot]
                if stored == 0 { return nil }
                if stored & 0xFFFF_FFFF_0000_0000 == tag {
                    let e = Int(truncatingIfNeeded: stored & 0xFFFF_FFFF) - 1
                    if Int(lengths[e]) == id.count,
                       id.count == 0 || memcmpEqual(arena.baseAddress! + offsets[e], id.baseAddress!, id.count) { return e }
                }
                slot = (slot &+ 1) & mask
            }
        }
    }

    /// The bytes of entry `e`.
    func bytes(ofEntry e: Int) -> [UInt8] {
        Array(arena[offsets[e]..<(offsets[e] + Int(lengths[e]))])
    }

    /// The bytes of a staged id.
    func bytes(of staged: Staged) -> [UInt8] {
        Array(arena[staged.offset..<(staged.offset + staged.length)])
    }

    private func equalInArena(_ a: Int, _ b: Int, _ length: Int) -> Bool {
        arena.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return length == 0 }
            return memcmpEqual(base + a, base + b, length)
        }
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
