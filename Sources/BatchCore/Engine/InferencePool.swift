// InferencePool: the worker threads that carry every job's requests, one shared concurrency limit, fair between jobs.
import Foundation

/// `concurrency` threads run the requests of all jobs (the server's `--concurrency`). Each job queues its
/// work on its own lane and the workers take from the lanes in turn, so a job that queued first cannot
/// starve one that started later: with k busy jobs each gets about 1/k of the workers.
/// `@unchecked Sendable`: `lanes` (and each lane's tasks), `cursor`, `queuedTotal`, `shuttingDown` and `threads`
/// are guarded by `condition`.
public final class InferencePool: @unchecked Sendable {
    public let concurrency: Int
    private let condition = NSCondition()
    private var lanes: [Lane] = []
    private var cursor = 0
    private var queuedTotal = 0
    private var shuttingDown = false
    private var threads: [Thread] = []

    /// One job's queue of work.
    final class Lane {
        var tasks: [() -> Void] = []
        var head = 0
        var removed = false
        var isEmpty: Bool { head == tasks.count }

        func pop() -> () -> Void {
            let task = tasks[head]
            head += 1
            // Trim the consumed front once it dominates, so the array does not grow with the number of rows.
            if head >= 1024 && head * 2 >= tasks.count { tasks.removeFirst(head); head = 0 }
            return task
        }
    }

    public init(concurrency: Int = 64) {
        self.concurrency = max(1, concurrency)
        for index in 0..<self.concurrency {
            let thread = Thread { [weak self] in self?.workerLoop() }
            thread.name = "batchctl-inference-\(index)"
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
    }

    /// Lets the workers finish what they run and exit; queued work is dropped. For tests and the benchmark.
    public func shutdown() {
        condition.lock()
        shuttingDown = true
        condition.broadcast()
        condition.unlock()
    }

    deinit { shutdown() }

    func addLane() -> Lane {
        let lane = Lane()
        condition.lock()
        lanes.append(lane)
        condition.unlock()
        return lane
    }

    /// Removes the lane and returns how many of its tasks were still queued (they will never run).
    @discardableResult
    func removeLane(_ lane: Lane) -> Int {
        condition.lock()
        defer { condition.unlock() }
        let dropped = dropQueuedLocked(lane)
        lane.removed = true
        if let index = lanes.firstIndex(where: { $0 === lane }) {
            lanes.remove(at: index)
            if cursor > index { cursor -= 1 }
            if cursor >= lanes.count { cursor = 0 }
        }
        return dropped
    }

    /// Queues `task` on the lane; false (and nothing queued) once the lane was removed.
    func submit(_ task: @escaping () -> Void, to lane: Lane) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        // A task on a lane no worker can see would keep `queuedTotal` above zero and spin the workers.
        if lane.removed || shuttingDown { return false }
        lane.tasks.append(task)
        queuedTotal += 1
        condition.signal()
        return true
    }

    /// Drops the lane's queued tasks and returns how many there were.
    func dropQueued(_ lane: Lane) -> Int {
        condition.lock()
        defer { condition.unlock() }
        return dropQueuedLocked(lane)
    }

    private func dropQueuedLocked(_ lane: Lane) -> Int {
        let count = lane.tasks.count - lane.head
        lane.tasks.removeAll()
        lane.head = 0
        queuedTotal -= count
        return count
    }

    private func workerLoop() {
        while true {
            condition.lock()
            while queuedTotal == 0 && !shuttingDown { condition.wait() }
            if shuttingDown { condition.unlock(); return }
            // Round robin: the first non-empty lane at or after the cursor, then move the cursor past it.
            var task: (() -> Void)?
            for step in 0..<lanes.count {
                let index = (cursor + step) % lanes.count
                if !lanes[index].isEmpty {
                    task = lanes[index].pop()
                    queuedTotal -= 1
                    cursor = (index + 1) % lanes.count
                    break
                }
            }
            condition.unlock()
            task?()
        }
    }
}
