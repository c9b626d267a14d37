// The batch inference job routes (gateway-api.md §3): create with continuation, get, list, delete, `:cancel`.
import BatchAPI
import BatchHTTP
import BatchJSONL
import Foundation

extension Gateway {
    func serve(_ route: JobRoute, _ request: HTTPRequest, account: String) throws -> HTTPResponse {
        switch route {
        case .list: return try listJobs(request, account)
        case .create: return try createJob(request, account)
        case .get(let id):
            if let mask = request.queryValue("readMask") ?? request.queryValue("read_mask") {
                guard let job = store.job(account, id) else { throw notFound(.batchInferenceJob, account, id) }
                return Gateway.ok(try FieldMask(mask).apply(to: job.json))
            }
            // The hottest route: the store keeps each job's JSON ready.
            guard let bytes = store.jobJSON(account, id) else { throw notFound(.batchInferenceJob, account, id) }
            return .json(bytes)
        case .delete(let id): return try deleteJob(account, id)
        case .cancel(let id): return try cancelJob(account, id)
        }
    }

    /// Every scalar field of a job may be filtered and sorted on, nested ones by their dotted path
    /// (`jobProgress.percent`, `inferenceParameters.temperature`).
    static let jobListFields: Set<String> = {
        var prototype = BatchInferenceJob()
        prototype.jobProgress = JobProgress()
        prototype.lifecycle = JobLifecycle()
        var parameters = InferenceParameters()
        (parameters.maxTokens, parameters.temperature, parameters.topP, parameters.topK, parameters.n, parameters.extraBody) = (0, 0, 0, 0, 0, "")
        prototype.inferenceParameters = parameters
        prototype.placement = .object([("region", .string("")), ("multiRegion", .string(""))])
        return ListQuery.scalarPaths(of: prototype.json)
    }()

    func listJobs(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        let query = try ListQuery(request.query, defaultOrder: "createTime", fields: Gateway.jobListFields)
        // The usual walk (by name or time, a state filter) sorts small objects; anything else reads the whole job.
        let cheap = query.reads(only: Gateway.cheapJobFields)
        return Gateway.ok(try query.page(store.jobs(account), itemsKey: "batchInferenceJobs",
                                         fields: cheap ? Gateway.listFields : { $0.json }, json: \.json))
    }

    static let cheapJobFields: Set<String> = ["name", "displayName", "createTime", "updateTime", "state", "model", "inputDatasetId",
                                              "outputDatasetId", "continuedFromJobName"]

    /// The fields a job list most often filters and sorts on, without serialising the whole job.
    static func listFields(_ j: BatchInferenceJob) -> JSONValue {
        .object([("name", .string(j.name)), ("displayName", .string(j.displayName)), ("createTime", .string(j.createTime ?? "")),
                 ("updateTime", .string(j.updateTime ?? "")), ("state", .string(j.state.rawValue)), ("model", .string(j.model)),
                 ("inputDatasetId", .string(j.inputDatasetId)), ("outputDatasetId", .string(j.outputDatasetId)),
                 ("continuedFromJobName", .string(j.continuedFromJobName))])
    }

    func datasetName(_ text: String, _ account: String, field: String) throws -> ResourceName {
        if let n = ResourceName(text, kind: .dataset) {
            guard n.account == account else { throw GatewayError(.invalidArgument, "\(field) must be in account \(account)") }
            return n
        }
        if ResourceID.isValid(text) { return ResourceName(account: account, kind: .dataset, id: text) }
        throw GatewayError(.invalidArgument, "invalid \(field) \"\(text)\": expected accounts/\(account)/datasets/ID")
    }

    func createJob(_ request: HTTPRequest, _ account: String) throws -> HTTPResponse {
        let job = try BatchInferenceJob(json: readJSON(request), strict: true)
        let id = request.queryValue("batchInferenceJobId").flatMap { $0.isEmpty ? nil : $0 } ?? "job-" + Gateway.randomID(12)
        return Gateway.ok(try createJob(job, id: id, account).json)
    }

    static func randomID(_ n: Int) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<n).map { _ in letters.randomElement()! })
    }

    /// Creates and queues a job from the fields a client wrote (also the OpenAI Batch API's create).
    func createJob(_ written: BatchInferenceJob, id: String, _ account: String) throws -> BatchInferenceJob {
        var job = written
        let random = Gateway.randomID
        if let problem = ResourceID.problem(id) { throw GatewayError(.invalidArgument, "invalid batchInferenceJobId \"\(id)\": \(problem)") }
        let name = ResourceName(account: account, kind: .batchInferenceJob, id: id)

        var previous: BatchInferenceJob?
        if !job.continuedFromJobName.isEmpty {
            guard let prevName = ResourceName(job.continuedFromJobName, kind: .batchInferenceJob), prevName.account == account else {
                throw GatewayError(.invalidArgument, "continuedFromJobName \"\(job.continuedFromJobName)\" is not a job of account \(account): expected accounts/\(account)/batchInferenceJobs/ID")
            }
            guard let prev = store.job(account, prevName.id) else {
                throw GatewayError(.notFound, "job to continue from \"\(prevName)\" not found")
            }
            previous = prev
            guard prev.isTerminal else {
                throw GatewayError(.failedPrecondition, "job \"\(prev.name)\" is still \(prev.state); continue it once it has ended")
            }
            if job.model.isEmpty { job.model = prev.model }
            if job.inputDatasetId.isEmpty { job.inputDatasetId = prev.inputDatasetId }
            if job.inferenceParameters == nil { job.inferenceParameters = prev.inferenceParameters }
            if job.systemPrompt.isEmpty { job.systemPrompt = prev.systemPrompt }
            // A continuation runs as its job did: same precision, window and placement, unless the request says otherwise.
            if job.precision == .unspecified { job.precision = prev.precision }
            if job.maxJobDuration == nil { job.maxJobDuration = prev.maxJobDuration }
            if job.placement == nil { job.placement = prev.placement }
        }
        guard !job.model.isEmpty else { throw GatewayError(.invalidArgument, "model is required") }
        guard !job.inputDatasetId.isEmpty else { throw GatewayError(.invalidArgument, "inputDatasetId is required") }
        let input = try datasetName(job.inputDatasetId, account, field: "inputDatasetId")
        job.inputDatasetId = input.description

        // Unset stays unset (null, as live): the default 24h applies through expireTime only.
        var duration = 24 * 3600.0
        if let text = job.maxJobDuration {
            guard text.hasSuffix("s"), let seconds = Double(text.dropLast()), seconds > 0 else {
                throw GatewayError(.invalidArgument, "invalid maxJobDuration \"\(text)\": expected a duration like \"86400s\"")
            }
            duration = min(max(seconds, config.minJobDuration), config.maxJobDuration)
            job.maxJobDuration = DurationText.wire(duration)
        } else {
            duration = min(max(duration, config.minJobDuration), config.maxJobDuration)
        }
        let now = Date()
        job.name = name.description
        job.createTime = Timestamp.now()
        job.updateTime = job.createTime
        job.createdBy = config.createdBy
        job.state = JobState.validating
        job.status = ResourceStatus()
        job.expireTime = Timestamp.string(from: now.addingTimeInterval(duration))
        job.lifecycle = nil
        job.jobProgress = nil
        job.waitingOnCapacity = false
        if job.precision == .unspecified { job.precision = .bf16 }

        var output: ResourceName
        if job.outputDatasetId.isEmpty {
            var candidate = ResourceName(account: account, kind: .dataset, id: "bij-" + random(8))
            while store.dataset(account, candidate.id) != nil { candidate.id = "bij-" + random(8) }
            output = candidate
        } else {
            output = try datasetName(job.outputDatasetId, account, field: "outputDatasetId")
        }
        guard output != input else { throw GatewayError(.invalidArgument, "outputDatasetId must differ from inputDatasetId") }
        // Compare and set over the job, its input and its output: an upload cannot replace the input between
        // the READY check and the job's creation, and two creates cannot claim one output.
        try store.locked(.job(account, id), .dataset(account, input.id), .dataset(account, output.id)) {
            if store.job(account, id) != nil { throw GatewayError(.alreadyExists, "batch inference job \"\(name)\" already exists") }
            guard let inputDataset = store.dataset(account, input.id) else {
                throw GatewayError(.notFound, "input dataset \"\(input)\" not found")
            }
            guard inputDataset.state == DatasetState.ready else {
                throw GatewayError(.failedPrecondition, "input dataset \"\(input)\" is \(inputDataset.state), not READY")
            }
            if let user = store.unfinishedJob(using: output.description, account) {
                throw GatewayError(.failedPrecondition, "output dataset \"\(output)\" is used by unfinished job \"\(user.name)\"")
            }
            if let existing = store.dataset(account, output.id) {
                guard existing.sourceJobName.isEmpty, store.datasetFiles(account, output.id).isEmpty else {
                    throw GatewayError(.alreadyExists, "output dataset \"\(output)\" already exists and holds data")
                }
            }
            var out = store.dataset(account, output.id) ?? Dataset()
            out.name = output.description
            out.createTime = out.createTime ?? job.createTime
            out.updateTime = job.createTime
            out.createdBy = config.createdBy
            out.encryptionState = Dataset.encryptionPlaintext
            out.state = DatasetState.uploading
            out.format = .chat
            out.sourceJobName = name.description
            try store.saveDataset(out, account, output.id)
            try store.saveLineage(DatasetLineage(sourceJob: name.description, previousJob: previous?.name ?? "",
                                                 previousDataset: previous?.outputDatasetId ?? ""), account, output.id)
            job.outputDatasetId = output.description
            try store.saveJob(job, account, id)
        }
        scheduler.enqueue(account: account, id: id)
        return job
    }

    /// One compare-and-set: an ended job goes (its output dataset stays READY), an unfinished one is marked
    /// DELETING_CLEANING_UP and stopped; the scheduler keeps its rows as a READY dataset and removes it.
    func deleteJob(_ account: String, _ id: String) throws -> HTTPResponse {
        let stopping: Bool = try store.locked(.job(account, id)) {
            guard let job = store.job(account, id) else { throw notFound(.batchInferenceJob, account, id) }
            if job.isTerminal {
                store.finalizeOutput(of: job, account)
                try store.deleteJob(account, id)
                return false
            }
            try store.updateJob(account, id) { $0.state = JobState.deletingCleaningUp }
            return true
        }
        if stopping { scheduler.stop(account: account, id: id) }
        return Gateway.ok(.object([]))
    }

    /// One compare-and-set: an ended job refuses; otherwise CANCELLING is saved before the answer, so the
    /// acknowledged cancel survives a crash.
    func cancelJob(_ account: String, _ id: String) throws -> HTTPResponse {
        let job: BatchInferenceJob = try store.locked(.job(account, id)) {
            guard let job = store.job(account, id) else { throw notFound(.batchInferenceJob, account, id) }
            guard !job.isTerminal else {
                throw GatewayError(.failedPrecondition, "batch inference job \"\(job.name)\" has already ended (\(job.state))")
            }
            if job.state == JobState.deletingCleaningUp { return job }
            return try store.updateJob(account, id) { $0.state = JobState.cancelling } ?? job
        }
        scheduler.stop(account: account, id: id)
        return Gateway.ok(job.json)
    }
}
