import Foundation
import Testing

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
        try #require(FileManager.default.isExecutableFile(atPath: binary),
                     "no uplinkctl at \(binary); build it first (swift build --build-tests) or set UPLINKCTL_BIN")
        let result = try run([binary] + arguments, input: input)
        let stderr = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("uplinkctl: note (this host): ") && !$0.hasPrefix("uplinkctl: warning (this host): ") }
            .joined(separator: "\n")
        return ShellResult(status: result.status, stdout: result.stdout, stderr: stderr)
    }

    /// A file of `text` in a fresh temporary directory, removed by the caller.
    private func temporaryFile(_ text: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uplinkctl-check-\(UUID().uuidString)")
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
        let result = try uplinkctl(["check", "-"], input: Self.validConfig + """
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
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("uplinkctl-no-such-\(UUID().uuidString).yaml").path
        let result = try uplinkctl(["check", path])
        #expect(result.status == 66)
        #expect(result.stdout == "")
        #expect(result.stderr == "uplinkctl: \(path): no such file\n")
    }

    @Test(arguments: [["check", "--no-such-option", "uplinks.yaml"], ["check", "a.yaml", "b.yaml"], ["no-such-command"]])
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
        let result = try uplinkctl(["check", "-"], input: "uplinks:\n  - name: wired\n    interface: eth0\n    gatway: 10.20.0.254\n")
        #expect(result.status == 65)
        #expect(result.stdout == "")
        #expect(result.stderr == """
            <stdin>:4:5: error: unknown key 'gatway' in an uplink; did you mean 'gateway'? Allowed keys: name, interface, gateway, family, weight, mark, table, masquerade, masquerade6, health
            uplinkctl: 1 error in <stdin>; nothing was applied

            """)
    }
}
