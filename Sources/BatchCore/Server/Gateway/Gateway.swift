// The local gateway's REST surface: each request through auth, fault injection and the router to its handler.
import BatchAPI
import BatchHTTP
import BatchEngine
import BatchJSONL
import Foundation

public struct GatewayConfiguration: Sendable {
    public var dataDir: String
    public var apiKey: String?
    public var defaultAccount = "local"
    /// Where the OpenAI Batch API's files and batches live (`--openai-account`).
    public var openAIAccount = "local"
    public var minJobDuration: Double = 12 * 3600
    public var maxJobDuration: Double = 72 * 3600
    public var directUploadLimit = 150 * 1_000_000
    public var uploadURLLifetime: Double = 3600
    public var downloadURLLifetime: Double = 600
    /// Testing: answer this status to the first `count` API requests.
    public var injectedFault: (status: Int, count: Int)?
    /// The `Host` names (lower case, no port) requests may carry besides loopback names; nil lets any host in
    /// (a wildcard listen address, where an API key is required anyway). A foreign `Host` is how a DNS
    /// rebinding page reaches a loopback server.
    public var allowedHosts: Set<String>? = []
    /// Browser origins (`https://app.example.com`) allowed to call the API; a request from any other is refused.
    public var allowedOrigins: Set<String> = []
    /// `--public-url`: the base of every absolute URL the gateway mints (checked by `PublicBase.parse`); nil
    /// means the address it listens on, never the request's `Host` header.
    public var publicURL: String?
    /// `--created-by`: the `createdBy` of every dataset and job this gateway creates (a user identity, as live).
    public var createdBy = "local@localhost"

    public init(dataDir: String) { self.dataDir = dataDir }
}

/// The base URL signed URLs are minted with: fixed by `--public-url`, else learned when the server has bound.
/// `@unchecked Sendable`: `listening` is guarded by `lock`.
final class MintedBase: @unchecked Sendable {
    let fixed: PublicBase?
    private let lock = NSLock()
    private var listening = PublicBase(scheme: "http", authority: "127.0.0.1:8700", pathPrefix: "")

    init(fixed: PublicBase?) { self.fixed = fixed }

    func setListenAddress(_ authority: String) { lock.withLock { listening.authority = authority } }

    var current: PublicBase { fixed ?? lock.withLock { listening } }
}

final class Gateway: Sendable {
    let config: GatewayConfiguration
    let store: Store
    let signer: URLSigner
    let scheduler: JobScheduler
    let authenticator: Authenticator
    let faults: FaultInjector
    let mintedBase: MintedBase
    let openAIRecords: OpenAIBatchRecords

    init(config: GatewayConfiguration, store: Store, scheduler: JobScheduler) throws {
        var fixed: PublicBase?
        if let text = config.publicURL {
            switch PublicBase.parse(text) {
            case let .success(base): fixed = base
            case let .failure(problem): throw GatewayError(.invalidArgument, "invalid --public-url \(text): \(problem)")
            }
        }
        self.mintedBase = MintedBase(fixed: fixed)
        self.config = config
        self.store = store
        self.scheduler = scheduler
        self.signer = URLSigner(key: try Gateway.signingKey(dataDir: config.dataDir))
        self.authenticator = Authenticator(apiKey: config.apiKey)
        self.faults = FaultInjector(config.injectedFault)
        self.openAIRecords = OpenAIBatchRecords(directory: config.dataDir + "/openai/batches")
    }

    /// A random key made once per data dir (so URLs survive a restart) and readable only by its owner.
    static func signingKey(dataDir: String) throws -> [UInt8] {
        let path = dataDir + "/signing.key"
        if let data = FileManager.default.contents(atPath: path), data.count >= 32 { return [UInt8](data) }
        var key = [UInt8](repeating: 0, count: 32)
        for i in 0..<32 { key[i] = UInt8.random(in: 0...255) }
        try AtomicFile.write(key, to: path)
        chmod(path, 0o600)
        return key
    }

    // MARK: entry

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        do {
            return try respond(to: request)
        } catch let refused as InvalidAPIKey {
            return refused.response
        } catch {
            return Gateway.errorResponse(Gateway.answer(for: error))
        }
    }

    func respond(to request: HTTPRequest) throws -> HTTPResponse {
        try BrowserGuard.checkHost(request, allowed: config.allowedHosts)
        let origin = try BrowserGuard.checkOrigin(request, allowed: config.allowedOrigins)
        if let origin {
            if request.method == "OPTIONS" { return BrowserGuard.preflight(request, origin: origin) }
            var response = try respondAllowed(to: request)
            BrowserGuard.addCORSHeaders(&response, origin: origin)
            return response
        }
        return try respondAllowed(to: request)
    }

    private func respondAllowed(to request: HTTPRequest) throws -> HTTPResponse {
        // A signed URL's signature is its credential: no API key, and no injected fault.
        if let object = Router.signedFile(request) { return signedFile(request, object) }
        // `/v1/files` and `/v1/batches` are the OpenAI Batch API's, with its own auth and error answers.
        if OpenAIRouter.claims(request) { return serveOpenAI(request) }
        try authenticator.check(request)
        try faults.fireIfDue()
        let route = try Router.route(request)
        try BrowserGuard.checkContentType(request, multipart: route.takesMultipart)
        switch route {
        case .verifyAPIKey:
            var response = Gateway.ok(.object([]))
            response.headers["x-fireworks-account-id"] = config.defaultAccount
            response.headers[BatchctlHeaders.dataDir] = config.dataDir
            return response
        case .serverStatus:
            return Gateway.ok(scheduler.statusJSON())
        case .dataset(let route, let account): return try serve(route, request, account: account)
        case .job(let route, let account): return try serve(route, request, account: account)
        }
    }

    /// The gateway error a thrown error is answered with, chosen by its type.
    static func answer(for error: Error) -> GatewayError {
        if isDiskFull(error) { return diskFull }
        switch error {
        case let e as GatewayError:
            return e
        case let e as FileError:
            return GatewayError(.internal, "\(e)")
        case let e as StoreError:
            return GatewayError(.internal, "\(e)")
        case let e as ProtoJSONError:
            return GatewayError(.invalidArgument, e.message)
        case let e as MultipartError:
            return GatewayError(.invalidArgument, e.message)
        case let e as HTTPBodyError:
            switch e {
            case .tooLarge:
                return GatewayError(.invalidArgument, e.description, httpStatus: 413)
            // Today's answers, kept as they were: every other body failure is a 400 with the body error's text.
            case .malformed, .timedOut, .incomplete, .readFailed, .unavailable, .destinationWriteFailed:
                return GatewayError(.invalidArgument, e.description, httpStatus: 400)
            }
        default:
            return GatewayError(.internal, "\(error)")
        }
    }

    static func errorResponse(_ e: GatewayError) -> HTTPResponse {
        var response = HTTPResponse.json(e.json.serialized(), status: HTTPStatus(e.httpStatus))
        if e.httpStatus == 503 { response.headers["Retry-After"] = "1" }
        return response
    }

    /// A full disk is the same retryable answer on every route, never a 400 (clients would not retry) or a 500.
    static let diskFull = GatewayError(.unavailable, "the disk holding the gateway's data dir is full; retry once space is freed")

    static func isDiskFull(_ error: Error) -> Bool {
        func full(_ code: Int32) -> Bool { code == ENOSPC || code == EDQUOT }
        switch error {
        case let e as FileError: return e.isDiskFull
        case let e as StoreError: return e.isDiskFull
        case let e as HTTPBodyError:
            if case let .destinationWriteFailed(code) = e { return full(code) }
            return false
        default:
            let ns = error as NSError
            if ns.domain == NSPOSIXErrorDomain { return full(Int32(ns.code)) }
            if ns.domain == NSCocoaErrorDomain, ns.code == NSFileWriteOutOfSpaceError { return true }
            if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
                return full(Int32(underlying.code))
            }
            return false
        }
    }

    static func ok(_ value: JSONValue) -> HTTPResponse { .json(value.serialized()) }

    // MARK: helpers shared by the handlers

    func notFound(_ kind: ResourceKind, _ account: String, _ id: String) -> GatewayError {
        GatewayError(.notFound, "\(kind.noun) \"\(ResourceName(account: account, kind: kind, id: id))\" not found")
    }

    /// Datasets read or written by an unfinished job refuse every change: replacing a job's input mid-run, or
    /// its output under the engine, loses rows.
    func requireNoUnfinishedJob(_ account: String, _ id: String) throws {
        let name = ResourceName(account: account, kind: .dataset, id: id).description
        if let job = store.unfinishedJob(using: name, account) {
            throw GatewayError(.failedPrecondition, "dataset \"\(name)\" is used by unfinished job \"\(job.name)\" (\(job.state)); "
                + "wait for it to end, or cancel it")
        }
    }

    /// How many bytes of a dataset file may be served: for the output of an unfinished job, only what its
    /// checkpoint made durable (a crash may cut and run again what lies past it); nil for the whole file.
    func servedLength(_ account: String, _ id: String, _ file: String) -> Int? {
        guard let d = store.dataset(account, id), let source = ResourceName(d.sourceJobName, kind: .batchInferenceJob),
              let job = store.job(account, source.id), !job.isTerminal else { return nil }
        let lengths = (try? checkpointedLengths(inOutputDirectory: store.datasetFilesDir(account, id))) ?? nil
        switch file {
        case OutputFiles.results: return Int(lengths?.results ?? 0)
        case OutputFiles.errors: return Int(lengths?.errors ?? 0)
        default: return nil
        }
    }

    func readJSON(_ request: HTTPRequest, limit: Int = 1 << 20) throws -> JSONValue {
        let bytes = try request.body.readAll(limit: limit)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .object([]) }
        do { return try JSONValue(parsing: bytes) } catch { throw GatewayError(.invalidArgument, "invalid JSON body: \(error)") }
    }
}
