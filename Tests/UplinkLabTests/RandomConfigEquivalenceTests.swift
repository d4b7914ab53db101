import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// Differential equivalence over random configs (Tests/TestSupport/RandomConfig.swift): each config is
/// installed three ways, each in a fresh namespace with the interfaces, addresses and routes
/// it needs: `uplinkctl apply`, the nft dry-run script and the iptables dry-run script (both
/// printed by the binary for that namespace, run there with `sh`). apply and the nft script
/// must leave the same `ip rule`, `ip -6 rule`, `ip route`/`ip -6 route show table all`,
/// `nft list ruleset`, sysctls and MPTCP endpoints; the iptables script must run without a
/// complaint and leave the same rules, routes, sysctls and endpoints (its ruleset is iptables').
/// Configs shaped to the lab also carry real connections under all three (LabConnectionSample).
///
/// UPLINKCTL_PROVE_CONFIGS configs from seed UPLINKCTL_PROVE_SEED, plus the regression seeds;
/// with UPLINKCTL_PROVE_REPORT_DIR, the figures go to equivalence.json there.
@Suite(
    "Random configs: apply and both dry-runs build the same state", .serialized,
    .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct RandomConfigEquivalenceTests {
    /// Seeds that found a mismatch, each fixed since: run every time. (A change to the generator
    /// changes what a seed makes: check that each still makes a config of its kind.)
    /// - 1: an interface named `qM=pWQg2J`: sysctl(8) read the '=' as the start of the value, and
    ///   the dry-run script stopped at its rp_filter.
    /// - 35: an interface named `z.B..Ah`: sysctl(8) complained of repeated separators.
    /// - 156, 180 (a lab config): a service's `interfaces` name one that does not exist; apply
    ///   sets its route_localnet when it appears, the dry-run planned without knowing and its
    ///   script stopped at the sysctl.
    /// - 292: an interface named `g7*`: the nft script's `"g7*"` is a wildcard to nft, and the
    ///   sets of interface names were refused.
    static let regressionSeeds: [UInt64] = [1, 35, 156, 180, 292]

    @Test("apply, the nft script and the iptables script agree on every random config")
    func randomConfigsAgree() throws {
        let settings = ProveSettings.fromEnvironment()
        let seeds = Self.regressionSeeds + (0..<UInt64(max(settings.configs, 0))).map { settings.firstSeed + $0 }
        var report = EquivalenceReport(firstSeed: settings.firstSeed, regressionSeeds: Self.regressionSeeds)
        let start = Date()
        // apply's lock and records in a directory of the test's own, removed afterwards.
        let runtime = FileManager.default.temporaryDirectory.appendingPathComponent("uplinkctl-prove-\(getpid())")
        defer { try? FileManager.default.removeItem(at: runtime) }
        let environment = ["RUNTIME_DIRECTORY": runtime.appendingPathComponent("uplinkctl").path]
        for seed in seeds {
            let random = RandomConfig.make(seed: seed)
            report.configs += 1
            for feature in random.features { report.perFeature[feature, default: 0] += 1 }
            if random.lab != nil { report.trafficSampled += 1 }
            let findings: [String]
            do {
                findings = try Self.findings(random, environment: environment)
            } catch {
                findings = ["the test could not run it: \(error)"]
            }
            guard !findings.isEmpty else { continue }
            report.mismatches += 1
            report.mismatchedSeeds.append(seed)
            Issue.record(
                """
                seed \(seed): \(findings.joined(separator: "\n"))
                --- the config (UPLINKCTL_PROVE_SEED=\(seed) UPLINKCTL_PROVE_CONFIGS=1 runs it again):
                \(random.yaml)
                """)
        }
        report.seconds = (Date().timeIntervalSince(start) * 10).rounded() / 10
        if let directory = settings.reportDirectory { try report.write(to: directory) }
        #expect(report.configs == seeds.count)
    }

    /// Everything that differs, or failed, for one config; empty when the three agree.
    static func findings(_ random: RandomConfig, environment: [String: String]) throws -> [String] {
        let parsed = ConfigParser.parse(random.yaml, file: "seed-\(random.seed).yaml")
        guard let config = parsed.config, parsed.errors.isEmpty else {
            let errors = parsed.errors.map(\.description).joined(separator: "\n")
            return ["the generator made a config the parser refuses:\n" + errors]
        }
        return try UplinkctlCLI.withConfig(random.yaml) { path in
            if let lab = random.lab {
                return try Self.inLab(config, path: path, ipv6: lab.ipv6, environment: environment)
            }
            return try Self.inNamespaces(config, random.wiring, path: path, environment: environment)
        }
    }

    /// Three hosts wired alike, their uplinks' peers in a fourth namespace.
    static func inNamespaces(
        _ config: Config, _ wiring: HostWiring, path: String,
        environment: [String: String]
    ) throws -> [String] {
        try Namespaces.with(["apply", "nft", "ipt", "peers"]) { names in
            var findings: [String] = []
            var snapshots: [Installation: KernelSnapshot] = [:]
            let keys = sysctlKeys(config, existing: Set(wiring.names))
            for (way, (host, tag)) in zip(Installation.allCases, zip(names, ["a", "b", "c"])) {
                try wiring.build(in: host, peers: names[3], tag: tag)
                do {
                    let complaints = try way.installThroughCLI(path, in: host, environment: environment)
                    if !complaints.isEmpty { findings.append("\(way.testDescription) complained:\n\(complaints)") }
                    snapshots[way] = try KernelSnapshot(host, interfaces: [], sysctls: keys)
                } catch {
                    findings.append("\(way.testDescription) failed: \(error)")
                }
            }
            return findings + differences(snapshots)
        }
    }

    /// One lab per installation: the kernel's state, then the same connections through each.
    static func inLab(_ config: Config, path: String, ipv6: Bool, environment: [String: String]) throws -> [String] {
        var findings: [String] = []
        var snapshots: [Installation: KernelSnapshot] = [:]
        var seen: [Installation: [String: [String]]] = [:]
        let sample = LabConnectionSample(config: config, ipv6: ipv6)
        let keys = sysctlKeys(config, existing: Set((1...LabUplinks.count).map { "up\($0)" } + ["lan0"]))
        for way in Installation.allCases {
            do {
                try Lab.with(ipv6: ipv6) { lab in
                    let complaints = try way.installThroughCLI(path, in: lab.host, environment: environment)
                    if !complaints.isEmpty { findings.append("\(way.testDescription) complained:\n\(complaints)") }
                    snapshots[way] = try KernelSnapshot(lab.host, interfaces: [], sysctls: keys)
                    seen[way] = try sample.send(lab)
                }
            } catch {
                findings.append("\(way.testDescription) failed: \(error)")
            }
        }
        findings += differences(snapshots)
        if seen.count == Installation.allCases.count { findings += sample.problems(seen) }
        return findings
    }

    /// apply against each script, part by part (the iptables script's ruleset is iptables' own).
    static func differences(_ snapshots: [Installation: KernelSnapshot]) -> [String] {
        guard let apply = snapshots[.apply] else { return [] }
        var findings: [String] = []
        for way in [Installation.nftScript, .iptablesScript] {
            guard let other = snapshots[way] else { continue }
            let parts = zip(apply.parts, other.parts).filter { way == .nftScript || $0.0.name != "nft list ruleset" }
            for (ours, theirs) in parts {
                let (a, b) = (withoutLinkLocal(ours.text), withoutLinkLocal(theirs.text))
                guard a != b else { continue }
                findings.append(
                    "\(ours.name) differs between apply (-) and the \(way.testDescription) (+):\n"
                        + LineDiff.lines(a, b).joined(separator: "\n"))
            }
        }
        return findings
    }

    /// The kernel makes each interface's IPv6 link-local address from its MAC address, which the
    /// lab's veths draw at random: the local routes of those addresses (the kernel's, in an order
    /// that follows the addresses) are left out of the comparison.
    static func withoutLinkLocal(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("local fe80:") }
            .joined(separator: "\n")
    }

    /// Every setting the plan could name, and those it could leave alone, on interfaces that exist.
    static func sysctlKeys(_ config: Config, existing: Set<String>) -> [String] {
        var settings = Planner.plan(config).sysctls
        settings += [.ipv6Forwarding(), .multipathLayer4Hash(.ipv4), .multipathLayer4Hash(.ipv6)]
        if FileManager.default.fileExists(atPath: "/proc/sys/net/mptcp/enabled") { settings.append(.mptcpEnabled()) }
        settings += config.uplinks.map { Sysctl.looseReversePath($0.interface) }
        settings += config.services.flatMap(\.interfaces).map(Sysctl.routeLocalnet)
        let present = settings.filter { setting in
            let path = setting.path
            guard path.count == 5, path[2] == "conf", !["all", "default"].contains(path[3]) else { return true }
            return existing.contains(setting.path[3])
        }
        // KernelSnapshot reads ip_forward itself.
        return present.map(\.key).filter { $0 != "net.ipv4.ip_forward" }.uniqued()
    }
}
