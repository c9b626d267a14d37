// Every flag of batchctl by its long name, declared once: the table builds its FlagSpecs from these cases and
// the typed arguments (Arguments/Arguments.swift) read values through them, so a misspelled flag cannot compile.

/// A logical flag. Commands may declare the same flag with their own doc line (`--wait` of `delete` and of
/// `bij create`); it is one case here because the tokenizer needs one arity per name (a table test checks it).
/// A test checks that every case is declared somewhere in the table.
public enum Flag: String, CaseIterable, Sendable {
    // global
    case accountID = "account-id"
    case apiKey = "api-key"
    case profile
    case server
    case local
    case output
    case dryRun = "dry-run"
    case quiet
    case noColor = "no-color"
    case timeout
    case cacert
    case help
    case version

    // lists
    case filter
    case orderBy = "order-by"
    case pageSize = "page-size"
    case pageToken = "page-token"
    case noPaginate = "no-paginate"
    case limit

    // datasets
    case displayName = "display-name"
    case format
    case noValidate = "no-validate"
    case wait
    case waitTimeout = "wait-timeout"
    case force
    case externalURL = "external-url"
    case outputDir = "output-dir"
    case downloadLineage = "download-lineage"

    // batch inference jobs
    case jobID = "job-id"
    case model
    case inputDatasetID = "input-dataset-id"
    case outputDatasetID = "output-dataset-id"
    case continueFrom = "continue-from"
    case maxTokens = "max-tokens"
    case temperature
    case topP = "top-p"
    case topK = "top-k"
    case n
    case extraBody = "extra-body"
    case precision
    case systemPrompt = "system-prompt"
    case maxJobDuration = "max-job-duration"
    case inputFile = "input-file"
    case download
    case watch
    case interval
    case failOnRowErrors = "fail-on-row-errors"
    case progressInterval = "progress-interval"

    // results and split
    case status
    case withRequest = "with-request"
    case content
    case noLineage = "no-lineage"
    case follow
    case maxBytes = "max-bytes"
    case rows

    // server
    case listen
    case dataDir = "data-dir"
    case backend
    case inferenceURL = "inference-url"
    case inferenceAPIKey = "inference-api-key"
    case modelMap = "model-map"
    case allowOrigin = "allow-origin"
    case concurrency
    case fixedConcurrency = "fixed-concurrency"
    case maxResponseBytes = "max-response-bytes"
    case requestTimeout = "request-timeout"
    case publicURL = "public-url"
    case createdBy = "created-by"
    case minJobDuration = "min-job-duration"
    case failRequests = "fail-requests"
    case openAIAccount = "openai-account"
}
