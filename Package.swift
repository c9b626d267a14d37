// swift-tools-version:6.0
// batchctl: a firectl-style CLI and a local Fireworks-compatible batch gateway. No package dependencies.
import Foundation
import PackageDescription

/// What `make` knows about the build (git commit, date, exact Swift version), handed to the one small C target
/// that carries it, so only that file and main.swift recompile when it changes. A plain `swift build` sets none
/// of these and `batchctl version` says so. Only characters that cannot break the C string literal pass.
let buildStamp: [CSetting] = ["BATCHCTL_BUILD_COMMIT", "BATCHCTL_BUILD_DATE", "BATCHCTL_BUILD_SWIFT_VERSION"].compactMap { key in
    guard let value = ProcessInfo.processInfo.environment[key], !value.isEmpty,
          value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:+ ".contains($0)) }) else { return nil }
    return .define(key, to: "\"\(value)\"")
}

// One module per layer of design.md, all under Sources/BatchCore/<Layer>, so the compiler enforces the arrows:
// batchctl -> CLI -> Client/Server/Engine -> HTTP/JSONL/API. HTTP (sockets, the one client and server, the
// libcurl bridge, atomic files) is the bottom layer: nothing above it opens a socket or calls libcurl.
let package = Package(
    name: "batchctl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "batchctl", targets: ["batchctl"]),
        .executable(name: "batchctl-bench", targets: ["batchctl-bench"]),
        .library(name: "BatchCore", targets: ["BatchHTTP", "BatchJSONL", "BatchAPI", "BatchClient", "BatchEngine", "BatchServer", "BatchCLI"]),
    ],
    dependencies: [],
    targets: [
        .target(name: "BatchJSONL", path: "Sources/BatchCore/JSONL"),
        // HTTPS through libcurl loaded on first use (dlopen), so no TLS stack is linked into the binary.
        .target(name: "CCurl", path: "Sources/BatchCore/Curl", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "BatchHTTP", dependencies: ["CCurl"], path: "Sources/BatchCore/HTTP"),
        .target(name: "BatchAPI", dependencies: ["BatchJSONL"], path: "Sources/BatchCore/API"),
        .target(name: "BatchClient", dependencies: ["BatchHTTP", "BatchAPI", "BatchJSONL"], path: "Sources/BatchCore/Client"),
        .target(name: "BatchEngine", dependencies: ["BatchHTTP", "BatchAPI", "BatchJSONL"], path: "Sources/BatchCore/Engine"),
        .target(name: "BatchServer", dependencies: ["BatchHTTP", "BatchAPI", "BatchJSONL", "BatchEngine"], path: "Sources/BatchCore/Server"),
        .target(name: "BatchCLI", dependencies: ["BatchHTTP", "BatchAPI", "BatchJSONL", "BatchClient", "BatchServer", "BatchEngine"],
                path: "Sources/BatchCore/CLI"),
        .target(name: "CBuildStamp", path: "Sources/BuildStamp", cSettings: buildStamp),
        .executableTarget(name: "batchctl", dependencies: ["BatchCLI", "CBuildStamp"], path: "Sources/batchctl"),
        .executableTarget(name: "batchctl-bench", dependencies: ["BatchCLI", "BatchHTTP", "BatchJSONL", "BatchAPI", "BatchEngine", "BatchServer"],
                         path: "Sources/batchctl-bench", exclude: ["reference"]),
        .testTarget(name: "HTTPTests", dependencies: ["BatchHTTP"]),
        .testTarget(name: "JSONLTests", dependencies: ["BatchJSONL"]),
        .testTarget(name: "APITests", dependencies: ["BatchAPI"]),
        .testTarget(name: "ClientTests", dependencies: ["BatchClient", "BatchAPI"]),
        .testTarget(name: "EngineTests", dependencies: ["BatchEngine", "BatchAPI", "BatchHTTP"]),
        .testTarget(name: "ServerTests", dependencies: ["BatchServer", "BatchHTTP", "BatchAPI", "BatchJSONL"]),
        .testTarget(name: "CLITests", dependencies: ["BatchCLI", "BatchAPI"]),
        .testTarget(name: "EndToEndTests", dependencies: ["BatchHTTP", "BatchAPI", "BatchJSONL", "BatchClient", "batchctl"]),
    ],
    swiftLanguageModes: [.v6]
)

// Release builds on Linux carry the Swift standard library, Foundation (with its ICU data) and Dispatch inside
// the binary, so it runs on any glibc Linux without the toolchain; libcurl stays a dlopen at run time. What
// `swift build --static-swift-stdlib` does, but in the manifest, so that `make`, `swift build -c release` and
// `swift run -c release` build the same thing once: -static-stdlib when compiling (it picks the static
// Foundation modules, whose link entries name the static libraries) and when linking each executable, with
// every symbol bound at load time so the relocations can be read-only (full RELRO, as Debian hardens).
let staticStdlib = BuildSettingCondition.when(platforms: [.linux], configuration: .release)
for target in package.targets where target.type != .test && !["CCurl", "CBuildStamp"].contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-static-stdlib"], staticStdlib)]
    if target.type == .executable {
        target.linkerSettings = (target.linkerSettings ?? []) + [.unsafeFlags(["-static-stdlib", "-Xlinker", "-z", "-Xlinker", "now"], staticStdlib)]
    }
}
