// The local gateway's REST surface: each request through auth, fault injection and the router to its handler.
import BatchAPI
import BatchHTTP
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
        // A signed URL's signature is its credential: no API key, and no injected fault.
        if let object = Router.signedFile(request) { return signedFile(request, object) }
        // `/v1/files` and `/v1/batches` are the OpenAI Batch API's, with its own auth and error answers.
        if OpenAIRouter.claims(request) { return serveOpenAI(request) }
        try authenticator.check(request)
        try faults.fireIfDue()
        switch try Router.route(request) {
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
        switch error {
        case let e as GatewayError:
            return e
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
        .json(e.json.serialized(), status: HTTPStatus(e.httpStatus))
    }

    static func ok(_ value: JSONValue) -> HTTPResponse { .json(value.serialized()) }

    // MARK: helpers shared by the handlers

    func notFound(_ kind: ResourceKind, _ account: String, _ id: String) -> GatewayError {
        GatewayError(.notFound, "\(kind.noun) \"\(ResourceName(account: account, kind: kind, id: id))\" not found")
    }

    func readJSON(_ request: HTTPRequest, limit: Int = 1 << 20) throws -> JSONValue {
        let bytes = try request.body.readAll(limit: limit)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .object([]) }
        do { return try JSONValue(parsing: bytes) } catch { throw GatewayError(.invalidArgument, "invalid JSON body: \(error)") }
    }
}
