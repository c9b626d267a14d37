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
        if let d = args.maxJobDuration { job.maxJobDuration = DurationText.wire(DurationText.seconds(d)) }

        let jobID = args.jobID
        if let file = args.inputFile {
            let datasetID = inputDatasetID(jobID: jobID)
            let name = try DatasetCommands.createDataset(c, id: datasetID, file: file, displayName: nil, format: nil,
                                                         validate: true, render: false)
            if !c.dryRun { c.streams.note("created input dataset \(name)") }
            job.inputDatasetId = name.description
        }

        let account = try c.account()
        guard let created = try c.client().send(Endpoints.createJob(account: account, id: jobID, job: job.createBody)) else { return }
        let createdJob = try BatchInferenceJob(json: created)
        guard args.wait else {
            c.render([created], kind: .batchInferenceJob, isList: false)
            return
        }
        c.streams.note("created \(createdJob.name)")
        let name = try c.resourceName(createdJob.name, .batchInferenceJob, what: "job")
        let final = try Follow.run(c, name: name, interval: 2, timeout: nil, exitContract: true, afterEnd: { job in
            if let dir = args.download, !job.outputDatasetId.isEmpty,
               let output = ResourceName(job.outputDatasetId, kind: .dataset) {
                do {
                    let paths = try DatasetCommands.downloadDataset(c, name: output, into: dir, lineage: false)
                    for p in paths { c.streams.note("wrote \(p)") }
                } catch let e as GatewayError where e.httpStatus == 404 {
                    c.streams.note("no output dataset to download (\(output.id) does not exist)")
                }
            }
        })
        _ = final
    }

    /// `<job-id>-input`, or a generated id when the job has none yet.
    static func inputDatasetID(jobID: String?) -> String {
        if let jobID {
            let base = String(jobID.prefix(57))
            return base.hasSuffix("-") ? base + "input" : base + "-input"
        }
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return "input-" + String((0..<8).map { _ in letters.randomElement()! })
    }

    static func get(_ c: Context, _ args: JobGetArguments) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .batchInferenceJob, what: "job")
        if args.watch {
            _ = try Follow.run(c, name: name, interval: 2, timeout: nil, exitContract: false, afterEnd: { _ in })
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
        if args.wait { try Listing.waitUntilGone(c, Endpoints.getJob(name)) }
        c.streams.note("deleted \(name)")
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
        _ = try Follow.run(c, name: name, interval: DurationText.seconds(args.interval), timeout: args.timeout.map(DurationText.seconds),
                           exitContract: true, afterEnd: { _ in })
    }
}
