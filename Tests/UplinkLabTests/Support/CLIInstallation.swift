import Foundation

@testable import UplinkCore

extension Installation {
    /// Installs the config at `path` in `namespace` as a user would, through the built binary:
    /// `uplinkctl apply --netns`, or the script `uplinkctl apply --dry-run --format F --netns`
    /// prints for that namespace (its addresses and routes read there), run inside it. Throws when
    /// a step fails; returns what the dry-run and its script printed on stderr, which is nothing
    /// when all is well (apply's notes and warnings are not complaints).
    @discardableResult
    func installThroughCLI(_ path: String, in namespace: String, environment: [String: String] = [:]) throws -> String {
        switch self {
        case .apply:
            let applied = try UplinkctlCLI.run(["apply", "--netns", namespace, path], environment: environment)
            guard applied.status == 0 else {
                throw CommandFailed(
                    command: "uplinkctl apply --netns \(namespace)", status: applied.status,
                    output: applied.stdout + applied.stderr)
            }
            return ""
        case .nftScript, .iptablesScript:
            let format = self == .nftScript ? DryRunFormat.nft : .iptables
            let arguments = ["apply", "--dry-run", "--format", format.rawValue, "--netns", namespace, path]
            let printed = try UplinkctlCLI.run(arguments, environment: environment)
            guard printed.status == 0 else {
                throw CommandFailed(
                    command: "uplinkctl " + arguments.joined(separator: " "), status: printed.status,
                    output: printed.stdout + printed.stderr)
            }
            let ran = try Namespaces.exec(namespace, ["sh", "-s"], input: printed.stdout)
            guard ran.status == 0 else {
                throw CommandFailed(
                    command: "the \(format.rawValue) dry-run script in \(namespace)",
                    status: ran.status, output: ran.stderr)
            }
            // The config's own warnings (FILE:LINE:COLUMN: warning: …) are not the script's complaints.
            let complaints = printed.stderr.split(separator: "\n").filter { !$0.hasPrefix(path + ":") }
            return complaints.map { $0 + "\n" }.joined() + ran.stderr
        }
    }
}
