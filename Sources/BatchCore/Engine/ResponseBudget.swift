// ResponseBudget: the bound on the bytes of inference answers held in memory at once, across all jobs.
import Foundation

/// Answers are accounted from the moment their bytes arrive until the runner has written them out. A
/// reservation that does not fit waits, except for the oldest reader: it always proceeds, so readers that each
/// hold part of an answer can never wait on one another for ever. The memory held is therefore at most
/// `capacity` plus one answer (`maxResponseBytes`), whatever the concurrency.
/// `@unchecked Sendable`: `held`, `readers` and `nextTicket` are guarded by `condition`.
public final class ResponseBudget: @unchecked Sendable {
    public let capacity: Int
    private let condition = NSCondition()
    private var held = 0
    /// Tickets of the reservations still reading an answer, oldest first.
    private var readers: [UInt64] = []
    private var nextTicket: UInt64 = 0

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Bytes of answers in memory now.
    public var heldBytes: Int {
        condition.lock(); defer { condition.unlock() }
        return held
    }

    /// A reservation for one answer, on the worker thread that reads it.
    func reservation() -> Reservation { Reservation(budget: self) }

    /// Gives back bytes kept by reservations once the rows they belong to are written (or dropped).
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        condition.lock()
        held -= bytes
        condition.broadcast()
        condition.unlock()
    }

    fileprivate func ticket() -> UInt64 {
        condition.lock(); defer { condition.unlock() }
        nextTicket += 1
        readers.append(nextTicket)
        return nextTicket
    }

    fileprivate func reserve(_ bytes: Int, ticket: UInt64) {
        condition.lock()
        while held + bytes > capacity && readers.first != ticket { condition.wait() }
        held += bytes
        condition.unlock()
    }

    /// The reader is done: it keeps its bytes (`keep`) or gives them back.
    fileprivate func finish(ticket: UInt64, returning bytes: Int) {
        condition.lock()
        if let index = readers.firstIndex(of: ticket) { readers.remove(at: index) }
        held -= bytes
        condition.broadcast()
        condition.unlock()
    }

    /// One answer's bytes. Used by one thread at a time (the worker running the request).
    /// `@unchecked Sendable`: `ticket` and `bytes` are touched only by that thread.
    final class Reservation: AnswerMemory, @unchecked Sendable {
        private let budget: ResponseBudget
        private var ticket: UInt64 = 0
        private(set) var bytes = 0

        fileprivate init(budget: ResponseBudget) { self.budget = budget }

        func reserve(_ count: Int) {
            guard count > 0 else { return }
            if ticket == 0 { ticket = budget.ticket() }
            budget.reserve(count, ticket: ticket)
            bytes += count
        }

        /// Ends the reading and keeps the bytes accounted; returns how many, for `ResponseBudget.release`.
        func keep() -> Int {
            if ticket != 0 { budget.finish(ticket: ticket, returning: 0); ticket = 0 }
            return bytes
        }

        /// Ends the reading and gives the bytes back (a failed request: its body is not kept).
        func release() {
            if ticket != 0 { budget.finish(ticket: ticket, returning: bytes); ticket = 0 } else { budget.release(bytes) }
            bytes = 0
        }
    }
}
