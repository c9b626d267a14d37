// Tests of ResponseBudget: reservations that do not fit wait for written answers, and readers of chunked
// answers that each hold a part never wait on one another for ever.
import XCTest
@testable import BatchEngine

final class ResponseBudgetTests: XCTestCase {
    func testAReservationWaitsUntilWrittenAnswersAreGivenBack() {
        let budget = ResponseBudget(capacity: 100)
        let a = budget.reservation()
        a.reserve(60)
        let kept = a.keep()
        XCTAssertEqual(kept, 60)
        let admitted = DispatchSemaphore(value: 0)
        let b = budget.reservation()
        Thread { b.reserve(60); admitted.signal() }.start()
        XCTAssertEqual(admitted.wait(timeout: .now() + 0.3), .timedOut, "60 + 60 does not fit in 100")
        budget.release(kept)
        XCTAssertEqual(admitted.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(budget.heldBytes, 60)
        b.release()
        XCTAssertEqual(budget.heldBytes, 0)
    }

    /// Two readers each hold part of an answer and both need more than is left: the oldest goes on.
    func testReadersOfChunkedAnswersDoNotWaitOnEachOther() {
        let budget = ResponseBudget(capacity: 100)
        let a = budget.reservation(), b = budget.reservation()
        a.reserve(50)
        b.reserve(40)
        let done = DispatchSemaphore(value: 0)
        Thread { a.reserve(30); _ = a.keep(); done.signal() }.start()
        Thread { b.reserve(30); _ = b.keep(); done.signal() }.start()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "the oldest reader went on")
        XCTAssertEqual(done.wait(timeout: .now() + 0.3), .timedOut, "the other waits for memory to be given back")
        budget.release(80)
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(budget.heldBytes, 70)
    }

    func testOneAnswerLargerThanTheCapacityGoesAlone() {
        let budget = ResponseBudget(capacity: 10)
        let a = budget.reservation()
        a.reserve(25)
        XCTAssertEqual(budget.heldBytes, 25)
        a.release()
        XCTAssertEqual(budget.heldBytes, 0)
    }
}
