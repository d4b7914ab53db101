import Foundation
import Glibc
import TestSupport

@testable import UplinkCore
@testable import UplinkKernel

/// The lab of the root tests, as a fake kernel: the host's interfaces up1, up2 and up3
/// (198.18.N.2/24, as Tests/UplinkLabTests/Support/Lab.swift makes them) and its sysctls at a
/// new namespace's values, with a Reconciler whose lock and records live in a directory of
/// their own, removed afterwards.
struct FakeLab {
    let kernel: FakeKernel
    let reconciler: Reconciler
    let store: StateStore

    static let links = [
        FakeRouting.Link(name: "lo", index: 1, addresses: ["127.0.0.1/8"]),
        FakeRouting.Link(name: "up1", index: 2, addresses: ["198.18.1.2/24"]),
        FakeRouting.Link(name: "up2", index: 3, addresses: ["198.18.2.2/24"]),
        FakeRouting.Link(name: "up3", index: 4, addresses: ["198.18.3.2/24"])
    ]

    static var sysctls: [String: String] {
        var values = ["net/ipv4/ip_forward": "0"]
        for interface in ["all", "default", "lo", "up1", "up2", "up3"] {
            values["net/ipv4/conf/\(interface)/rp_filter"] = "0"
        }
        return values
    }

    /// A config of examples/.
    static func example(_ name: String) throws -> Config {
        let path = Paths.examples.appendingPathComponent("\(name).yaml").path
        return try ConfigParser.parse(try String(contentsOfFile: path, encoding: .utf8), file: path).get()
    }

    /// nft's own batch for the lab's table, message by message, as Transcript.nftLine writes them
    /// (Tests/UplinkCoreTests/Fixtures/nft-debug/lab.messages.txt).
    static func nftBatch() throws -> [String] {
        let fixture = Paths.fixtures.appendingPathComponent("nft-debug/lab.messages.txt")
        return try String(contentsOf: fixture, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// Runs `body` with a fresh fake lab. `handle`: what Kernel reaches the fake kernel through
    /// (the lab tests' fault injection around it, for instance).
    static func with(
        _ body: (FakeLab) throws -> Void,
        handle: (FakeKernel) throws -> KernelHandle = { $0.handle }
    ) throws {
        var template = Array((NSTemporaryDirectory() + "uplinkctl-fake-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EACCES) }
        let directory = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let kernel = FakeKernel(links: links, sysctls: sysctls)
        let store = StateStore(base: directory + "/netns")
        let reconciler = Reconciler(kernel: try Kernel(try handle(kernel)), store: store)
        try body(FakeLab(kernel: kernel, reconciler: reconciler, store: store))
    }

    func apply(_ config: Config) -> Reconciler.Outcome {
        reconciler.apply(config, from: "lab.yaml", waiting: nil).outcome
    }
}
