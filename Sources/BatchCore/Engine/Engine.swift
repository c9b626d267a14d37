// The job engine layer: runs one batch inference job's rows from an input JSONL file to durable output files.
//
// Map of the module:
//   EngineTypes.swift          JobSpec, JobCounters, RunSummary, JobOutcome, RetryPolicy, RunnerOptions, EngineError
//   JobRunner.swift            the runner: feed, dispatch, retry off the window, collect, checkpoint, cancel/expiry
//   InferencePool.swift        the endpoints all jobs share: least outstanding requests first, circuit breaking and
//                              probing, the worker threads, fair between jobs
//   ConcurrencyLimiter.swift   one endpoint's adaptive limit on requests in flight
//   ResponseBudget.swift       the bound on answer bytes held in memory at once
//   RequestBuilder.swift       row + job parameters -> chat completion request body; ModelMap
//   InferenceBackend.swift     the backend protocol and the deterministic EchoBackend
//   OpenAICompatibleBackend.swift  POST /chat/completions to vLLM, llama.cpp, Ollama, SGLang, ...; probes, /props
//   OutputStore.swift          BIJOutputSet.jsonl, error-data and the atomic checkpoint; crash recovery
//   CustomIDSet.swift          a compact set of custom_ids (128-bit hashes) whose memory does not grow with id length
//   Continuation.swift         the custom_ids that already succeeded in earlier jobs of a chain
//   InputLines.swift           the streaming line reader the runner reads its input with
//
// How the server drives it:
//   let endpoints = try flags.inferenceURLs.map { url in InferenceEndpoint(name: url, backend:
//                       try OpenAICompatibleBackend(baseURL: url, apiKey: key, maxConnections: n), concurrency: n) }
//   let pool = InferencePool(endpoints: endpoints, log: log)            // one for the whole server
//   var options = RunnerOptions(); options.modelMap = try ModelMap(rules: flags.modelMapRules)
//   let skip = try succeededCustomIDs(inOutputDirectories: earlierJobsOfTheChain.map(outputDirectory))
//   let runner = JobRunner(spec: JobSpec(..., outputDirectory: dir, skipCustomIDs: skip, deadline: expireTime),
//                          pool: pool, options: options)
//   let outcome = runner.run { counters in persist jobProgress; runner.isWaitingOnCapacity }  // blocking
//   runner.summary                                                      // rows/s and tokens/s of the run
// After a restart, the same call on the same outputDirectory resumes from the checkpoint. The checkpoint file
// (`OutputFiles.checkpoint`) lives in the output directory and is not part of the output dataset;
// `checkpointedCounters(inOutputDirectory:)` reads its counters without running the job.
