// The client's own errors: the network failed, or the gateway answered something unusable.

/// The gateway could not be reached (after retries): exit 7.
public struct TransportError: Error, Equatable, CustomStringConvertible, Sendable {
    public var url: String
    public var reason: String
    public init(url: String, reason: String) { self.url = url; self.reason = reason }
    public var description: String { "cannot reach \(url): \(reason)" }
}

/// Anything else that stops a client operation (bad answer, local file problem): exit 1.
public struct ClientError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
