import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// When apply must not go ahead: every problem named on its own line, exit 1, nothing touched.
@Suite("apply refuses clearly", .serialized, .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct ApplyRefusalTests {
    @Test func preflightNamesEveryProblemAndTouchesNothing() throws {
        try Lab.with { lab in
            try must(["ip", "-n", lab.host, "link", "set", "up3", "down"])
            try must(["ip", "-n", lab.host, "rule", "add", "fwmark", "0x7", "lookup", "110", "priority", "500"])
            try must(["ip", "-n", lab.host, "rule", "add", "fwmark", "0x200/0xff00", "lookup", "300", "priority", "600"]
            )
            let before = try KernelSnapshot(lab.host)
            let yaml = """
                uplinks:
                  - {name: one, interface: up1, gateway: 198.18.9.1}
                  - {name: two, interface: up2, gateway: 198.18.2.1}
                  - {name: three, interface: up3, gateway: 198.18.3.1}
                """
            try UplinkctlCLI.withConfig(yaml) { config in
                let result = try UplinkctlCLI.run(["apply", "--netns", lab.host, config])
                #expect(result.status == 1)
                let lines = result.stderr.split(separator: "\n").map(String.init)
                #expect(
                    lines == [
                        "uplinkctl: uplink one: gateway 198.18.9.1 is not on a network of up1 (it has 198.18.1.0/24)",
                        "uplinkctl: uplink one: table 110 is already used by a rule that is not ours (ip "
                            + "rule 500: from all fwmark 0x7 lookup 110); choose another with `table:`",
                        "uplinkctl: uplink two: mark 0x200/0xff00 is already used by a rule that is not ours (ip "
                            + "rule 600: from all fwmark 0x200/0xff00 lookup 300); choose another mark-mask or mark",
                        "uplinkctl: uplink three: interface up3 is down (ip link set up3 up)",
                        "uplinkctl: nothing was changed"
                    ], "\(result.stderr)")
            }
            #expect(try KernelSnapshot(lab.host) == before)
        }
    }

    @Test func withoutCapNetAdminItStopsBeforeAnyChange() throws {
        try Lab.with { lab in
            let before = try KernelSnapshot(lab.host)
            let result = try UplinkctlCLI.withConfig(try Paths.read(Paths.examples.appendingPathComponent("lab.yaml")))
            { config in
                try run([
                    "capsh", "--drop=cap_net_admin", "--", "-c",
                    "exec \(shellQuoted(Paths.uplinkctl.path)) apply --netns \(lab.host) \(shellQuoted(config))"
                ])
            }
            #expect(result.status == 1)
            // nf_tables answers even a listing only to CAP_NET_ADMIN.
            #expect(
                result.stderr == "uplinkctl: nft list table inet uplinkctl: Operation not permitted; "
                    + "uplinkctl needs CAP_NET_ADMIN (run it as root, or give it the capability); "
                    + "nothing was changed\n",
                "\(result.stderr)")
            #expect(try KernelSnapshot(lab.host) == before)
        }
    }

    @Test func aMissingNamespaceIsOneLineAndDiffExitsTwo() throws {
        let yaml = try Paths.read(Paths.examples.appendingPathComponent("lab.yaml"))
        try UplinkctlCLI.withConfig(yaml) { config in
            let apply = try UplinkctlCLI.run(["apply", "--netns", "ulk-no-such-namespace", config])
            #expect(apply.status == 1)
            #expect(
                apply.stderr.hasPrefix("uplinkctl: network namespace ulk-no-such-namespace: No such file or directory"),
                "\(apply.stderr)")
            #expect(apply.stderr.split(separator: "\n").count == 1)
            #expect(try UplinkctlCLI.run(["diff", "--netns", "ulk-no-such-namespace", config]).status == 2)
        }
    }

    /// A second apply waits for the first to let go of the namespace's lock.
    @Test func twoAppliesDoNotInterleave() throws {
        try Lab.with { lab in
            // The namespace's cookie (SO_NETNS_COOKIE), by which uplinkctl names its lock.
            let cookie = try must([
                "ip", "netns", "exec", lab.host, Lab.python, "-c",
                "import socket, struct; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
                    + "print(struct.unpack('Q', s.getsockopt(socket.SOL_SOCKET, 71, 8))[0])"
            ])
            .trimmingCharacters(in: .whitespacesAndNewlines)
            try FileManager.default.createDirectory(atPath: "/run/uplinkctl", withIntermediateDirectories: true)
            let lockFile = "/run/uplinkctl/netns-cookie-\(cookie).lock"
            // Another holder of the lock, for a bounded moment.
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            holder.arguments = ["flock", lockFile, "sh", "-c", "echo held; sleep 1"]
            let output = Pipe()
            holder.standardOutput = output
            try holder.run()
            _ = output.fileHandleForReading.readData(ofLength: 5)
            try UplinkctlCLI.withConfig(try Paths.read(Paths.examples.appendingPathComponent("lab.yaml"))) { config in
                let apply = try UplinkctlCLI.run(["apply", "--netns", lab.host, config])
                holder.waitUntilExit()
                #expect(
                    apply.stderr.contains("waiting for another uplinkctl working on this namespace"), "\(apply.stderr)")
                #expect(apply.status == 0)
                #expect(try UplinkctlCLI.run(["diff", "--netns", lab.host, config]).status == 0)
            }
        }
    }
}
