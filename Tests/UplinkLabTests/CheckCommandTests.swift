import Foundation
import TestSupport
import Testing
import UplinkCore

/// `uplinkctl check` as a user runs it: the built binary, its exit status, stdout and stderr.
@Suite("uplinkctl check")
struct CheckCommandTests {
    static let validConfig = """
        balance: nth
        traffic: [local]
        mark-mask: 0xff
        uplinks:
          - name: wired
            interface: eth0
            gateway: 10.20.0.254
            mark: 10
          - name: wireless
            interface: eth1
            gateway: 10.25.0.254
            mark: 11

        """

    /// check also reads the ip rules of the host it runs on and names other programs' rules
    /// (OtherRoutingLabTests checks that, in a namespace of its own): those lines depend on the
    /// machine, not on the config, so they are left out here.
    private func uplinkctl(_ arguments: [String], input: String? = nil) throws -> ShellResult {
        let binary = Paths.uplinkctl.path
        try #require(
            FileManager.default.isExecutableFile(atPath: binary),
            "no uplinkctl at \(binary); build it first (swift build --build-tests) or set UPLINKCTL_BIN")
        let result = try run([binary] + arguments, input: input)
        let stderr = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            .filter {
                !$0.hasPrefix("uplinkctl: note (this host): ") && !$0.hasPrefix("uplinkctl: warning (this host): ")
            }
            .joined(separator: "\n")
        return ShellResult(status: result.status, stdout: result.stdout, stderr: stderr)
    }

    /// A file of `text` in a fresh temporary directory, removed by the caller.
    private func temporaryFile(_ text: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "uplinkctl-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("uplinks.yaml")
        try Data(text.utf8).write(to: file)
        return file
    }

    @Test func validFileExitsZero() throws {
        let file = try temporaryFile(Self.validConfig)
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        let result = try uplinkctl(["check", file.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "\(file.path): valid; nth over wired (eth0, 1/2), wireless (eth1, 1/2)\n")
        #expect(result.stderr == "")
    }

    @Test(arguments: ["several-errors", "weight-zero", "yaml-syntax-error", "empty-file"])
    func badCorpusFileExits65WithItsDiagnosticsOnStderr(_ name: String) throws {
        let path = BadConfigCorpus.yaml(name).path
        // The corpus names the file as "<case>.yaml"; the command names it as it was given.
        let diagnostics = try BadConfigCorpus.expectedLines(name).map { line in
            try #require(line.hasPrefix("\(name).yaml:") ? path + line.dropFirst(name.count + 5) : nil, "\(line)")
        }
        let count = diagnostics.count
        let summary = "uplinkctl: \(count) error\(count == 1 ? "" : "s") in \(path); nothing was applied"

        let result = try uplinkctl(["check", path])
        #expect(result.status == 65)
        #expect(result.stdout == "")
        #expect(result.stderr == (diagnostics + [summary]).map { $0 + "\n" }.joined())
    }

    @Test(arguments: ["policy-shadowed", "policy-uplink-family-left", "policy-in-interface-local"])
    func warningsArePrintedAndTheConfigIsStillValid(_ name: String) throws {
        let path = BadConfigCorpus.yaml(name).path
        let warnings = try BadConfigCorpus.expectedLines(name).map { line in
            try #require(line.hasPrefix("\(name).yaml:") ? path + line.dropFirst(name.count + 5) : nil, "\(line)")
        }
        try #require(warnings.allSatisfy { $0.contains(": warning: ") })

        let result = try uplinkctl(["check", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("\(path): valid; "))
        #expect(result.stderr == warnings.map { $0 + "\n" }.joined())
    }

    @Test func policiesAreCountedInTheSummary() throws {
        let result = try uplinkctl(
            ["check", "-"],
            input: Self.validConfig + """
                policies:
                  - destination: 198.18.100.0/24
                    bypass: true
                  - protocol: udp
                    destination-port: 51820
                    uplink: wireless

                """)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "<stdin>: valid; nth over wired (eth0, 1/2), wireless (eth1, 1/2); 2 policy entries\n")
        #expect(result.stderr == "")
    }

    @Test func missingFileExits66() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "uplinkctl-no-such-\(UUID().uuidString).yaml"
        ).path
        let result = try uplinkctl(["check", path])
        #expect(result.status == 66)
        #expect(result.stdout == "")
        #expect(result.stderr == "uplinkctl: \(path): no such file\n")
    }

    @Test(arguments: [["check", "--no-such-option", "uplinks.yaml"], ["check", "a.yaml", "b.yaml"], ["no-such-command"]]
    )
    func usageErrorsExit64(_ arguments: [String]) throws {
        let result = try uplinkctl(arguments)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stdout == "")
        #expect(!result.stderr.isEmpty)
    }

    @Test func dashReadsAValidConfigFromStandardInput() throws {
        let result = try uplinkctl(["check", "-"], input: Self.validConfig)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "<stdin>: valid; nth over wired (eth0, 1/2), wireless (eth1, 1/2)\n")
        #expect(result.stderr == "")
    }

    @Test func dashReadsABadConfigFromStandardInput() throws {
        let result = try uplinkctl(
            ["check", "-"], input: "uplinks:\n  - name: wired\n    interface: eth0\n    gatway: 10.20.0.254\n")
        #expect(result.status == 65)
        #expect(result.stdout == "")
        #expect(
            result.stderr == """
                <stdin>:4:5: error: unknown key 'gatway' in an uplink; did you mean 'gateway'? \
                Allowed keys: name, interface, gateway, family, weight, mark, table, masquerade, masquerade6, \
                health, mptcp
                uplinkctl: 1 error in <stdin>; nothing was applied

                """)
    }
}

/// Without a config argument, a command says which file it falls back to.
@Suite("The default config path")
struct DefaultConfigPathTests {
    @Test func aCommandWithoutAConfigNamesTheDefault() throws {
        let result = try UplinkctlCLI.run(["check"])
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.first == "uplinkctl: using /etc/uplinkctl/uplinks.yaml (no config given)", "\(result.stderr)")
        if !FileManager.default.fileExists(atPath: "/etc/uplinkctl/uplinks.yaml") {
            #expect(result.status == 66)
            #expect(
                lines.last
                    == "uplinkctl: /etc/uplinkctl/uplinks.yaml: no such "
                    + "file; give the config's path as the last argument"
            )
        }
        // Given, no such line.
        try UplinkctlCLI.withConfig(try Paths.read(Paths.examples.appendingPathComponent("lab.yaml"))) { config in
            let given = try UplinkctlCLI.run(["check", config])
            #expect(given.status == 0 && given.stderr.isEmpty, "\(given.stderr)")
        }
    }
}

/// Run as root, a config another user could change is refused before anything is read (as
/// sshd's StrictModes): the file and every directory above it root's, not group- or
/// world-writable, but for sticky directories such as /tmp.
@Suite("A config only root can change", .enabled(if: getuid() == 0, "only root's commands check it"))
struct ConfigPermissionTests {
    static func withDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "uplinkctl-perm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("uplinks.yaml")
        try Paths.read(Paths.examples.appendingPathComponent("lab.yaml")).write(
            to: config, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: config.path)
        return try body(config)
    }

    @Test func writableByOthersIsRefusedWithTheFix() throws {
        try Self.withDirectory { config in
            #expect(
                try UplinkctlCLI.run(["check", config.path]).status == 0, "0644 in a 0755 directory under sticky /tmp")
            try FileManager.default.setAttributes([.posixPermissions: 0o664], ofItemAtPath: config.path)
            let group = try UplinkctlCLI.run(["apply", "--dry-run", config.path])
            #expect(group.status == 66)
            #expect(
                group.stderr
                    == "uplinkctl: \(config.path): refused: \(config.path) can be changed by "
                    + "its group (mode 664): they could change what uplinkctl installs; "
                    + "chmod go-w \(config.path); nothing was read or changed\n"
            )
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: config.path)
            let directory = config.deletingLastPathComponent().path
            try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory)
            let open = try UplinkctlCLI.run(["check", config.path])
            #expect(
                open.status == 66 && open.stderr.contains("directory \(directory) can be changed by anyone (mode 777)")
                    && open.stderr.contains("chmod go-w \(directory)"),
                "\(open.stderr)")
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
            try FileManager.default.setAttributes([.ownerAccountID: 65534], ofItemAtPath: config.path)
            let owned = try UplinkctlCLI.run(["check", config.path])
            #expect(owned.status == 66 && owned.stderr.contains("belongs to user 65534, not root"), "\(owned.stderr)")
        }
    }

    /// Not root: nothing a user could change is worth refusing (the kernel refuses the user anyway).
    @Test func otherUsersAreNotChecked() throws {
        try Self.withDirectory { config in
            try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: config.path)
            #expect(ConfigPermissions.problem(config.path, euid: 1000) == nil)
            #expect(ConfigPermissions.problem(config.path) != nil)
        }
    }
}
