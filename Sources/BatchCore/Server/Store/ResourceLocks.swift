// One writer per resource: a lock for each dataset and job, taken all at once for a compare-and-set.
import Foundation

/// What a writer locks: one dataset or one job of an account.
enum ResourceKey: Hashable, Sendable {
    case dataset(String, String)
    case job(String, String)
}

/// Per-resource writer locks. A thread takes every key it needs in one call (so two writers can never wait
/// for each other), may take keys it already holds again, and `all` excludes every other writer (rare
/// operations that touch resources they cannot name up front, like the reconciliation pass).
/// Readers do not lock here: the store's maps have their own short lock, and records are replaced whole.
/// `@unchecked Sendable`: `held`, `exclusive` and `exclusiveDepth` are guarded by `condition`.
final class ResourceLocks: @unchecked Sendable {
    private let condition = NSCondition()
    private var held: [ResourceKey: (owner: pthread_t, depth: Int)] = [:]
    private var exclusive: pthread_t?
    private var exclusiveDepth = 0

    func with<T>(_ keys: [ResourceKey], _ body: () throws -> T) rethrows -> T {
        let me = pthread_self()
        condition.lock()
        while !canTake(keys, me) { condition.wait() }
        for key in keys {
            if let entry = held[key] { held[key] = (entry.owner, entry.depth + 1) } else { held[key] = (me, 1) }
        }
        condition.unlock()
        defer {
            condition.lock()
            for key in keys {
                if let entry = held[key] { held[key] = entry.depth > 1 ? (entry.owner, entry.depth - 1) : nil }
            }
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }

    /// Excludes every other writer while `body` runs.
    func withAll<T>(_ body: () throws -> T) rethrows -> T {
        let me = pthread_self()
        condition.lock()
        while !(exclusive.map { pthread_equal($0, me) != 0 } ?? held.values.allSatisfy { pthread_equal($0.owner, me) != 0 }) {
            condition.wait()
        }
        exclusive = me
        exclusiveDepth += 1
        condition.unlock()
        defer {
            condition.lock()
            exclusiveDepth -= 1
            if exclusiveDepth == 0 { exclusive = nil }
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }

    private func canTake(_ keys: [ResourceKey], _ me: pthread_t) -> Bool {
        if let owner = exclusive, pthread_equal(owner, me) == 0 { return false }
        return keys.allSatisfy { key in held[key].map { pthread_equal($0.owner, me) != 0 } ?? true }
    }
}
