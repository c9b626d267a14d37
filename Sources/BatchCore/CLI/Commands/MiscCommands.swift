// version, help, completion, man and the hidden id lister behind live completion.
import BatchAPI
import BatchClient
import BatchHTTP

enum MiscCommands {
    /// The version line; `-o json` (and `jsonl`, on one line) the build's facts as one object.
    static func version(_ c: Context) throws {
        c.output(BuildInfo.json(c.stamp, https: HTTPClient.httpsAvailability), text: BuildInfo.line(c.stamp))
    }

    static func help(_ c: Context) throws {
        c.streams.print(Help.text(for: c.invocation.helpTopic ?? .top), terminator: "")
    }

    static func completion(_ c: Context) throws {
        guard let shell = c.invocation.positional(0).flatMap(Shell.init(rawValue:)) else {
            throw CLIError.usage("unknown shell '\(c.invocation.positional(0) ?? "")': expected bash, zsh or fish", command: "completion")
        }
        c.streams.print(Completion.script(for: shell), terminator: "")
    }

    static func man(_ c: Context) throws {
        c.streams.print(ManPage.roff(), terminator: "")
    }

    /// `__complete datasets|jobs`: the ids on the gateway, one a line, for the completion scripts. A shell
    /// waits on it while the user waits on TAB, so it asks once with a short timeout, and on any failure
    /// prints nothing (the scripts discard stderr too) and exits non-zero.
    static func complete(_ c: Context) throws {
        let kinds: [String: (request: (String, [(String, String)]) -> GatewayRequest, items: String)] = [
            "datasets": (Endpoints.listDatasets, "datasets"),
            "jobs": (Endpoints.listJobs, "batchInferenceJobs"),
        ]
        guard let kind = c.invocation.positional(0).flatMap({ kinds[$0] }) else { throw CLIError.silent(ExitStatus.usage) }
        do {
            let settings = try c.settings()
            // Our own client rather than c.client(): --local must not start a server on TAB, and the
            // usual retries would keep the shell waiting.
            let client = GatewayClient(options: ClientOptions(baseURL: settings.baseURL, apiKey: settings.apiKey,
                                                              timeout: 2, maxAttempts: 1))
            let account = try settings.accountID ?? client.discoverAccount()
            guard let answer = try client.send(kind.request(account, [("pageSize", "200")])) else { return }
            let page = try ListPage(json: answer, itemsKey: kind.items)
            let ids = page.items.compactMap { $0["name"]?.stringValue?.split(separator: "/").last.map(String.init) }
            if !ids.isEmpty { c.streams.print(ids.joined(separator: "\n")) }
        } catch {
            throw CLIError.silent(ExitStatus.failure)
        }
    }
}
