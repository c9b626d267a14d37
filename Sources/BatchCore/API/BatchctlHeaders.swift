// Headers a batchctl gateway adds to the Fireworks wire, which a Fireworks client never needs: each says
// something only the local gateway knows, and none changes a body the SDK reads.
public enum BatchctlHeaders {
    /// On every answer: `Server: batchctl/VERSION`, so a client can tell a batchctl gateway from whatever
    /// else listens on the port.
    public static let serverPrefix = "batchctl/"
    /// On `/verifyApiKey`: the data dir the gateway serves (`--local` says so when it is not the user's).
    public static let dataDir = "X-Batchctl-Data-Dir"
    /// On `getDownloadEndpoint?downloadLineage=true`: the links of the continuation chain the gateway could
    /// not follow, `" | "`-separated; absent when the chain is whole.
    public static let lineageWarning = "X-Batchctl-Lineage-Warning"
}
