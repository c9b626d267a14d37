// The per-resource writer locks: one writer per key, keys taken again by their holder, other keys free, and
// `withAll` excluding every writer.
import Foundation
@testable import BatchServer
import XCTest

final class ResourceLocksTests: XCTestCase {
    final class Box: @unchecked Sendable {
        // `value` is guarded by the ResourceLocks key the test takes around it.
        var value = 0
    }

    func testWritersOfOneKeyNeverInterleave() {
        let locks = ResourceLocks()
        let box = Box()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<500 {
                locks.with([.job("a", "j")]) {
                    let seen = box.value
                    usleep(0)
                    box.value = seen + 1
                }
            }
        }
        XCTAssertEqual(box.value, 4000, "a compare-and-set under the key loses no update")
    }

    func testAHolderTakesItsKeysAgainAndOtherKeysStayFree() {
        let locks = ResourceLocks()
        let other = DispatchSemaphore(value: 0)
        locks.with([.job("a", "j"), .dataset("a", "d")]) {
            locks.with([.dataset("a", "d")]) {}
            DispatchQueue.global().async { locks.with([.dataset("a", "e")]) { _ = other.signal() } }
            XCTAssertEqual(other.wait(timeout: .now() + 5), .success, "another key is not blocked")
        }
    }

    func testWithAllWaitsForEveryWriterAndExcludesThem() {
        let locks = ResourceLocks()
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let order = Box()
        DispatchQueue.global().async {
            locks.with([.job("a", "j")]) {
                holding.signal()
                _ = release.wait(timeout: .now() + 5)
                order.value = 1
            }
        }
        holding.wait()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { release.signal() }
        locks.withAll {
            XCTAssertEqual(order.value, 1, "withAll started only after the writer left")
            locks.with([.dataset("a", "x")]) { order.value = 2 }
        }
        XCTAssertEqual(order.value, 2)
    }
}
