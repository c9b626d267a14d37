// swift-tools-version:6.0
// batchctl: a firectl-style CLI and a local Fireworks-compatible batch gateway. No package dependencies.
import PackageDescription

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
        .executableTarget(name: "batchctl", dependencies: ["BatchCLI"], path: "Sources/batchctl"),
        .executableTarget(name: "batchctl-bench", dependencies: ["BatchCLI", "BatchHTTP", "BatchJSONL", "BatchAPI", "BatchEngine", "BatchServer"],
                         path: "Sources/batchctl-bench", exclude: ["reference"]),
        .testTarget(name: "HTTPTests", dependencies: ["BatchHTTP"]),
        .testTarget(name: "JSONLTests", dependencies: ["BatchJSONL"]),
        .testTarget(name: "APITests", dependencies: ["BatchAPI"]),
        .testTarget(name: "ClientTests", dependencies: ["BatchClient", "BatchAPI"]),
        .testTarget(name: "EngineTests", dependencies: ["BatchEngine", "BatchAPI", "BatchHTTP"]),
        .testTarget(name: "ServerTests", dependencies: ["BatchServer", "BatchHTTP", "BatchAPI", "BatchJSONL"]),
        .testTarget(name: "CLITests", dependencies: ["BatchCLI", "BatchAPI", "BatchServer"]),
        .testTarget(name: "EndToEndTests", dependencies: ["BatchHTTP", "BatchAPI", "BatchJSONL", "BatchClient", "batchctl"]),
    ],
    swiftLanguageModes: [.v6]
)
