// The gateway's router: a method and path resolved to one route, or to grpc-gateway's routing errors when none
// fits (an unknown path is 404 code 5 "Not Found", a known path with another method 501 code 12 "Method Not
// Allowed", as runtime.DefaultRoutingErrorHandler answers them).
import BatchAPI
import BatchHTTP

/// One operation of gateway-api.md, with the account (and id) its path names.
enum Route: Equatable {
    case verifyAPIKey
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

/// The AIP custom methods after `{id}:`. A verb that no route of the collection has is a missing route (404).
enum CustomMethod: String, CaseIterable {
    case upload, getUploadEndpoint, validateUpload, getDownloadEndpoint, cancel
}

/// The collections under `/v1/accounts/{account}/`.
enum ResourceCollection: String {
    case datasets, batchInferenceJobs
}

/// A file a signed URL names: `/storage/accounts/{account}/datasets/{dataset}/{file}`.
struct StorageObject: Equatable {
    var account: String
    var dataset: String
    var file: String

    /// The path below the public base, as it is signed.
    var path: String { "/storage/accounts/\(account)/datasets/\(dataset)/\(file)" }
}

enum Router {
    /// Signed file URLs are answered before authentication, since the signature is the credential. Only
    /// well-formed names get here; anything else under `/storage` is an unknown path.
    static func signedFile(_ request: HTTPRequest) -> StorageObject? {
        let seg = request.pathSegments
        guard seg.count == 6, seg[0] == "storage", seg[1] == "accounts", seg[3] == "datasets",
              ResourceID.accountProblem(seg[2]) == nil, ResourceID.isValid(seg[4]), StoreLayout.isSafeFileName(seg[5]) else { return nil }
        return StorageObject(account: seg[2], dataset: seg[4], file: seg[5])
    }

    /// Every other route: `/verifyApiKey` and `/v1/accounts/{account}/{datasets|batchInferenceJobs}[/{id}[:verb]]`.
    static func route(_ request: HTTPRequest) throws -> Route {
        let seg = request.pathSegments
        let method = request.method
        if seg == ["verifyApiKey"] {
            guard method == "GET" else { throw methodNotAllowed(request) }
            return .verifyAPIKey
        }
        guard seg.count >= 4, seg[0] == "v1", seg[1] == "accounts" else { throw noRoute(request) }
        let account = seg[2]
        guard let collection = ResourceCollection(rawValue: seg[3]), seg.count <= 5 else { throw noRoute(request) }

        var id: String?
        var verb: CustomMethod?
        if seg.count == 5 {
            var text = seg[4]
            if let colon = text.firstIndex(of: ":") {
                guard let known = CustomMethod(rawValue: String(text[text.index(after: colon)...])) else { throw noRoute(request) }
                verb = known
                text = String(text[..<colon])
            }
            id = text
        }
        let allowed = methods(collection, hasID: id != nil, verb)
        guard !allowed.isEmpty else { throw noRoute(request) }
        guard allowed.contains(method) else { throw methodNotAllowed(request) }
        // The path matched a route: what is in it is checked now, as the gateway behind grpc-gateway does.
        if let problem = ResourceID.accountProblem(account) { throw GatewayError(.invalidArgument, "invalid account \"\(account)\": \(problem)") }
        if let id, let problem = ResourceID.problem(id) { throw GatewayError(.invalidArgument, "invalid resource id \"\(id)\": \(problem)") }

        switch (collection, id, verb, method) {
        case (.datasets, nil, _, "GET"): return .dataset(.list, account: account)
        case (.datasets, nil, _, _): return .dataset(.create, account: account)
        case (.batchInferenceJobs, nil, _, "GET"): return .job(.list, account: account)
        case (.batchInferenceJobs, nil, _, _): return .job(.create, account: account)
        case let (.datasets, id?, nil, "GET"): return .dataset(.get(id: id), account: account)
        case let (.datasets, id?, nil, "PATCH"): return .dataset(.update(id: id), account: account)
        case let (.datasets, id?, nil, _): return .dataset(.delete(id: id), account: account)
        case let (.datasets, id?, .upload?, _): return .dataset(.upload(id: id), account: account)
        case let (.datasets, id?, .getUploadEndpoint?, _): return .dataset(.getUploadEndpoint(id: id), account: account)
        case let (.datasets, id?, .validateUpload?, _): return .dataset(.validateUpload(id: id), account: account)
        case let (.datasets, id?, .getDownloadEndpoint?, _): return .dataset(.getDownloadEndpoint(id: id), account: account)
        case let (.batchInferenceJobs, id?, nil, "GET"): return .job(.get(id: id), account: account)
        case let (.batchInferenceJobs, id?, nil, _): return .job(.delete(id: id), account: account)
        case let (.batchInferenceJobs, id?, .cancel?, _): return .job(.cancel(id: id), account: account)
        default: throw noRoute(request)
        }
    }

    /// The methods some route has for a path of this shape; empty when no route has the path at all.
    static func methods(_ collection: ResourceCollection, hasID: Bool, _ verb: CustomMethod?) -> Set<String> {
        switch (collection, hasID, verb) {
        case (_, false, _): return ["GET", "POST"]
        case (.datasets, true, nil): return ["GET", "PATCH", "DELETE"]
        case (.datasets, true, .upload?), (.datasets, true, .getUploadEndpoint?), (.datasets, true, .validateUpload?): return ["POST"]
        case (.datasets, true, .getDownloadEndpoint?): return ["GET"]
        case (.batchInferenceJobs, true, nil): return ["GET", "DELETE"]
        case (.batchInferenceJobs, true, .cancel?): return ["POST"]
        default: return []
        }
    }

    static func noRoute(_ request: HTTPRequest) -> GatewayError { GatewayError(.notFound, "Not Found") }

    static func methodNotAllowed(_ request: HTTPRequest) -> GatewayError { GatewayError(.unimplemented, "Method Not Allowed") }
}
