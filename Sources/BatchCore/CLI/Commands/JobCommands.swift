// batch-inference-job create, get, list, delete, cancel and wait.
import BatchAPI
import BatchClient
import BatchJSONL
import Foundation

enum JobCommands {
    static func create(_ c: Context) throws {
        let inv = c.invocation
        let path = inv.command.path
        if let id = inv.string("job-id"), let problem = ResourceID.problem(id) {
            throw CLIError.usage("invalid job id '\(id)': \(problem)", command: path)
        }
        if inv.has("download"), !inv.has("wait") { throw CLIError.usage("--download needs --wait", command: path) }
        if inv.has("input-file"), inv.has("input-dataset-id") {
            throw CLIError.usage("--input-file and --input-dataset-id both name the input; give one", command: path)
        }
        let continuing = inv.has("continue-from")
        if !continuing {
            if inv.string("model") == nil { throw CLIError.usage("missing --model (or --continue-from)", command: path) }
            if !inv.has("input-dataset-id"), !inv.has("input-file") {
                throw CLIError.usage("missing --input-dataset-id (or --input-file, or --continue-from)", command: path)
            }
        }

        var job = BatchInferenceJob()
        job.displayName = inv.string("display-name") ?? ""
        job.model = inv.string("model") ?? ""
        if let d = inv.string("input-dataset-id") { job.inputDatasetId = try c.resourceName(d, .dataset, what: "input dataset").description }
        if let x = inv.string("output-dataset-id") { job.outputDatasetId = try c.resourceName(x, .dataset, what: "output dataset").description }
        if let from = inv.string("continue-from") { job.continuedFromJobName = try c.resourceName(from, .batchInferenceJob, what: "job").description }
        var params = InferenceParameters()
        var anyParam = false
        if let v = inv.integer("max-tokens") { params.maxTokens = try int32(v, "max-tokens", c); anyParam = true }
        if let v = inv.number("temperature") { params.temperature = Float(v); anyParam = true }
        if let v = inv.number("top-p") { params.topP = Float(v); anyParam = true }
        if let v = inv.integer("top-k") { params.topK = try int32(v, "top-k", c); anyParam = true }
        if let v = inv.integer("n") { params.n = try int32(v, "n", c); anyParam = true }
        if let v = inv.json("extra-body") { params.extraBody = v.compactText; anyParam = true }
        if anyParam { job.inferenceParameters = params }
        if let p = inv.string("precision") { job.precision = Precision(name: p) }
        job.systemPrompt = inv.string("system-prompt") ?? ""
        if let d = inv.duration("max-job-duration") { job.maxJobDuration = BatchAPI.Duration.wire(d) }

        let jobID = inv.string("job-id")
        if let file = inv.string("input-file") {
            let datasetID = inputDatasetID(jobID: jobID)
            let name = try DatasetCommands.createDataset(c, id: datasetID, file: file, displayName: nil, format: nil,
                                                         validate: true, render: false)
            c.streams.note("created input dataset \(name)")
            job.inputDatasetId = name.description
        }

        let account = try c.account()
        guard let created = try c.client().send(Endpoints.createJob(account: account, id: jobID, job: job.createBody)) else { return }
        let createdJob = try BatchInferenceJob(json: created)
        guard inv.has("wait") else {
            c.render([created], kind: .batchInferenceJob, isList: false)
            return
        }
        c.streams.note("created \(createdJob.name)")
        let name = try c.resourceName(createdJob.name, .batchInferenceJob, what: "job")
        let final = try Follow.run(c, name: name, interval: 2, timeout: nil, exitContract: true, afterEnd: { job in
            if let dir = inv.string("download"), !job.outputDatasetId.isEmpty,
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

    static func int32(_ v: Int, _ flag: String, _ c: Context) throws -> Int32 {
        guard let n = Int32(exactly: v), n >= 0 else {
            throw CLIError.usage("invalid value '\(v)' for --\(flag): expected a non-negative 32-bit integer", command: c.invocation.command.path)
        }
        return n
    }

    static func get(_ c: Context) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .batchInferenceJob, what: "job")
        if c.invocation.has("watch") {
            _ = try Follow.run(c, name: name, interval: 2, timeout: nil, exitContract: false, afterEnd: { _ in })
            return
        }
        if let j = try c.client().send(Endpoints.getJob(name)) { c.render([j], kind: .batchInferenceJob, isList: false) }
    }

    static func list(_ c: Context) throws {
        let account = try c.account()
        let items = try Listing.all(c, itemsKey: "batchInferenceJobs") { Endpoints.listJobs(account: account, query: $0) }
        if let items { Listing.output(c, items, kind: .batchInferenceJob) }
    }

    static func delete(_ c: Context) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .batchInferenceJob, what: "job")
        let client = try c.client()
        guard try client.send(Endpoints.deleteJob(name)) != nil else { return }
        if c.invocation.has("wait") { try Listing.waitUntilGone(c, Endpoints.getJob(name)) }
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

    static func wait(_ c: Context) throws {
        let name = try c.resourceName(c.invocation.positional(0)!, .batchInferenceJob, what: "job")
        let interval = c.invocation.duration("interval") ?? 5
        if interval <= 0 { throw CLIError.usage("--interval must be positive", command: c.invocation.command.path) }
        _ = try Follow.run(c, name: name, interval: interval, timeout: c.invocation.duration("timeout"), exitContract: true,
                           afterEnd: { _ in })
    }
}
