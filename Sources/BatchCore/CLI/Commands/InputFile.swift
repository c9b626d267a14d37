// `bij create --input-file`: the job's input dataset made from a file, or an existing one of the same content
// reused, so the command can be run again after any failure.
import BatchAPI
import BatchClient
import BatchJSONL
import BatchServer
import Foundation

enum InputFileDataset {
    /// The input dataset for `file`: `<job-id>-input`, or `input-<digest>` for a job without an id (the same
    /// file then always lands on the same dataset). Size and SHA-256 are kept in the display name, the one
    /// free-text field a dataset has on Fireworks too, so a rerun can tell the same content from other content.
    static func prepare(_ c: Context, file: String, jobID: String?) throws -> ResourceName {
        let staged = try DatasetCommands.stage(c, file: file, validate: true, format: nil)
        let digest = try sha256(path: staged.path)
        let fingerprint = "\(staged.size) bytes, sha256 \(digest)"
        let id = jobID.map(datasetID(jobID:)) ?? "input-" + digest.prefix(12)
        let name = ResourceName(account: try c.account(), kind: .dataset, id: id)
        let shortFile = String(staged.fileName.prefix(60))
        if !c.dryRun, let existing = try existingDataset(c, name) {
            let same = existing.displayName.hasSuffix(fingerprint) && existing.exampleCount == Int64(staged.rows)
            if same, existing.state == DatasetState.ready {
                c.streams.note("reusing input dataset \(name.id): same size and SHA-256 as \(file)")
                return name
            }
            if same {
                // An earlier run stopped during the upload: finish it.
                c.streams.note("resuming the upload into input dataset \(name.id) (state \(existing.state.rawValue))")
                try DatasetCommands.upload(c, name: name, staged: staged)
                return name
            }
            let how = jobID == nil ? "" : ", or choose another --job-id"
            throw CLIError.conflict("""
                dataset \(name.id) already exists and does not hold \(file) (size or content differ); nothing was created.
                To run the job on \(name.id) as it is, use -d \(name.id) instead of --input-file; to run it on \(file), delete \(name.id) first (batchctl dataset delete \(name.id))\(how)
                """)
        }
        _ = try DatasetCommands.createDataset(c, id: id, staged: staged, displayName: "\(shortFile), \(fingerprint)",
                                              format: nil, render: false)
        // Under --dry-run nothing was created: say nothing of it.
        if !c.dryRun { c.streams.note("created input dataset \(name)") }
        return name
    }

    /// `<job-id>-input`, within the 63 characters of an id.
    static func datasetID(jobID: String) -> String {
        let base = String(jobID.prefix(57))
        return base.hasSuffix("-") ? base + "input" : base + "-input"
    }

    static func existingDataset(_ c: Context, _ name: ResourceName) throws -> Dataset? {
        do {
            guard let raw = try c.client().send(Endpoints.getDataset(name)) else { return nil }
            return try Dataset(json: raw)
        } catch let e as GatewayError where ExitStatus.status(of: e) == ExitStatus.notFound {
            return nil
        }
    }

    /// The file's SHA-256 in hex, read in 1 MiB pieces.
    static func sha256(path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError.failure(FileSystem.message("read", path, errno: errno)) }
        defer { close(fd) }
        var stream = SHA256Stream()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CLIError.failure(FileSystem.message("read", path, errno: errno))
            }
            if n == 0 { break }
            buffer.withUnsafeBytes { stream.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return stream.finishHex()
    }
}
