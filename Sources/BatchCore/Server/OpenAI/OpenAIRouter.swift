// The OpenAI Batch API's routes: `/v1/files[/{id}[/content]]` and `/v1/batches[/{id}[/cancel]]`, dispatched
// before the Fireworks routes (which all live under `/v1/accounts/`), with the gateway's API key as bearer.
import BatchAPI
import BatchHTTP

enum OpenAIRoute: Equatable {
    case createFile, listFiles
    case getFile(id: String), fileContent(id: String), deleteFile(id: String)
    case createBatch, listBatches
    case getBatch(id: String), cancelBatch(id: String)
}

enum OpenAIRouter {
    /// Whether the request is the OpenAI API's: its path starts with `/v1/files` or `/v1/batches`.
    static func claims(_ request: HTTPRequest) -> Bool {
        let seg = request.pathSegments
        return seg.count >= 2 && seg[0] == "v1" && (seg[1] == "files" || seg[1] == "batches")
    }

    static func route(_ request: HTTPRequest) throws -> OpenAIRoute {
        let seg = request.pathSegments
        let method = request.method == "HEAD" ? "GET" : request.method
        guard seg.count >= 2, seg.count <= 4, seg.dropFirst(2).allSatisfy({ !$0.isEmpty }) else { throw invalidURL(request) }
        let id = seg.count > 2 ? seg[2] : ""
        switch (seg[1], seg.count, seg.count == 4 ? seg[3] : "", method) {
        case ("files", 2, _, "POST"): return .createFile
        case ("files", 2, _, "GET"): return .listFiles
        case ("files", 3, _, "GET"): return .getFile(id: id)
        case ("files", 3, _, "DELETE"): return .deleteFile(id: id)
        case ("files", 4, "content", "GET"): return .fileContent(id: id)
        case ("batches", 2, _, "POST"): return .createBatch
        case ("batches", 2, _, "GET"): return .listBatches
        case ("batches", 3, _, "GET"): return .getBatch(id: id)
        case ("batches", 4, "cancel", "POST"): return .cancelBatch(id: id)
        case ("files", 2...3, _, _), ("files", 4, "content", _), ("batches", 2...3, _, _), ("batches", 4, "cancel", _):
            throw OpenAIError(status: 405, "Invalid method for URL (\(request.method) \(request.rawPath))")
        default:
            throw invalidURL(request)
        }
    }

    static func invalidURL(_ request: HTTPRequest) -> OpenAIError {
        OpenAIError(status: 404, "Invalid URL (\(request.method) \(request.rawPath))")
    }
}

extension Gateway {
    /// Every OpenAI API request: key, injected faults, route, handler; any failure in OpenAI's error shape.
    func serveOpenAI(_ request: HTTPRequest) -> HTTPResponse {
        do {
            do { try authenticator.check(request) } catch let e as GatewayError { throw OpenAIError.authentication(e) } catch is InvalidAPIKey {
                throw OpenAIError.authentication(GatewayError(.permissionDenied, InvalidAPIKey.message))
            }
            try faults.fireIfDue()
            let account = config.openAIAccount
            switch try OpenAIRouter.route(request) {
            case .createFile: return try createOpenAIFile(request, account)
            case .listFiles: return try listOpenAIFiles(request, account)
            case .getFile(let id): return Gateway.ok(try openAIFileObject(openAIFile(id, account), account))
            case .fileContent(let id): return try openAIFileContent(request, id, account)
            case .deleteFile(let id): return try deleteOpenAIFile(id, account)
            case .createBatch: return try createOpenAIBatch(request, account)
            case .listBatches: return try listOpenAIBatches(request, account)
            case .getBatch(let id): return Gateway.ok(openAIBatch(try openAIJob(id, account), account))
            case .cancelBatch(let id): return try cancelOpenAIBatch(id, account)
            }
        } catch {
            return OpenAIError.from(error).response
        }
    }
}
