// The job engine layer: runs one batch inference job's rows from an input JSONL file to durable output files.
//
// Map of the module:
//   EngineTypes.swift          JobSpec, JobCounters, JobOutcome, RetryPolicy, RunnerOptions, EngineError
//   JobRunner.swift            the runner: feed, dispatch, retry, collect, checkpoint, cancel/expiry
//   InferencePool.swift        the shared, fair concurrency limit (worker threads) for all running jobs
//   RequestBuilder.swift       row + job parameters -> chat completion request body; ModelMap
//   InferenceBackend.swift     the backend protocol and the deterministic EchoBackend
//   OpenAICompatibleBackend.swift  POST /chat/completions to vLLM, llama.cpp, Ollama, ...
//   HTTPClient.swift           the small blocking HTTP/1.1 client with a keep-alive connection pool
//   OutputStore.swift          BIJOutputSet.jsonl, error-data and the atomic checkpoint; crash recovery
//   CustomIDSet.swift          a compact set of custom_ids (128-bit hashes) whose memory does not grow with id length
//   Continuation.swift         the custom_ids that already succeeded in earlier jobs of a chain
//   InputLines.swift           the streaming line reader the runner reads its input with
//
// How the server drives it:
//   let pool = InferencePool(concurrency: flags.concurrency)             // one for the whole server
//   let backend: InferenceBackend = flags.backendURL.map { try OpenAICompatibleBackend(baseURL: $0, apiKey: key,
//                                       requestTimeout: 600, maxConnections: flags.concurrency) } ?? EchoBackend()
//   var options = RunnerOptions(); options.modelMap = try ModelMap(rules: flags.modelMapRules)
//   let skip = try succeededCustomIDs(inOutputDirectories: earlierJobsOfTheChain.map(outputDirectory))
//   let runner = JobRunner(spec: JobSpec(..., outputDirectory: dir, skipCustomIDs: skip, deadline: expireTime),
//                          backend: backend, pool: pool, options: options)
//   let outcome = runner.run { counters in persist jobProgress }          // blocking: one thread per running job
// After a restart, the same call on the same outputDirectory resumes from the checkpoint. The checkpoint file
// (`OutputFiles.checkpoint`) lives in the output directory and is not part of the output dataset;
// `checkpointedCounters(inOutputDirectory:)` reads its counters without running the job.
