// ResponseBudget: the bound on the bytes of inference answers held in memory at once, across all jobs.
import Foundation

/// Answers are accounted from the moment their bytes arrive until the runner has written them out. A
/// reservation that does not fit waits. Answers already read are given back by the runners' flushes, which
/// never wait for the budget, and an answer of announced length (`Content-Length`, what inference servers
/// send) is reserved whole before its first byte is read, so the bytes held stay within `capacity` (one
/// answer larger than the capacity goes alone). Answers of unannounced length (chunked) are reserved as they
/// grow: readers waiting with part of an answer could wait on one another, so the oldest reader does not wait
/// for the parts other waiting readers hold; those parts, each less than one answer, may come on top.
/// `@unchecked Sendable`: `kept`, `reading`, `blocked`, `readers` and `nextTicket` are guarded by `condition`.
public final class ResponseBudget: @unchecked Sendable {
    public let capacity: Int
    private let condition = NSCondition()
    /// Bytes of answers read and not yet written out.
    private var kept = 0
    /// Bytes reserved by answers still being read...
    private var reading = 0
    /// ...of which readers now waiting for more hold these.
    private var blocked = 0
    /// Tickets of the reservations still reading an answer, oldest first.
    private var readers: [UInt64] = []
    private var nextTicket: UInt64 = 0

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Bytes of answers in memory now.
    public var heldBytes: Int {
        condition.lock(); defer { condition.unlock() }
        return kept + reading
    }

    /// A reservation for one answer, on the worker thread that reads it.
    func reservation() -> Reservation { Reservation(budget: self) }

    /// Gives back bytes kept by reservations once the rows they belong to are written (or dropped).
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        condition.lock()
        kept -= bytes
        condition.broadcast()
        condition.unlock()
    }

    fileprivate func ticket() -> UInt64 {
        condition.lock(); defer { condition.unlock() }
        nextTicket += 1
        readers.append(nextTicket)
        return nextTicket
    }

    /// `own` is what this reader reserved before.
    fileprivate func reserve(_ bytes: Int, own: Int, ticket: UInt64) {
        condition.lock()
        while kept + reading + bytes > capacity {
            // The parts held by other waiting readers cannot shrink before this one goes on.
            if readers.first == ticket && (kept + reading - blocked + bytes <= capacity || kept + reading == blocked) { break }
            blocked += own
            // The oldest reader may now be free to go on: it looks again.
            if own > 0 { condition.broadcast() }
            condition.wait()
            blocked -= own
        }
        reading += bytes
        condition.unlock()
    }

    /// The reader of `bytes` is done: it keeps them accounted until `release`, or gives them back now.
    fileprivate func finish(ticket: UInt64, bytes: Int, keep: Bool) {
        condition.lock()
        if let index = readers.firstIndex(of: ticket) { readers.remove(at: index) }
        reading -= bytes
        if keep { kept += bytes }
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
            budget.reserve(count, own: bytes, ticket: ticket)
            bytes += count
        }

        /// Ends the reading and keeps the bytes accounted; returns how many, for `ResponseBudget.release`.
        func keep() -> Int {
            if ticket != 0 { budget.finish(ticket: ticket, bytes: bytes, keep: true); ticket = 0 }
            return bytes
        }

        /// Ends the reading and gives the bytes back (a failed request: its body is not kept).
        func release() {
            if ticket != 0 { budget.finish(ticket: ticket, bytes: bytes, keep: false); ticket = 0 }
            bytes = 0
        }
    }
}
