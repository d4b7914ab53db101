// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "uplinkctl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "uplinkctl", targets: ["uplinkctl"]),
        .library(name: "UplinkCore", targets: ["UplinkCore"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1")
    ],
    targets: [
        // The pure core: config, desired-state model, planning, rendering, diff.
        .target(
            name: "UplinkCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log")
            ]
        ),
        // libmnl and libnftnl headers, and wrappers for the macros Swift cannot import.
        .systemLibrary(name: "CNetlink", providers: [.apt(["libmnl-dev", "libnftnl-dev"])]),
        // The kernel edge: netlink sockets, reading the live state back into the model, applying changes.
        .target(
            name: "UplinkKernel",
            dependencies: [
                "UplinkCore", "CNetlink", .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus")
            ]
        ),
        // The command line: thin, parses arguments and calls the core.
        .executableTarget(
            name: "uplinkctl",
            dependencies: [
                "UplinkCore",
                "UplinkKernel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log")
            ],
            plugins: ["BuildInfo"]
        ),
        // `uplinkctl --version`: the git commit of the build, written before each build.
        .plugin(name: "BuildInfo", capability: .buildTool()),
        // What several test targets share: repository paths, the seeded random configs, the bad
        // config corpus, tables the encoding tests plan. A test target (it has no tests) so that
        // it may import UplinkCore @testable and only test builds compile it.
        .testTarget(name: "TestSupport", dependencies: ["UplinkCore"], path: "Tests/TestSupport"),
        // The pure core: config, planning, rendering, diff. No root, no namespace, no kernel.
        // Fixtures/ holds what the tests of every target read (Paths.fixtures).
        .testTarget(
            name: "UplinkCoreTests",
            dependencies: ["UplinkCore", "TestSupport"],
            exclude: ["Fixtures"]
        ),
        // The kernel edge without root: netlink encodings against nft's own bytes, and the
        // reconciler against a recording fake kernel. No namespace, no socket.
        .testTarget(
            name: "UplinkKernelTests",
            dependencies: ["UplinkCore", "UplinkKernel", "CNetlink", "TestSupport"],
            exclude: ["Fixtures"]
        ),
        // The lab: root, network namespaces, the real kernel and the built binary (uplinkctl
        // check, make install and make deb too).
        .testTarget(
            name: "UplinkLabTests",
            dependencies: ["UplinkCore", "UplinkKernel", "CNetlink", "TestSupport"]
        )
    ]
)

// `make fuzz`: a libFuzzer target for the config reader and checker, declared only when the
// fuzz build asks for it (UPLINKCTL_FUZZ=1), so the normal build neither compiles nor links it.
// libFuzzer supplies main: the target is a library to the compiler (-parse-as-library).
if Context.environment["UPLINKCTL_FUZZ"] == "1" {
    package.targets.append(
        .executableTarget(
            name: "UplinkFuzz",
            dependencies: ["UplinkCore"],
            swiftSettings: [.unsafeFlags(["-parse-as-library", "-enable-experimental-feature", "Extern"])]
        ))
}
