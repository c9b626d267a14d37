// batch-inference-job create, get, list, delete, cancel and wait.
import BatchAPI
import BatchClient
import BatchJSONL
import Foundation

enum JobCommands {
    static func create(_ c: Context, _ args: JobCreateArguments) throws {
        var job = BatchInferenceJob()
        job.displayName = args.displayName ?? ""
        job.model = args.model ?? ""
        if let d = args.inputDatasetID { job.inputDatasetId = try c.resourceName(d, .dataset, what: "input dataset").description }
        if let x = args.outputDatasetID { job.outputDatasetId = try c.resourceName(x, .dataset, what: "output dataset").description }
        if let from = args.continueFrom { job.continuedFromJobName = try c.resourceName(from, .batchInferenceJob, what: "job").description }
        // Presence: each flag given is sent, zero included; a flag not given is not sent at all.
        var params = InferenceParameters()
        params.maxTokens = args.maxTokens
        params.temperature = args.temperature
        params.topP = args.topP
        params.topK = args.topK
        params.n = args.n
        params.extraBody = args.extraBody?.compactText
        if !params.isEmpty { job.inferenceParameters = params }
        if let p = args.precision { job.precision = Precision(name: p) }
        job.systemPrompt = args.systemPrompt ?? ""
        if let d = args.maxJobDuration {
            try checkJobDuration(c, d)
            job.maxJobDuration = DurationText.wire(DurationText.seconds(d))
        }

        let jobID = args.jobID
        let account = try c.account()
        if let file = args.inputFile {
            // Nothing is created for a job that cannot be: a taken job id stops the command here.
            if let jobID, !c.dryRun { try requireFreeJobID(c, ResourceName(account: account, kind: .batchInferenceJob, id: jobID)) }
            job.inputDatasetId = try InputFileDataset.prepare(c, file: file, jobID: jobID).description
        }

        guard let created = try c.client().send(Endpoints.createJob(account: account, id: jobID, job: job.createBody)) else { return }
        let createdJob = try BatchInferenceJob(json: created)
        guard args.wait else {
            c.render([created], kind: .batchInferenceJob, isList: false)
            return
        }
        c.streams.note("created \(createdJob.name)")
        let name = try c.resourceName(createdJob.name, .batchInferenceJob, what: "job")
        try Follow.run(c, name: name, options: Follow.Options(poll: 2, args.follow, exitContract: true), afterEnd: { job in
            guard let dir = args.download, !job.outputDatasetId.isEmpty,
                  let output = ResourceName(job.outputDatasetId, kind: .dataset) else { return [] }
            do {
                let files = try DatasetCommands.downloadDataset(c, name: output, into: dir, lineage: false).files
                for f in files { c.streams.note("wrote \(f.path) (\(ProgressBar.bytes(f.bytes)))") }
                return files.map(\.path)
            } catch let e as GatewayError where ExitStatus.status(of: e) == ExitStatus.notFound {
                c.streams.note("no output dataset to download (\(output.id) does not exist)")
                return []
            }
        })
    }

    /// Fireworks bounds a job's window to 12h..72h; say so instead of letting the gateway quietly clamp it.
    /// (`BATCHCTL_MIN_JOB_DURATION` lowers the floor for a test gateway started with `--min-job-duration`.)
    static func checkJobDuration(_ c: Context, _ d: Duration) throws {
        let seconds = DurationText.seconds(d)
        let floor = c.environment["BATCHCTL_MIN_JOB_DURATION"].flatMap { text -> Double? in
            if case let .success(v) = DurationText.parse(text) { return DurationText.seconds(v) }
            return nil
        } ?? 12 * 3600
        guard seconds >= floor, seconds <= 72 * 3600 else {
            throw CLIError.usage("invalid value '\(DurationText.human(seconds))' for --max-job-duration: the gateway accepts 12h to 72h (default 24h)",
                                 command: c.invocation.command.path)
        }
    }

    /// Exit 6 when the job already exists, before anything is created for it.
    static func requireFreeJobID(_ c: Context, _ name: ResourceName) throws {
        do {
            _ = try c.client().send(Endpoints.getJob(name))
        } catch let e as GatewayError where ExitStatus.status(of: e) == ExitStatus.notFound {
            return
        }
        throw CLIError.conflict("batch inference job \(name.id) already exists; nothing was created. Choose another --job-id, or delete it first (batchctl bij delete \(name.id))")
    }

    static func get(_ c: Context, _ args: JobGetArguments) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .batchInferenceJob, what: "job")
        if args.watch {
            try Follow.run(c, name: name, options: Follow.Options(poll: 2, args.follow, exitContract: false))
            return
        }
        if let j = try c.client().send(Endpoints.getJob(name)) { c.render([j], kind: .batchInferenceJob, isList: false) }
    }

    static func list(_ c: Context, _ args: ListArguments) throws {
        let account = try c.account()
        let items = try Listing.all(c, args, itemsKey: "batchInferenceJobs") { Endpoints.listJobs(account: account, query: $0) }
        if let items { Listing.output(c, items, kind: .batchInferenceJob) }
    }

    static func delete(_ c: Context, _ args: DeleteArguments) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .batchInferenceJob, what: "job")
        let client = try c.client()
        guard try client.send(Endpoints.deleteJob(name)) != nil else { return }
        if args.wait { try Listing.waitUntilGone(c, Endpoints.getJob(name), name: name, timeout: DurationText.seconds(args.waitTimeout)) }
        Listing.printDeleted(c, name, waited: args.wait)
    }

    static func cancel(_ c: Context) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .batchInferenceJob, what: "job")
        let unsupported = CLIError.failure("Fireworks has no cancel for batch inference jobs; use 'batchctl bij delete \(name.id)' to stop and remove the job (the local gateway supports cancel)")
        if URL(string: try c.settings().baseURL)?.host == "api.fireworks.ai" { throw unsupported }
        do {
            guard let j = try c.client().send(Endpoints.cancelJob(name)) else { return }
            c.render([j], kind: .batchInferenceJob, isList: false)
        } catch let e as GatewayError where e.code == .unimplemented || e.httpStatus == 501 || e.httpStatus == 405 {
            throw unsupported
        }
    }

    static func wait(_ c: Context, _ args: JobWaitArguments) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .batchInferenceJob, what: "job")
        try Follow.run(c, name: name, options: Follow.Options(poll: DurationText.seconds(args.interval), args.follow, exitContract: true))
    }
}
