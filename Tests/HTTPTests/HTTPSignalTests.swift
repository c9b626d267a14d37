// HTTPServer.waitForSignal: returns the signal that arrived.
import BatchHTTP
import Foundation
import Glibc
import XCTest

final class HTTPSignalTests: XCTestCase {
    func testWaitForSignalReturnsTheSignal() {
        // Ignored first, so that a signal raised before the wait begins (or after it ends, when the previous
        // disposition is back) cannot end the test process.
        signal(SIGUSR2, SIG_IGN)
        let result = LockedLines()
        let returned = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            result.append(String(HTTPServer.waitForSignal([SIGUSR1, SIGUSR2])))
            returned.signal()
        }
        var delivered = false
        for _ in 0..<50 where !delivered {
            usleep(20_000)
            kill(getpid(), SIGUSR2)
            delivered = returned.wait(timeout: .now() + .milliseconds(20)) == .success
        }
        XCTAssertTrue(delivered, "waitForSignal did not return after SIGUSR2")
        XCTAssertEqual(result.all, [String(SIGUSR2)])
    }
}
