// A request to the gateway as a value: built by the endpoint functions, sent or printed by --dry-run.
import BatchAPI
import BatchHTTP
import BatchJSONL

public struct GatewayRequest: Sendable {
    public var method: HTTPMethod
    /// Path below the base URL, e.g. `/v1/accounts/a/datasets`.
    public var path: String
    public var query: [(String, String)]
    public var body: JSONValue?

    public init(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil) {
        self.method = method; self.path = path; self.query = query; self.body = body
    }

    /// Idempotent requests may be retried after a network error or a transient answer; others only when
    /// they cannot have been processed (see GatewayClient.perform).
    public var isIdempotent: Bool { method.isIdempotent }

    public func url(base: String) -> String {
        var url = base + path
        if !query.isEmpty {
            url += "?" + query.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
        }
        return url
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
public func percentEncode(_ s: String) -> String {
    var out = ""
    for byte in s.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.append(Character(UnicodeScalar(byte)))
        default:
            let hex = Array("0123456789ABCDEF")
            out.append("%"); out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 0xF)])
        }
    }
    return out
}

/// The endpoints of gateway-api.md, as request builders.
public enum Endpoints {
    static func base(_ account: String) -> String { "/v1/accounts/\(account)" }

    public static func verifyAPIKey() -> GatewayRequest { GatewayRequest(.get, "/verifyApiKey") }

    public static func createDataset(account: String, id: String, dataset: JSONValue) -> GatewayRequest {
        GatewayRequest(.post, "\(base(account))/datasets", body: .object([("datasetId", .string(id)), ("dataset", dataset)]))
    }
    public static func getDataset(_ name: ResourceName) -> GatewayRequest { GatewayRequest(.get, "/v1/\(name)") }
    public static func updateDataset(_ name: ResourceName, fields: JSONValue) -> GatewayRequest {
        GatewayRequest(.patch, "/v1/\(name)", body: fields)
    }
    public static func deleteDataset(_ name: ResourceName) -> GatewayRequest { GatewayRequest(.delete, "/v1/\(name)") }
    public static func listDatasets(account: String, query: [(String, String)]) -> GatewayRequest {
        GatewayRequest(.get, "\(base(account))/datasets", query: query)
    }
    public static func uploadPath(_ name: ResourceName) -> String { "/v1/\(name):upload" }
    public static func getUploadEndpoint(_ name: ResourceName, files: [(String, Int64)]) -> GatewayRequest {
        GatewayRequest(.post, "/v1/\(name):getUploadEndpoint",
                       body: .object([("filenameToSize", .object(files.map { ($0.0, .string(String($0.1))) }))]))
    }
    public static func validateUpload(_ name: ResourceName) -> GatewayRequest {
        GatewayRequest(.post, "/v1/\(name):validateUpload", body: .object([]))
    }
    public static func getDownloadEndpoint(_ name: ResourceName, lineage: Bool) -> GatewayRequest {
        GatewayRequest(.get, "/v1/\(name):getDownloadEndpoint", query: lineage ? [("downloadLineage", "true")] : [])
    }

    public static func createJob(account: String, id: String?, job: JSONValue) -> GatewayRequest {
        GatewayRequest(.post, "\(base(account))/batchInferenceJobs", query: id.map { [("batchInferenceJobId", $0)] } ?? [], body: job)
    }
    public static func getJob(_ name: ResourceName) -> GatewayRequest { GatewayRequest(.get, "/v1/\(name)") }
    public static func deleteJob(_ name: ResourceName) -> GatewayRequest { GatewayRequest(.delete, "/v1/\(name)") }
    public static func cancelJob(_ name: ResourceName) -> GatewayRequest {
        GatewayRequest(.post, "/v1/\(name):cancel", body: .object([]))
    }
    public static func listJobs(account: String, query: [(String, String)]) -> GatewayRequest {
        GatewayRequest(.get, "\(base(account))/batchInferenceJobs", query: query)
    }
}
