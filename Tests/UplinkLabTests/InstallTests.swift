import Foundation
import TestSupport
import Testing

/// `make install` and `make uninstall` into a throwaway root (DESTDIR), never this machine's
/// /usr; `make deb`, installed and removed with a throwaway dpkg database (`dpkg --root`);
/// the installed unit passes `systemd-analyze verify`. This build's binary stands in for the
/// release one (INSTALL_BIN) but in the package, which needs the Swift runtime linked in.
@Suite("Install and package", .serialized, .enabled(if: getuid() == 0, "dpkg --root needs root"))
struct InstallTests {
    static let installed = [
        "usr/local/bin/uplinkctl", "usr/local/lib/systemd/system/uplinkctl.service",
        "usr/local/share/man/man1/uplinkctl.1", "usr/local/share/man/man5/uplinks.yaml.5",
        "usr/local/share/bash-completion/completions/uplinkctl",
        "usr/local/share/zsh/site-functions/_uplinkctl", "usr/local/share/fish/vendor_completions.d/uplinkctl.fish",
        "etc/uplinkctl/uplinks.yaml"
    ]

    static func make(_ arguments: [String], binary: String? = Paths.uplinkctl.path) throws -> ShellResult {
        try run(
            ["make", "--no-print-directory", "-C", Paths.repository.path] + (binary.map { ["INSTALL_BIN=\($0)"] } ?? [])
                + arguments)
    }

    static func files(under root: URL) -> [String] {
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        let prefix = root.resolvingSymlinksInPath().path + "/"
        return (enumerator?.allObjects as? [URL] ?? []).filter {
            (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true
        }
        .map { String($0.resolvingSymlinksInPath().path.dropFirst(prefix.count)) }.sorted()
    }

    static func withRoot<T>(_ body: (URL) throws -> T) throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("uplinkctl-root-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        return try body(root)
    }

    @Test("make install puts every file in place; uninstall removes them and nothing else")
    func installAndUninstall() throws {
        try Self.withRoot { root in
            let stranger = root.appendingPathComponent("usr/local/bin/other-tool")
            try FileManager.default.createDirectory(
                at: stranger.deletingLastPathComponent(), withIntermediateDirectories: true)
            try "#!/bin/sh\n".write(to: stranger, atomically: true, encoding: .utf8)
            let install = try Self.make(["install", "DESTDIR=\(root.path)"])
            #expect(install.status == 0, "\(install.stdout)\(install.stderr)")
            #expect(Self.files(under: root) == (Self.installed + ["usr/local/bin/other-tool"]).sorted())
            // The unit runs the installed binary; the completions know the commands.
            let unit = try String(
                contentsOf: root.appendingPathComponent("usr/local/lib/systemd/system/uplinkctl.service"),
                encoding: .utf8)
            #expect(unit.contains("ExecStart=/usr/local/bin/uplinkctl run /etc/uplinkctl/uplinks.yaml"))
            let bash = try String(
                contentsOf: root.appendingPathComponent("usr/local/share/bash-completion/completions/uplinkctl"),
                encoding: .utf8)
            #expect(bash.contains("apply") && bash.contains("status"))
            // The example config is valid, and a second install keeps an edited one.
            let config = root.appendingPathComponent("etc/uplinkctl/uplinks.yaml")
            #expect(try run([Paths.uplinkctl.path, "check", config.path]).status == 0)
            try "# mine\n".write(to: config, atomically: true, encoding: .utf8)
            #expect(try Self.make(["install", "DESTDIR=\(root.path)"]).status == 0)
            #expect(try String(contentsOf: config, encoding: .utf8) == "# mine\n")
            let uninstall = try Self.make(["uninstall", "DESTDIR=\(root.path)"])
            #expect(uninstall.status == 0 && uninstall.stdout.contains("kept"), "\(uninstall.stdout)")
            #expect(Self.files(under: root) == ["etc/uplinkctl/uplinks.yaml", "usr/local/bin/other-tool"])
        }
    }

    @Test("the installed unit passes systemd-analyze verify")
    func unitVerifies() throws {
        try Self.withRoot { root in
            #expect(try Self.make(["install", "DESTDIR=\(root.path)", "PREFIX=/usr"]).status == 0)
            let unit = root.appendingPathComponent("lib/systemd/system/uplinkctl.service")
            let text = try String(contentsOf: unit, encoding: .utf8).replacingOccurrences(
                of: "/usr/bin/uplinkctl", with: Paths.uplinkctl.path)
            try text.write(to: unit, atomically: true, encoding: .utf8)
            let verify = try run(["systemd-analyze", "verify", unit.path])
            #expect(verify.status == 0 && verify.stderr.isEmpty, "\(verify.stdout)\(verify.stderr)")
        }
    }

    /// The package of the release build (`make test` builds it first) installs its files,
    /// depends on the runtime libraries (not -dev), keeps the config as a conffile, and
    /// `dpkg -r` removes the rest: in a throwaway dpkg database.
    @Test("make deb builds a package that dpkg installs and removes cleanly")
    func debianPackage() throws {
        // Not built here: `swift test` holds the build directory's lock.
        let release = Paths.repository.appendingPathComponent(".build/release/uplinkctl").path
        #expect(
            FileManager.default.isExecutableFile(atPath: release), "no \(release): make test builds it before the tests"
        )
        let built = try Self.make(["deb"], binary: release)
        #expect(built.status == 0, "\(built.stdout)\(built.stderr)")
        let package = Paths.repository.appendingPathComponent(
            built.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        ).path
        let fields = try must(["dpkg-deb", "--field", package, "Package", "Depends"])
        #expect(fields.contains("libmnl0") && fields.contains("libnftnl11") && !fields.contains("-dev"), "\(fields)")
        try Self.withRoot { root in
            for directory in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"] {
                try FileManager.default.createDirectory(
                    at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
            }
            _ = FileManager.default.createFile(
                atPath: root.appendingPathComponent("var/lib/dpkg/status").path,
                contents: nil)
            let dpkg = [
                "dpkg", "--root=\(root.path)", "--force-depends", "--force-script-chrootless", "--force-not-root"
            ]
            let install = try run(dpkg + ["-i", package])
            #expect(install.status == 0, "\(install.stdout)\(install.stderr)")
            let files = Self.files(under: root).filter { !$0.hasPrefix("var/") }
            #expect(
                files
                    == Self.installed.map {
                        $0.replacingOccurrences(of: "usr/local/lib/", with: "lib/")
                            .replacingOccurrences(of: "usr/local/", with: "usr/")
                    }.sorted(), "\(files)")
            let remove = try run(dpkg + ["-r", "uplinkctl"])
            #expect(remove.status == 0, "\(remove.stdout)\(remove.stderr)")
            #expect(
                Self.files(under: root).filter { !$0.hasPrefix("var/") } == ["etc/uplinkctl/uplinks.yaml"],
                "the conffile stays until purge")
            #expect(try run(dpkg + ["--purge", "uplinkctl"]).status == 0)
            #expect(Self.files(under: root).filter { !$0.hasPrefix("var/") }.isEmpty)
        }
    }

    /// dist/uplinks.yaml.5 is the README's reference as it stands, and dist/uplinkctl.1 names
    /// every command and option the argument parser knows (`make man` regenerates both).
    @Test("the manual pages are current")
    func manualPagesAreCurrent() throws {
        let fresh = FileManager.default.temporaryDirectory.appendingPathComponent("uplinks-\(UUID().uuidString).5")
        defer { try? FileManager.default.removeItem(at: fresh) }
        let generated = try run([
            "env", "-C", Paths.repository.path, "MAN_OUT=\(fresh.path)", "python3", "-m", "tools.manref"
        ])
        #expect(generated.status == 0, "\(generated.stderr)")
        // Without the dated .TH line.
        func body(_ text: String) -> [Substring] { text.split(separator: "\n").dropFirst().map { $0 } }
        let committed = try Paths.read(Paths.repository.appendingPathComponent("dist/uplinks.yaml.5"))
        #expect(
            body(try String(contentsOf: fresh, encoding: .utf8)) == body(committed),
            "dist/uplinks.yaml.5 is stale: make man")
        let manual = try Paths.read(Paths.repository.appendingPathComponent("dist/uplinkctl.1"))
        let help = try must([Paths.uplinkctl.path, "--experimental-dump-help"])
        let names = help.matches(of: /"(?:commandName|name)"\s*:\s*"([a-z][a-z-]*)"/).map { String($0.1) }
        #expect(!names.isEmpty)
        for name in Set(names)
        where !manual.contains(name.replacingOccurrences(of: "-", with: "\\-")) && !manual.contains(name) {
            Issue.record("dist/uplinkctl.1 does not mention '\(name)': make man")
        }
    }
}
