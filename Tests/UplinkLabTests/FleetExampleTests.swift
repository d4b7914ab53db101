import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// examples/ansible/playbook.yml run by ansible-playbook against a lab namespace: the "router"
/// is the lab's host, reached by a local connection whose uplinkctl is `ip netns exec HOST`.
@Suite("the fleet example", .serialized, .enabled(if: Namespaces.enabled, "needs root and network namespaces"))
struct FleetExampleTests {
    static func playbook(_ lab: Lab, directory: URL) throws -> ShellResult {
        let inventory = directory.appendingPathComponent("inventory.ini")
        try """
        [routers]
        lab-router ansible_connection=local ansible_python_interpreter=/usr/bin/python3
        """.write(to: inventory, atomically: true, encoding: .utf8)
        let variables: [String: Any] = [
            "uplinkctl": "ip netns exec \(lab.host) \(Paths.uplinkctl.path)",
            "uplinkctl_config": "\(directory.path)/etc/uplinks.yaml",
            "uplinkctl_source": "\(directory.path)/files/lab-router.yaml",
            "uplinkctl_confirm": 20
        ]
        let extra = String(decoding: try JSONSerialization.data(withJSONObject: variables), as: UTF8.self)
        let environment = [
            "ANSIBLE_HOME=\(directory.path)/ansible", "ANSIBLE_LOCAL_TEMP=\(directory.path)/ansible/tmp",
            "ANSIBLE_REMOTE_TEMP=\(directory.path)/ansible/remote", "ANSIBLE_NOCOLOR=1",
            "ANSIBLE_RETRY_FILES_ENABLED=0"
        ]
        let playbook = Paths.repository.appendingPathComponent("examples/ansible/playbook.yml").path
        return try run(environment + ["ansible-playbook", "-i", inventory.path, "-e", extra, playbook])
    }

    static func recap(_ output: String) -> String {
        output.split(separator: "\n").first { $0.hasPrefix("lab-router") && $0.contains("ok=") }.map(String.init) ?? ""
    }

    @Test func thePlaybookAppliesConfirmsAndKeeps() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("uplinkctl-fleet-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        for folder in ["etc", "files", "ansible"] {
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent(folder),
                withIntermediateDirectories: true)
        }
        let config = try Paths.read(Paths.examples.appendingPathComponent("lab.yaml"))
        try config.write(
            to: directory.appendingPathComponent("files/lab-router.yaml"), atomically: true,
            encoding: .utf8)
        try Lab.with { lab in
            let first = try Self.playbook(lab, directory: directory)
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            #expect(Self.recap(first.stdout).contains("failed=0"), "\(first.stdout)")
            #expect(first.stdout.contains("TASK [Confirm"), "\(first.stdout)")
            // Installed, confirmed (nothing pending) and kept as the config for the next boot.
            let kept = directory.appendingPathComponent("etc/uplinks.yaml").path
            #expect(try Paths.read(URL(fileURLWithPath: kept)) == config)
            #expect(try UplinkctlCLI.run(["diff", "--netns", lab.host, kept]).status == 0)
            #expect(try UplinkctlCLI.run(["confirm", "--netns", lab.host]).status == 1)
            #expect(try lab.connections(from: .host, .tcp, count: 3) == [1, 2, 3])
            // Again with nothing new: nothing changes, nothing is applied.
            let second = try Self.playbook(lab, directory: directory)
            #expect(
                second.status == 0 && Self.recap(second.stdout).contains("changed=0"),
                "\(second.stdout)\(second.stderr)")
        }
    }
}
