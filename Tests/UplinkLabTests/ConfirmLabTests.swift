import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// `apply --confirm`: a change that is not confirmed goes back exactly; a confirmed one stays;
/// one whose uplinkctl was killed is put back by the next command.
@Suite("apply --confirm", .serialized, .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct ConfirmLabTests {
    /// Before: examples/lab.yaml. The change touches every kind of object: other weights and
    /// balancing, a policy, and a service with route_localnet on lan0.
    static let change = """
        balance: hash
        traffic: [local, forwarded]
        uplinks:
          - {name: up1, interface: up1, gateway: 198.18.1.1, weight: 3}
          - {name: up2, interface: up2, gateway: 198.18.2.1}
        policies:
          - {protocol: udp, destination-port: 53, uplink: up2}
        services:
          - name: replicas
            port: 8081
            interfaces: [lan0]
            backends: [127.0.0.1:8081, 127.0.0.1:8082]
        """
    static let watched = ["net.ipv4.conf.lan0.route_localnet", "net.ipv4.conf.lan0.rp_filter"]

    static func snapshot(_ lab: Lab) throws -> KernelSnapshot { try KernelSnapshot(lab.host, sysctls: watched) }

    /// Applies the lab's example, runs `body` with it and the change in files.
    static func withInstalledLab(_ body: (Lab, String, String) throws -> Void) throws {
        try Lab.with { lab in
            try UplinkctlCLI.withConfig(try Paths.read(Paths.examples.appendingPathComponent("lab.yaml"))) { before in
                try UplinkctlCLI.withConfig(change) { after in
                    try must([Paths.uplinkctl.path, "apply", "--netns", lab.host, before])
                    try body(lab, before, after)
                }
            }
        }
    }

    @Test func anUnconfirmedApplyPutsBackExactlyWhatWasThere() throws {
        try Self.withInstalledLab { lab, _, change in
            let before = try Self.snapshot(lab)
            let started = Date()
            let result = try UplinkctlCLI.run(["apply", "--netns", lab.host, "--confirm", "2", change])
            let took = Date().timeIntervalSince(started)
            #expect(result.status == 1)
            #expect(
                result.stderr.contains(
                    "was not confirmed (no confirmation within 2 s); "
                        + "what was installed before is back"),
                "\(result.stderr)")
            #expect(took >= 2 && took < 4, "took \(took) s")
            let after = try Self.snapshot(lab)
            #expect(after == before, "before:\n\(before)\nafter:\n\(after)")
            // The record of replaced sysctls is the old one too: flush still restores the originals.
            try must([Paths.uplinkctl.path, "flush", "--netns", lab.host])
            #expect(try must(["ip", "netns", "exec", lab.host, "sysctl", "-n", "net.ipv4.ip_forward"]) == "0\n")
        }
    }

    @Test func fromNothingInstalledItGoesBackToNothing() throws {
        try Lab.with { lab in
            let pristine = try Self.snapshot(lab)
            try UplinkctlCLI.withConfig(Self.change) { change in
                let result = try UplinkctlCLI.run(["apply", "--netns", lab.host, "--confirm", "1", change])
                #expect(result.status == 1, "\(result.stderr)")
            }
            #expect(try Self.snapshot(lab) == pristine)
        }
    }

    @Test func aConfirmedApplyStays() throws {
        try Self.withInstalledLab { lab, _, change in
            let before = try Self.snapshot(lab)
            let apply = try RunningUplinkctl(["apply", "--netns", lab.host, "--confirm", "30", change])
            defer { apply.stop() }
            try apply.waitFor("waiting 30 s for `uplinkctl confirm`")
            // Another apply meanwhile is refused, and changes nothing.
            let other = try UplinkctlCLI.run(["apply", "--netns", lab.host, change])
            #expect(other.status == 1)
            #expect(other.stderr.contains("awaits confirmation"), "\(other.stderr)")
            // A lost terminal (SIGHUP) does not end the wait.
            apply.signal(SIGHUP)
            let confirm = try UplinkctlCLI.run(["confirm", "--netns", lab.host])
            #expect(confirm.status == 0, "\(confirm.stderr)")
            #expect(confirm.stdout.contains("uplinkctl: confirmed the apply of \(change)"), "\(confirm.stdout)")
            #expect(apply.exitStatus(within: 2) == 0, "\(apply.text)")
            try apply.waitFor("confirmed by `uplinkctl confirm`; it stays")
            #expect(try Self.snapshot(lab) != before)
            #expect(try UplinkctlCLI.run(["diff", "--netns", lab.host, change]).status == 0)
            #expect(try UplinkctlCLI.run(["confirm", "--netns", lab.host]).status == 1)
        }
    }

    @Test func aKilledApplyIsPutBackByTheNextCommand() throws {
        try Self.withInstalledLab { lab, _, change in
            let before = try Self.snapshot(lab)
            let apply = try RunningUplinkctl(["apply", "--netns", lab.host, "--confirm", "60", change])
            try apply.waitFor("waiting 60 s")
            apply.signal(SIGKILL)
            #expect(apply.exitStatus(within: 2) != nil)
            #expect(try Self.snapshot(lab) != before)
            let status = try UplinkctlCLI.run(["status", "--netns", lab.host, change])
            #expect(
                status.stderr.contains(
                    "was not confirmed (its uplinkctl ended before); "
                        + "what was installed before is back"),
                "\(status.stderr)")
            #expect(try Self.snapshot(lab) == before)
        }
    }

    @Test func ctrlCPutsBackAtOnce() throws {
        try Self.withInstalledLab { lab, _, change in
            let before = try Self.snapshot(lab)
            let apply = try RunningUplinkctl(["apply", "--netns", lab.host, "--confirm", "60", change])
            defer { apply.stop() }
            try apply.waitFor("waiting 60 s")
            apply.signal(SIGINT)
            #expect(apply.exitStatus(within: 1) == 1, "\(apply.text)")
            try apply.waitFor("was not confirmed (Ctrl-C)")
            #expect(try Self.snapshot(lab) == before)
        }
    }

    /// On a terminal: the countdown, and Enter confirms.
    @Test func onATerminalItCountsDownAndEnterConfirms() throws {
        try Self.withInstalledLab { lab, _, change in
            let result = try run([
                Lab.python, Lab.script("on-terminal.py"), "20", "s to keep this",
                Paths.uplinkctl.path, "apply", "--netns", lab.host, "--confirm", "30", change
            ])
            #expect(result.status == 0, "\(result.stdout)")
            #expect(
                result.stdout.contains(
                    "uplinkctl: 30 s to keep this: Enter here or `uplinkctl confirm`; "
                        + "Ctrl-C puts back what was there"),
                "\(result.stdout)")
            #expect(result.stdout.contains("confirmed the apply of \(change)"), "\(result.stdout)")
            #expect(try UplinkctlCLI.run(["diff", "--netns", lab.host, change]).status == 0)
        }
    }

    /// A state uplinkctl could not write back exactly is not gambled with.
    @Test func aForeignRuleInOurTableRefusesConfirm() throws {
        try Self.withInstalledLab { lab, _, change in
            try must([
                "ip", "netns", "exec", lab.host, "nft", "add", "rule", "inet", "uplinkctl", "postrouting",
                "meta", "nftrace", "set", "1"
            ])
            let before = try Self.snapshot(lab)
            let result = try UplinkctlCLI.run(["apply", "--netns", lab.host, "--confirm", "5", change])
            #expect(result.status == 1)
            #expect(
                result.stderr.contains(
                    "what is installed now could not be put back exactly "
                        + "(1 nft rules uplinkctl does not write)"),
                "\(result.stderr)")
            #expect(try Self.snapshot(lab) == before)
        }
    }
}
