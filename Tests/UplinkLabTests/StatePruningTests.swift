import Foundation
import TestSupport
import Testing
import UplinkKernel

/// uplinkctl's files under /run/uplinkctl of a namespace that is gone are removed by the next
/// command; a live namespace's stay.
@Suite("records of gone namespaces", .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct StatePruningTests {
    /// The namespace's cookie (SO_NETNS_COOKIE), by which uplinkctl names its files.
    static func cookie(_ namespace: String) throws -> String {
        try must([
            "ip", "netns", "exec", namespace, Lab.python, "-c",
            "import socket, struct; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
                + "print(struct.unpack('Q', s.getsockopt(socket.SOL_SOCKET, 71, 8))[0])"
        ])
        .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The files uplinkctl keeps for the namespace of this cookie.
    static func files(_ cookie: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: StateStore.directory)
            .filter { $0.hasPrefix("netns-cookie-\(cookie).") }.sorted()
    }

    @Test func aGoneNamespacesFilesGoAndALiveOnesStay() throws {
        let yaml = "uplinks:\n  - {name: a, interface: up1, gateway: 198.18.1.1}\n"
        try Namespaces.with(["gone", "kept"]) { names in
            for name in names {
                // A veth pair inside the namespace: this kernel has no dummy interfaces.
                try must(["ip", "-n", name, "link", "add", "up1", "type", "veth", "peer", "name", "up1-peer"])
                try must(["ip", "-n", name, "link", "set", "up1-peer", "up"])
                try must(["ip", "-n", name, "address", "add", "198.18.1.2/24", "dev", "up1"])
                try must(["ip", "-n", name, "link", "set", "up1", "up"])
            }
            let (gone, kept) = (try Self.cookie(names[0]), try Self.cookie(names[1]))
            try UplinkctlCLI.withConfig(yaml) { config in
                for name in names { try must([Paths.uplinkctl.path, "apply", "--netns", name, config]) }
                let keptFiles = try Self.files(kept)
                #expect(try Self.files(gone).contains("netns-cookie-\(gone).applied.json"))
                #expect(keptFiles.contains("netns-cookie-\(kept).applied.json"))
                #expect(keptFiles.contains("netns-cookie-\(kept).lock"))
                try must(["ip", "netns", "del", names[0]])
                #expect(try UplinkctlCLI.run(["diff", "--netns", names[1], config]).status == 0)
                #expect(try Self.files(gone) == [])
                #expect(try Self.files(kept) == keptFiles)
            }
        }
    }
}
