// The gateway's router: a method and path resolved to one route, or to the 400, 404 or 405 answer when none fits.
import BatchAPI
import BatchHTTP

/// One operation of gateway-api.md, with the account (and id) its path names.
enum Route: Equatable {
    case verifyAPIKey
    /// `GET /batchctl/status`: batchctl's own, not Fireworks': the inference endpoints and recent throughput.
    case serverStatus
    case dataset(DatasetRoute, account: String)
    case job(JobRoute, account: String)
}

enum DatasetRoute: Equatable {
    case list, create
    case get(id: String), update(id: String), delete(id: String)
    case upload(id: String), getUploadEndpoint(id: String), validateUpload(id: String), getDownloadEndpoint(id: String)
}

enum JobRoute: Equatable {
    case list, create
    case get(id: String), delete(id: String), cancel(id: String)
}

/// The AIP custom methods after `{id}:`. One set for every collection: a known verb on the wrong collection
/// is a wrong method (405), an unknown verb is a missing route (404).
enum CustomMethod: String, CaseIterable {
    case upload, getUploadEndpoint, validateUpload, getDownloadEndpoint, cancel
}

/// The collections under `/v1/accounts/{account}/`.
enum ResourceCollection: String {
    case datasets, batchInferenceJobs
}

enum Router {
    /// `/signed/{operation}/{token}`: answered before authentication, since the token is the credential.
    static func signedFile(_ request: HTTPRequest) -> (operation: String, token: String)? {
        let seg = request.pathSegments
        guard seg.count == 3, seg[0] == "signed" else { return nil }
        return (seg[1], seg[2])
    }

    /// Every other route: `/verifyApiKey` and `/v1/accounts/{account}/{datasets|batchInferenceJobs}[/{id}[:verb]]`.
    static func route(_ request: HTTPRequest) throws -> Route {
        let seg = request.pathSegments
        let method = request.method
        if seg == ["verifyApiKey"] {
            guard method == "GET" else { throw methodNotAllowed(request) }
            return .verifyAPIKey
        }
        if seg == ["batchctl", "status"] {
            guard method == "GET" else { throw methodNotAllowed(request) }
            return .serverStatus
        }
        guard seg.count >= 4, seg[0] == "v1", seg[1] == "accounts" else { throw noRoute(request) }
        let account = seg[2]
        if let problem = ResourceID.accountProblem(account) { throw GatewayError(.invalidArgument, "invalid account \"\(account)\": \(problem)") }
        guard let collection = ResourceCollection(rawValue: seg[3]) else { throw noRoute(request) }

        if seg.count == 4 {
            switch (collection, method) {
            case (.datasets, "GET"): return .dataset(.list, account: account)
            case (.datasets, "POST"): return .dataset(.create, account: account)
            case (.batchInferenceJobs, "GET"): return .job(.list, account: account)
            case (.batchInferenceJobs, "POST"): return .job(.create, account: account)
            default: throw methodNotAllowed(request)
            }
        }
        guard seg.count == 5 else { throw noRoute(request) }
        var id = seg[4]
        var verbText: String?
        if let colon = id.firstIndex(of: ":") {
            verbText = String(id[id.index(after: colon)...])
            id = String(id[..<colon])
        }
        if let problem = ResourceID.problem(id) { throw GatewayError(.invalidArgument, "invalid resource id \"\(id)\": \(problem)") }
        var verb: CustomMethod?
        if let verbText {
            guard let known = CustomMethod(rawValue: verbText) else { throw GatewayError(.notFound, "unknown method \":\(verbText)\"") }
            verb = known
        }

        switch (collection, verb, method) {
        case (.datasets, nil, "GET"): return .dataset(.get(id: id), account: account)
        case (.datasets, nil, "PATCH"): return .dataset(.update(id: id), account: account)
        case (.datasets, nil, "DELETE"): return .dataset(.delete(id: id), account: account)
        case (.datasets, .upload?, "POST"): return .dataset(.upload(id: id), account: account)
        case (.datasets, .getUploadEndpoint?, "POST"): return .dataset(.getUploadEndpoint(id: id), account: account)
        case (.datasets, .validateUpload?, "POST"): return .dataset(.validateUpload(id: id), account: account)
        case (.datasets, .getDownloadEndpoint?, "GET"): return .dataset(.getDownloadEndpoint(id: id), account: account)
        case (.datasets, .getDownloadEndpoint?, _):
            throw GatewayError(.invalidArgument, "getDownloadEndpoint takes GET with no body", httpStatus: 405)
        case (.batchInferenceJobs, nil, "GET"): return .job(.get(id: id), account: account)
        case (.batchInferenceJobs, nil, "DELETE"): return .job(.delete(id: id), account: account)
        case (.batchInferenceJobs, .cancel?, "POST"): return .job(.cancel(id: id), account: account)
        default: throw methodNotAllowed(request)
        }
    }

    static func noRoute(_ request: HTTPRequest) -> GatewayError {
        GatewayError(.notFound, "no route for \(request.method) \(request.rawPath)")
    }

    static func methodNotAllowed(_ request: HTTPRequest) -> GatewayError {
        GatewayError(.unimplemented, "\(request.method) is not supported on \(request.rawPath)", httpStatus: 405)
    }
}
