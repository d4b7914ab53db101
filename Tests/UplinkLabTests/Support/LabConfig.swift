import Foundation
import Testing

@testable import UplinkCore

/// How a test puts a config into the lab's host: through `uplinkctl apply --netns`, the
/// product path, or through the dry-run script of one format, run in the host (the
/// equivalence of the printed script and what apply installs).
enum Installation: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case apply
    case nftScript
    case iptablesScript

    var testDescription: String {
        switch self {
        case .apply: "uplinkctl apply"
        case .nftScript: "nft dry-run"
        case .iptablesScript: "iptables dry-run"
        }
    }
}

extension Lab {
    /// Installs `yaml` in the host by `way` and returns the plan for the host's current
    /// addresses, so a test can work out the slot order it expects.
    @discardableResult
    func install(_ yaml: String, by way: Installation) throws -> DesiredState {
        let config = try ConfigParser.parse(yaml, file: "lab-test.yaml").get()
        let state = Planner.plan(config, facts: try hostAddresses())
        switch way {
        case .apply:
            try UplinkctlCLI.withConfig(yaml) { path in
                let applied = try UplinkctlCLI.run(["apply", "--netns", host, path])
                guard applied.status == 0 else {
                    throw CommandFailed(
                        command: "uplinkctl apply --netns \(host)", status: applied.status,
                        output: applied.stdout + applied.stderr)
                }
            }
        case .nftScript, .iptablesScript:
            let complaints = try run(script: DryRun.script(state, format: way == .nftScript ? .nft : .iptables))
            guard complaints.isEmpty else {
                throw CommandFailed(command: "the \(way) script", status: 0, output: complaints)
            }
        }
        return state
    }

    /// The host's global addresses by interface and its main table's IPv4 default route
    /// interfaces, as the CLI reads them for the plan.
    func hostAddresses() throws -> PlanFacts {
        var byInterface: [String: [IPAddress]] = [:]
        for line in try must(["ip", "-n", host, "-o", "addr", "show"]).split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count > 3, let address = IPAddress(String(words[3].split(separator: "/")[0])) else { continue }
            byInterface[String(words[1]), default: []].append(address)
        }
        // "default via 198.18.1.1 dev up1 ..."
        let defaults = try must(["ip", "-n", host, "-4", "route", "show", "table", "main", "default"]).split(
            separator: "\n"
        ).compactMap { line -> String? in
            let words = line.split(separator: " ")
            return words.firstIndex(of: "dev").flatMap { $0 + 1 < words.count ? String(words[$0 + 1]) : nil }
        }
        return PlanFacts(byInterface, mainDefaultInterfaces: Set(defaults))
    }
}

/// The uplinks (1-based, as the lab numbers them) of a balancing cycle over `weights`, which
/// belong to the lab's uplinks `members`: the k-th new connection takes element k mod W.
func labSlotOrder(_ members: [Int], weights: [Int]) -> [Int] {
    smoothSlotOrder(weights: reducedWeights(weights)).map { members[$0] }
}
