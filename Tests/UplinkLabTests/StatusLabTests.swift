import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// `status` without the config, or with another one: it shows what the last apply installed,
/// as long as the kernel still holds exactly that, and says which config that was.
@Suite(
    "status shows what is installed", .serialized,
    .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct StatusLabTests {
    @Test func withoutTheConfigOrWithAnotherOne() throws {
        try ConfirmLabTests.withInstalledLab { lab, installed, other in
            let missing = try UplinkctlCLI.run(["status", "--netns", lab.host, "/nonexistent/uplinks.yaml"])
            #expect(missing.status == 0)
            #expect(
                missing.stderr == "uplinkctl: /nonexistent/uplinks.yaml: no such file; showing what is installed\n",
                "\(missing.stderr)")
            let head = "installed by the apply of \(installed) at "
            #expect(
                missing.stdout.hasPrefix(head) && missing.stdout.contains(", in sync with it; balance: nth\n"),
                "\(missing.stdout)")
            #expect(missing.stdout.contains("up3  "), "the installed uplinks are listed:\n\(missing.stdout)")

            let different = try UplinkctlCLI.run(["status", "--netns", lab.host, other])
            let changes = try UplinkctlCLI.run(["diff", "--netns", lab.host, other]).stdout.split(separator: "\n").count
            #expect(different.stdout.hasPrefix(head), "\(different.stdout)")
            #expect(
                different.stdout.contains(
                    "; \(other) would change \(changes) things "
                        + "(uplinkctl diff \(other) shows them)"),
                "\(different.stdout)")
            let json = try JSONDecoder().decode(
                StatusReport.Summary.self,
                from: Data(
                    try must([
                        Paths.uplinkctl.path, "status", "--json",
                        "--netns", lab.host, other
                    ]).utf8))
            #expect(
                json.source.describes == "last-apply" && json.source.config == installed
                    && json.source.givenDifferences == changes)
            #expect(json.uplinks.map(\.name) == ["up1", "up2", "up3"])

            let same = try UplinkctlCLI.run(["status", "--netns", lab.host, installed])
            #expect(same.stdout.hasPrefix("installed, in sync with the config; balance: nth\n"), "\(same.stdout)")

            // After an unconfirmed apply, the last apply is the one before again.
            #expect(try UplinkctlCLI.run(["apply", "--netns", lab.host, "--confirm", "1", other]).status == 1)
            #expect(
                try UplinkctlCLI.run(["status", "--netns", lab.host, "/nonexistent/uplinks.yaml"])
                    .stdout.hasPrefix(head))

            // Changed behind uplinkctl's back: no claim about which config it is.
            let rule = try #require(
                try must(["ip", "-n", lab.host, "rule", "show"]).split(separator: "\n")
                    .first { $0.hasSuffix("proto 117") })
            let priority = String(rule.prefix { $0 != ":" })
            try must(["ip", "-n", lab.host, "rule", "del", "priority", priority])
            let changed = try UplinkctlCLI.run(["status", "--netns", lab.host, "/nonexistent/uplinks.yaml"])
            #expect(
                changed.stdout.hasPrefix(
                    "installed, but not as the last apply left it, "
                        + "and no config to compare it with"),
                "\(changed.stdout)")

            try must([Paths.uplinkctl.path, "flush", "--netns", lab.host])
            let flushed = try UplinkctlCLI.run(["status", "--netns", lab.host, "/nonexistent/uplinks.yaml"])
            #expect(flushed.stdout.hasPrefix("not installed (uplinkctl apply installs it)\n"), "\(flushed.stdout)")
        }
    }

    /// A sysctl that already held the wanted value is in the plan but not in the record: the
    /// last apply is still recognised.
    @Test func aSysctlThatNeededNoChangeIsStillRecognised() throws {
        try Lab.with { lab in
            try must(["ip", "netns", "exec", lab.host, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
            try UplinkctlCLI.withConfig(try Paths.read(Paths.examples.appendingPathComponent("lab.yaml"))) { config in
                try must([Paths.uplinkctl.path, "apply", "--netns", lab.host, config])
                let status = try UplinkctlCLI.run(["status", "--netns", lab.host, "/nonexistent/uplinks.yaml"])
                #expect(status.stdout.hasPrefix("installed by the apply of \(config) at "), "\(status.stdout)")
            }
        }
    }
}
