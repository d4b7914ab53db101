/// What `uplinkctl check` prints on standard output for a valid config: the balance, each
/// uplink's share of the slots, the policies, services and MPTCP in one short summary.
public enum CheckReport {
    /// The lines, without newlines; `file` names the config as the diagnostics do.
    public static func lines(_ config: Config, state: DesiredState, file: String) -> [String] {
        let total = state.uplinks.map(\.slots).reduce(0, +)
        let summary = state.uplinks.map { planned in
            let auto = planned.uplink.gatewayAuto ? ", gateway auto: read from the kernel" : ""
            return "\(planned.uplink.name) (\(planned.uplink.interface)\(auto), \(planned.slots)/\(total))"
        }
        let count = config.policies.count
        let policies = count == 0 ? "" : "; \(count) policy entr\(count == 1 ? "y" : "ies")"
        var lines = ["\(file): valid; \(config.balance.rawValue) over \(summary.joined(separator: ", "))\(policies)"]
        lines += config.services.map { "  " + $0.summary }
        if let mptcp = state.mptcp {
            let carriers = config.uplinks.filter(\.mptcp).map(\.name)
            let without = config.uplinks.filter { !$0.mptcp }.map(\.name)
            lines.append(
                "  mptcp: subflows over \(carriers.joined(separator: ", "))"
                    + (without.isEmpty ? "" : "; none over \(without.joined(separator: ", "))")
                    + "; limits \(mptcp.limits)" + (config.mptcp?.announce == true ? "; addresses announced" : ""))
        }
        return lines
    }
}
