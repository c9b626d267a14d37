// InferencePool: the inference endpoints every job shares, with their health, adaptive concurrency and the
// worker threads that carry the requests, fair between jobs.
import Foundation
import BatchJSONL

/// One inference server (or a load balancer in front of several) the pool sends requests to.
public struct InferenceEndpoint: Sendable {
    /// Shown in `server status` and the log: the base URL, never the key.
    public var name: String
    public var backend: InferenceBackend
    /// The most requests in flight at once (`--concurrency`, or the endpoint's own `concurrency=`).
    public var concurrency: Int
    /// Adaptive: the limit starts from the server's own slot count when it reports one, else from `concurrency`,
    /// and moves with the answers. Not adaptive (pinned): always `concurrency`.
    public var adaptive: Bool
    /// This endpoint's model names, tried before the server-wide `RunnerOptions.modelMap`.
    public var modelMap: ModelMap

    public init(name: String, backend: InferenceBackend, concurrency: Int = 64, adaptive: Bool = true, modelMap: ModelMap = ModelMap()) {
        self.name = name
        self.backend = backend
        self.concurrency = max(1, concurrency)
        self.adaptive = adaptive
        self.modelMap = modelMap
    }
}

/// Health and memory settings of a pool; the defaults are the server's.
public struct PoolOptions: Sendable {
    /// Connection errors, timeouts, 502, 503 or 504 in a row that take an endpoint out (circuit open)...
    public var failureThreshold = 5
    /// ...with no success for this long: a server that answers some requests and refuses others with 503 is
    /// busy, not down (its adaptive limit deals with that).
    public var quietPeriod: TimeInterval = 1
    /// The first wait before probing an endpoint that was taken out; it doubles up to `probeMaxDelay`.
    public var probeInitialDelay: TimeInterval = 0.25
    public var probeMaxDelay: TimeInterval = 5
    /// Bytes of answers held in memory at once, across all jobs (read, or waiting to be written).
    public var maxHeldResponseBytes = 256 << 20

    public init() {}
}

/// What `server status` shows of one endpoint.
public struct EndpointStatus: Sendable, Equatable {
    public enum Health: String, Sendable {
        /// Taking requests.
        case healthy
        /// Taken out after failures in a row; probed with backoff.
        case down
        /// A probe answered (circuit half-open): one request at a time until one succeeds.
        case halfOpen = "half-open"
        /// Asking the server for its slot count before the first request.
        case starting
    }
    public var name: String
    public var health: Health
    public var inFlight: Int
    /// The adaptive limit now (the ceiling when pinned).
    public var limit: Int
    public var ceiling: Int
    public var adaptive: Bool
    /// What the server said about its parallelism (llama.cpp `total_slots`), when it did.
    public var reportedSlots: Int?
    public var successes: Int
    public var failures: Int
    /// Over the last 10 seconds.
    public var requestsPerSecond: Double
    public var successesPerSecond: Double
    public var averageLatencySeconds: Double?
    public var lastError: String?
    public var downSince: Date?
}

/// What a request came back with, as the pool saw it.
enum PoolVerdict: Sendable, Equatable {
    case success
    /// The row fails now (a refusal that will not change).
    case failed
    /// Worth another attempt after a backoff; counts against the row's attempts.
    case retry
    /// The endpoint is down: the row goes back to the queue without losing an attempt.
    case requeue
}

/// One request of a row, as a job hands it to the pool.
struct PoolRequest {
    /// An endpoint the request should avoid when another one can take it (where its last attempt failed); -1 for none.
    var avoid: Int
    /// The request body for endpoint `index` (its model name).
    var body: (_ index: Int) -> [UInt8]
    /// Called once on a worker thread with the answer. `heldBytes` of a success stay accounted in the pool's
    /// `ResponseBudget` until the job releases them (`InferencePool.releaseHeld`).
    var done: (_ result: InferenceResult, _ verdict: PoolVerdict, _ endpoint: Int, _ heldBytes: Int) -> Void
}

/// The worker threads (as many as the endpoints' ceilings add up to) run the requests of all jobs. Each job
/// queues its requests on its own lane and the workers take from the lanes in turn, so a job that queued first
/// cannot starve one that started later. A request goes to the endpoint with the fewest requests in flight
/// among those that are healthy and under their limit; when every endpoint is down nothing is sent and the
/// jobs wait (`isWaitingOnCapacity`) until a probe succeeds.
/// `@unchecked Sendable`: `lanes` (and each lane's tasks), `cursor`, `queuedTotal`, `shuttingDown`, `threads`,
/// `sequence`, `rotation` and every `EndpointState` are guarded by `condition`.
public final class InferencePool: @unchecked Sendable {
    public let endpoints: [InferenceEndpoint]
    public let options: PoolOptions
    /// The bound on answer bytes held at once.
    public let budget: ResponseBudget
    private let log: @Sendable (String) -> Void
    private let condition = NSCondition()
    private var lanes: [Lane] = []
    private var cursor = 0
    private var queuedTotal = 0
    private var shuttingDown = false
    private var threads: [Thread] = []
    private var states: [EndpointState] = []
    private var sequence: UInt64 = 0
    private var rotation = 0

    /// Requests in flight at most: the sum of the endpoints' ceilings.
    public var concurrency: Int { endpoints.reduce(0) { $0 + $1.concurrency } }

    /// One job's queue of work. Requests put back by an outage or a finished backoff go first (`urgent`).
    final class Lane {
        var tasks: [PoolRequest] = []
        var head = 0
        var urgent: [PoolRequest] = []
        var removed = false
        var isEmpty: Bool { head == tasks.count && urgent.isEmpty }
        var count: Int { tasks.count - head + urgent.count }

        func peekAvoid() -> Int { urgent.last?.avoid ?? tasks[head].avoid }

        func pop() -> PoolRequest {
            if let task = urgent.popLast() { return task }
            let task = tasks[head]
            head += 1
            // Trim the consumed front once it dominates, so the array does not grow with the number of rows.
            if head >= 1024 && head * 2 >= tasks.count { tasks.removeFirst(head); head = 0 }
            return task
        }
    }

    /// An endpoint's moving parts, guarded by the pool's `condition`.
    final class EndpointState {
        var limiter: ConcurrencyLimiter
        var health: EndpointStatus.Health = .starting
        var inFlight = 0
        var failuresInARow = 0
        /// Monotonic seconds of the last success.
        var lastSuccess = -Double.infinity
        var probeDelay: TimeInterval
        var reportedSlots: Int?
        var lastError: String?
        var downSince: Date?
        var successes = 0
        var failures = 0
        var latencySum = 0.0
        /// Per-second counts of the last 10 seconds: (second, requests, successes).
        var buckets = [(second: Int, requests: Int, successes: Int)](repeating: (0, 0, 0), count: 10)

        init(limiter: ConcurrencyLimiter, probeDelay: TimeInterval) {
            self.limiter = limiter
            self.probeDelay = probeDelay
        }

        var isAvailable: Bool {
            switch health {
            case .healthy: return inFlight < limiter.current
            case .halfOpen: return inFlight == 0
            case .down, .starting: return false
            }
        }

        func count(success: Bool, now: Int) {
            let slot = now % buckets.count
            if buckets[slot].second != now { buckets[slot] = (now, 0, 0) }
            buckets[slot].requests += 1
            if success { buckets[slot].successes += 1; successes += 1 } else { failures += 1 }
        }
    }

    public init(endpoints: [InferenceEndpoint], options: PoolOptions = PoolOptions(), log: @escaping @Sendable (String) -> Void = { _ in }) {
        precondition(!endpoints.isEmpty, "an inference pool needs at least one endpoint")
        self.endpoints = endpoints
        self.options = options
        self.log = log
        budget = ResponseBudget(capacity: options.maxHeldResponseBytes)
        states = endpoints.map { endpoint in
            EndpointState(limiter: ConcurrencyLimiter(ceiling: endpoint.concurrency, start: nil, pinned: !endpoint.adaptive),
                          probeDelay: options.probeInitialDelay)
        }
        for (index, endpoint) in endpoints.enumerated() {
            if endpoint.adaptive {
                // Asking for the slot count is a network call: off the caller's thread, before the first request.
                let thread = Thread { [weak self] in self?.discoverSlots(index) }
                thread.name = "batchctl-endpoint-\(index)"
                thread.start()
            } else {
                states[index].health = .healthy
            }
        }
        let workers = min(4096, concurrency)
        for index in 0..<workers {
            let thread = Thread { [weak self] in self?.workerLoop() }
            thread.name = "batchctl-inference-\(index)"
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
    }

    /// One endpoint at a fixed concurrency: the echo model, tests and benchmarks.
    public convenience init(concurrency: Int = 64, backend: InferenceBackend = EchoBackend(), adaptive: Bool = false,
                            options: PoolOptions = PoolOptions()) {
        self.init(endpoints: [InferenceEndpoint(name: "backend", backend: backend, concurrency: concurrency, adaptive: adaptive)],
                  options: options)
    }

    /// Lets the workers finish what they run and exit; queued work is dropped. For tests and the benchmark.
    public func shutdown() {
        condition.lock()
        shuttingDown = true
        condition.broadcast()
        condition.unlock()
    }

    deinit { shutdown() }

    // MARK: endpoints

    /// The model name each endpoint is sent for a job's model: the endpoint's own map first, then `fallback`.
    func models(for model: String, fallback: ModelMap) -> [String] {
        endpoints.map { $0.modelMap.matching(model) ?? fallback.map(model) }
    }

    /// True while every endpoint is down: nothing is sent until a probe succeeds.
    public var isWaitingOnCapacity: Bool {
        condition.lock(); defer { condition.unlock() }
        return states.allSatisfy { $0.health == .down }
    }

    /// Why nothing is sent, for the job's status message.
    public var outageMessage: String {
        condition.lock(); defer { condition.unlock() }
        let reasons = zip(endpoints, states).map { endpoint, state in "\(endpoint.name): \(state.lastError ?? "down")" }
        let what = endpoints.count == 1 ? "the inference endpoint is" : "all \(endpoints.count) inference endpoints are"
        return "waiting on capacity: \(what) down (\(reasons.joined(separator: "; "))); rows wait and resume when one answers again"
    }

    public func status() -> [EndpointStatus] {
        condition.lock(); defer { condition.unlock() }
        let now = Int(Date().timeIntervalSince1970)
        return zip(endpoints, states).map { endpoint, s in
            let recent = s.buckets.filter { $0.second < now && $0.second >= now - 10 }
            return EndpointStatus(name: endpoint.name, health: s.health, inFlight: s.inFlight, limit: s.limiter.current,
                                  ceiling: s.limiter.ceiling, adaptive: endpoint.adaptive, reportedSlots: s.reportedSlots,
                                  successes: s.successes, failures: s.failures,
                                  requestsPerSecond: Double(recent.reduce(0) { $0 + $1.requests }) / 10,
                                  successesPerSecond: Double(recent.reduce(0) { $0 + $1.successes }) / 10,
                                  averageLatencySeconds: s.successes > 0 ? s.latencySum / Double(s.successes) : nil,
                                  lastError: s.lastError, downSince: s.downSince)
        }
    }

    private func discoverSlots(_ index: Int) {
        let slots = endpoints[index].backend.reportedSlots()
        condition.lock()
        if let slots, slots > 0 {
            states[index].reportedSlots = slots
            states[index].limiter = ConcurrencyLimiter(ceiling: endpoints[index].concurrency, start: slots, pinned: false)
        }
        if states[index].health == .starting { states[index].health = .healthy }
        condition.broadcast()
        condition.unlock()
        if let slots, slots > 0 {
            log("endpoint \(endpoints[index].name) reports \(slots) slots: concurrency starts at \(min(slots, endpoints[index].concurrency)) (ceiling \(endpoints[index].concurrency))")
        }
    }

    private func openCircuitLocked(_ index: Int, reason: String) {
        let s = states[index]
        let wasHalfOpen = s.health == .halfOpen
        s.health = .down
        if s.downSince == nil { s.downSince = Date() }
        if wasHalfOpen { s.probeDelay = min(options.probeMaxDelay, s.probeDelay * 2) }
        let delay = s.probeDelay
        let allDown = states.allSatisfy { $0.health == .down }
        if !wasHalfOpen {
            log("endpoint \(endpoints[index].name) is down after \(s.failuresInARow) failures in a row (\(reason)); probing it"
                + (allDown ? "; no endpoint is answering, jobs wait" : ""))
        }
        let thread = Thread { [weak self] in self?.probeLoop(index, delay: delay) }
        thread.name = "batchctl-probe-\(index)"
        thread.start()
    }

    /// Probes a down endpoint with backoff until it answers; then lets one request through.
    private func probeLoop(_ index: Int, delay start: TimeInterval) {
        var delay = start
        while true {
            condition.lock()
            let until = Date(timeIntervalSinceNow: delay)
            while !shuttingDown && Date() < until { _ = condition.wait(until: until) }
            let stop = shuttingDown
            condition.unlock()
            if stop { return }
            let answers = endpoints[index].backend.probe()
            condition.lock()
            if answers {
                states[index].health = .halfOpen
                states[index].probeDelay = delay
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            delay = min(options.probeMaxDelay, delay * 2)
        }
    }

    // MARK: lanes

    func addLane() -> Lane {
        let lane = Lane()
        condition.lock()
        lanes.append(lane)
        condition.unlock()
        return lane
    }

    /// Removes the lane and returns how many of its requests were still queued (they will never run).
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

    /// Queues `request` on the lane, before the lane's other requests when `urgent`; false (and nothing
    /// queued) once the lane was removed or the pool shut down.
    func submit(_ request: PoolRequest, to lane: Lane, urgent: Bool = false) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        // A task on a lane no worker can see would keep `queuedTotal` above zero and spin the workers.
        if lane.removed || shuttingDown { return false }
        if urgent { lane.urgent.append(request) } else { lane.tasks.append(request) }
        queuedTotal += 1
        condition.signal()
        return true
    }

    /// Drops the lane's queued requests and returns how many there were.
    func dropQueued(_ lane: Lane) -> Int {
        condition.lock()
        defer { condition.unlock() }
        return dropQueuedLocked(lane)
    }

    private func dropQueuedLocked(_ lane: Lane) -> Int {
        let count = lane.count
        lane.tasks.removeAll()
        lane.urgent.removeAll()
        lane.head = 0
        queuedTotal -= count
        return count
    }

    /// Gives back answer bytes a job kept (its rows are written or dropped).
    func releaseHeld(_ bytes: Int) { budget.release(bytes) }

    // MARK: workers

    /// The endpoint for a request: the fewest in flight among the available ones, ties taken in turn. A retry
    /// avoids the endpoint it failed on (`avoid`) while another one is healthy, even if that one is full for now.
    private func chooseEndpointLocked(avoid: Int) -> Int? {
        var best: Int?
        var avoided = false
        let count = states.count
        for step in 0..<count {
            let index = (rotation + step) % count
            let s = states[index]
            guard s.isAvailable else { continue }
            if index == avoid && count > 1 { avoided = true; continue }
            if best == nil || s.inFlight < states[best!].inFlight { best = index }
        }
        rotation = (rotation + 1) % max(1, count)
        if best == nil && avoided {
            let otherHealthy = states.indices.contains { $0 != avoid && states[$0].health == .healthy }
            return otherHealthy ? nil : avoid
        }
        return best
    }

    /// Whether some endpoint could take a request now.
    private var anyAvailableLocked: Bool { states.contains { $0.isAvailable } }

    private func workerLoop() {
        condition.lock()
        while true {
            if shuttingDown { condition.unlock(); return }
            var picked: (PoolRequest, Int)?
            if queuedTotal > 0, anyAvailableLocked {
                // Round robin: the first lane at or after the cursor whose next request has an endpoint, then move
                // the cursor past it.
                for step in 0..<lanes.count {
                    let index = (cursor + step) % lanes.count
                    let lane = lanes[index]
                    guard !lane.isEmpty, let endpoint = chooseEndpointLocked(avoid: lane.peekAvoid()) else { continue }
                    picked = (lane.pop(), endpoint)
                    queuedTotal -= 1
                    cursor = (index + 1) % lanes.count
                    break
                }
            }
            guard let (request, index) = picked else { condition.wait(); continue }
            let s = states[index]
            s.inFlight += 1
            let inFlight = s.inFlight
            sequence += 1
            let sent = sequence
            condition.unlock()

            let body = request.body(index)
            let reservation = budget.reservation()
            let start = DispatchTime.now().uptimeNanoseconds
            let result = endpoints[index].backend.complete(body, memory: reservation)
            let latency = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            var held = 0
            if case .success = result { held = reservation.keep() } else { reservation.release() }

            condition.lock()
            let verdict = recordLocked(index, result, sent: sent, inFlight: inFlight, latency: latency)
            if queuedTotal > 0 { condition.signal() }
            condition.unlock()
            request.done(result, verdict, index, held)
            condition.lock()
        }
    }

    /// Books an answer against its endpoint (health, limit, rates) and says what the row should do next.
    private func recordLocked(_ index: Int, _ result: InferenceResult, sent: UInt64, inFlight: Int, latency: Double) -> PoolVerdict {
        let s = states[index]
        s.inFlight -= 1
        let now = Int(Date().timeIntervalSince1970)
        switch result {
        case .success:
            s.count(success: true, now: now)
            s.latencySum += latency
            let clock = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
            s.limiter.success(latency: latency, inFlight: inFlight, now: clock)
            s.lastSuccess = clock
            s.failuresInARow = 0
            if s.health == .halfOpen { closeCircuitLocked(index) }
            return .success
        case let .failure(failure):
            s.count(success: false, now: now)
            s.lastError = "\(failure.status): \(failure.message.prefix(200))"
            if failure.isOverload { s.limiter.overload(sequence: sent, inFlight: inFlight, nextSequence: sequence + 1) }
            guard failure.isUnavailable else {
                // The server answered: it is up, whatever it thinks of this row.
                s.failuresInARow = 0
                if s.health == .halfOpen { closeCircuitLocked(index) }
                return failure.retryable ? .retry : .failed
            }
            s.failuresInARow += 1
            switch s.health {
            case .down:
                return .requeue
            case .halfOpen:
                // The probe answered but the request did not: the row pays an attempt, so a request that only
                // ever fails cannot keep a job waiting for ever.
                openCircuitLocked(index, reason: s.lastError ?? "")
                return .retry
            case .healthy, .starting:
                let quiet = Double(DispatchTime.now().uptimeNanoseconds) / 1e9 - s.lastSuccess
                if s.failuresInARow >= options.failureThreshold && quiet >= options.quietPeriod {
                    openCircuitLocked(index, reason: s.lastError ?? "")
                    return .requeue
                }
                return .retry
            }
        }
    }

    private func closeCircuitLocked(_ index: Int) {
        let s = states[index]
        let downFor = s.downSince.map { Date().timeIntervalSince($0) } ?? 0
        s.health = .healthy
        s.downSince = nil
        s.probeDelay = options.probeInitialDelay
        condition.broadcast()
        log(String(format: "endpoint %@ answers again after %.1f s; sending it requests", endpoints[index].name, downFor))
    }
}
