import Foundation

/// `uplinkctl status`: what is installed, and per uplink its link, routing and what it carried
/// (new connections by our counter; packets and bytes by the interface's own statistics), with
/// each uplink's share of connections and of bytes as a bar.
public struct StatusReport: Sendable {
    public struct Count: Sendable, Hashable, Codable {
        public var packets: UInt64
        public var bytes: UInt64
        public init(packets: UInt64, bytes: UInt64) {
            self.packets = packets
            self.bytes = bytes
        }
    }

    public struct UplinkLine: Sendable, Codable {
        public var name: String
        public var interface: String
        /// up, down, no-carrier or missing.
        public var state: String
        public var gateway: String?
        public var mark: String
        public var table: UInt32
        public var weight: Int
        /// New connections balanced onto it since apply.
        public var connections: UInt64
        /// The interface's counters since it was created.
        public var received: InterfaceState.Traffic
        public var sent: InterfaceState.Traffic
        /// What a running `uplinkctl run` says of it.
        public var health: UplinkHealth?
        /// With `mptcp: true`: the MPTCP subflows leaving from its addresses now.
        public var subflows: Int?
    }

    /// With `mptcp: true`: the host's MPTCP connections now.
    public struct MptcpSummary: Sendable, Codable {
        public var connections: Int
        public var subflows: Int
        /// Subflows from an address that is no uplink's.
        public var elsewhere: Int
    }

    /// What the kernel says of MPTCP, for the report: established connections, and the local
    /// address of each of their subflows.
    public struct MptcpCount: Sendable {
        public var connections: Int
        public var subflowSources: [IPAddress]

        public init(connections: Int, subflowSources: [IPAddress]) {
            self.connections = connections
            self.subflowSources = subflowSources
        }
    }

    /// One service: where it listens, and per backend what it got.
    public struct ServiceLine: Sendable, Codable {
        public var name: String
        /// `tcp 8080 on any address of this host`, `tcp,udp 8000-8010 on 198.18.0.65`.
        public var listens: String
        public var balance: String
        public var backends: [BackendLine]
    }

    public struct BackendLine: Sendable, Codable {
        /// `api-1`.
        public var name: String
        /// `198.18.5.2:8080`, `:8001` (this host).
        public var target: String
        public var weight: Int
        /// New connections sent to it since apply.
        public var connections: UInt64
        /// What a running `uplinkctl run` says of it.
        public var health: UplinkHealth?
    }

    /// What the report describes, and why that.
    public enum Source: Sendable, Hashable {
        /// The config given, which the kernel is compared with.
        case config(String)
        /// What the last apply installed (the kernel still holds exactly that): no config could
        /// be read, or the one given (`given`) would change `differences` things.
        case lastApply(AppliedPlan, given: String?, differences: Int)
        /// Neither: no config, and the kernel no longer holds what the last apply installed.
        case kernel
    }

    /// The report's source, as JSON says it.
    public struct SourceSummary: Sendable, Codable {
        /// config, last-apply or kernel.
        public var describes: String
        /// The config whose plan the uplinks and services come from.
        public var config: String?
        public var appliedAt: String?
        /// A config given that is not what is installed, and how many changes it would make.
        public var givenConfig: String?
        public var givenDifferences: Int?
    }

    public struct Summary: Sendable, Codable {
        public var source: SourceSummary
        public var installed: Bool
        public var inSync: Bool
        public var differences: Int
        public var balance: String
        public var uplinks: [UplinkLine]
        /// With `balance: ecmp`: new connections marked for the multipath table.
        public var ecmpConnections: UInt64?
        /// New connections whose route did not leave by an uplink (a VPN tunnel, another table,
        /// the LAN), since apply: not balanced, not counted on any uplink.
        public var leftAlone: UInt64
        /// The policy verdict maps of both families, and their elements.
        public var policyMaps: Int
        public var policyElements: Int
        /// The `uplinkctl run` that manages the namespace, if one does.
        public var run: RunSummary?
        public var services: [ServiceLine]
        public var mptcp: MptcpSummary?
    }

    public struct RunSummary: Sendable, Codable {
        public var pid: Int32
        public var config: String
        public var started: Double
        public var lastEvent: String?
    }

    public let summary: Summary

    /// `desired`: the plan of the config, or the last apply's plan (`source` says which); with
    /// `.kernel`, an empty plan.
    public init(
        desired: DesiredState, live: LiveState, record: SysctlRecord, interfaces: [String: InterfaceState],
        counters: [String: Count],
        run: RunState? = nil, source: Source, mptcp: MptcpCount? = nil
    ) {
        let changes = StateDiff.changes(from: live, to: desired, record: record)
        let policyMaps = desired.nftables.maps.filter { $0.name.hasPrefix(PolicyCompiler.mapPrefix) }
        let uplinks = desired.uplinks.map { planned -> UplinkLine in
            let uplink = planned.uplink
            let state: String
            switch interfaces[uplink.interface] {
            case nil: state = "missing"
            case let interface? where !interface.isUp: state = "down"
            case let interface? where !interface.hasCarrier: state = "no-carrier"
            default: state = "up"
            }
            return UplinkLine(
                name: uplink.name, interface: uplink.interface, state: state,
                gateway: uplink.gateways.isEmpty ? nil : uplink.gateways.map(\.description).joined(separator: ","),
                mark: hex(uplink.mark), table: uplink.table, weight: uplink.weight,
                connections: counters[planned.connectionCounter]?.packets ?? 0,
                received: interfaces[uplink.interface]?.received ?? .init(),
                sent: interfaces[uplink.interface]?.sent ?? .init(),
                health: run?.uplinks[uplink.name],
                subflows: desired.mptcp == nil
                    ? nil
                    : mptcp.map {
                        Self.subflows(of: uplink, $0, interfaces)
                    })
        }
        summary = Summary(
            source: Self.summary(of: source), installed: live.nftables != nil || !live.rules.isEmpty,
            inSync: changes.isEmpty,
            differences: changes.lines.count, balance: desired.balance.rawValue,
            uplinks: uplinks,
            ecmpConnections: desired.balance == .ecmp ? counters[NftPlanner.ecmpCounter]?.packets ?? 0 : nil,
            leftAlone: counters[Ownership.leftAloneCounter]?.packets ?? 0,
            policyMaps: policyMaps.count, policyElements: policyMaps.map(\.elements.count).reduce(0, +),
            run: run.map { RunSummary(pid: $0.pid, config: $0.config, started: $0.started, lastEvent: $0.lastEvent) },
            services: desired.services.map { Self.serviceLine($0, counters: counters, run: run) },
            mptcp: desired.mptcp == nil
                ? nil
                : mptcp.map { count in
                    let onUplinks = uplinks.compactMap(\.subflows).reduce(0, +)
                    return MptcpSummary(
                        connections: count.connections, subflows: count.subflowSources.count,
                        elsewhere: count.subflowSources.count - onUplinks)
                })
    }

    /// The subflows leaving from one of the uplink's addresses.
    static func subflows(of uplink: Uplink, _ count: MptcpCount, _ interfaces: [String: InterfaceState]) -> Int {
        let own = interfaces[uplink.interface]?.localAddresses ?? []
        return count.subflowSources.filter { own.contains($0) }.count
    }

    static func summary(of source: Source) -> SourceSummary {
        switch source {
        case .config(let path):
            return SourceSummary(describes: "config", config: path)
        case .lastApply(let applied, let given, let differences):
            return SourceSummary(
                describes: "last-apply", config: applied.config, appliedAt: applied.appliedAt,
                givenConfig: given, givenDifferences: given == nil ? nil : differences)
        case .kernel:
            return SourceSummary(describes: "kernel")
        }
    }

    static func serviceLine(_ service: Service, counters: [String: Count], run: RunState?) -> ServiceLine {
        let backends = service.backends.enumerated().map { index, backend in
            let name = service.backendName(index)
            return BackendLine(
                name: name, target: backend.description, weight: backend.weight,
                connections: counters[service.counterName(index)]?.packets ?? 0, health: run?.backends?[name])
        }
        return ServiceLine(
            name: service.name, listens: service.listens, balance: service.balance.rawValue, backends: backends)
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? encoder.encode(summary)) ?? Data(), as: UTF8.self) + "\n"
    }

    public var text: String {
        var lines: [String] = []
        let source = summary.source
        if !summary.installed {
            lines.append("not installed (uplinkctl apply installs it)")
            // Without a config there is nothing more to say.
            if summary.uplinks.isEmpty { return lines.joined(separator: "\n") + "\n" }
        } else if source.describes == "kernel" {
            lines.append(
                "installed, but not as the last apply left it, and no config to compare it with: "
                    + "give the config's path (uplinkctl status CONFIG); uplinkctl flush removes it")
            return lines.joined(separator: "\n") + "\n"
        } else if source.describes == "last-apply" {
            var line =
                "installed by the apply of \(source.config ?? "?") at \(source.appliedAt ?? "?"), "
                + "in sync with it"
            if let given = source.givenConfig, let count = source.givenDifferences {
                line +=
                    "; \(given) would change \(count) thing\(count == 1 ? "" : "s") "
                    + "(uplinkctl diff \(given) shows them)"
            }
            lines.append(line + "; balance: \(summary.balance)")
        } else if summary.inSync {
            lines.append("installed, in sync with the config; balance: \(summary.balance)")
        } else {
            lines.append(
                "installed, \(summary.differences) difference\(summary.differences == 1 ? "" : "s") "
                    + "from the config (uplinkctl diff shows them); balance: \(summary.balance)"
            )
        }
        if summary.policyMaps > 0 {
            lines.append(
                "policies: \(summary.policyElements) element\(summary.policyElements == 1 ? "" : "s") "
                    + "in \(summary.policyMaps) verdict map\(summary.policyMaps == 1 ? "" : "s") (one "
                    + "lookup each per new connection)"
            )
        }
        if let mptcp = summary.mptcp {
            let connections = "\(mptcp.connections) connection\(mptcp.connections == 1 ? "" : "s")"
            let subflows = "\(mptcp.subflows) subflow\(mptcp.subflows == 1 ? "" : "s")"
            let elsewhere = mptcp.elsewhere > 0 ? ", \(mptcp.elsewhere) from addresses of no uplink" : ""
            lines.append("mptcp: \(connections) now, \(subflows) (per uplink below\(elsewhere))")
        }
        if let ecmp = summary.ecmpConnections {
            lines.append(
                "multipath route (ecmp): \(ecmp) new connection\(ecmp == 1 ? "" : "s") "
                    + "handed to the kernel's hash since apply"
            )
        }
        let now = Date().timeIntervalSince1970
        if let run = summary.run {
            lines.append(
                "managed by uplinkctl run (pid \(run.pid), \(run.config)), up \(Self.duration(now - run.started))"
                    + (run.lastEvent.map { "; last event: \($0)" } ?? ""))
        }
        if summary.installed {
            let count = summary.leftAlone
            lines.append(
                "left alone: \(count) new connection\(count == 1 ? "" : "s") since "
                    + "apply whose route leaves by another interface (not balanced)"
            )
        }
        lines.append("")
        var header = ["uplink", "interface", "state", "gateway", "mark", "table", "weight", "conns", "received", "sent"]
        let mptcp = summary.mptcp != nil
        if mptcp { header.append("subflows") }
        if summary.run != nil { header += ["health", "since", "rtt", "loss", "changes"] }
        let rows = summary.uplinks.map { u in
            var row = [
                u.name, u.interface, u.state, u.gateway ?? "-", u.mark, String(u.table), String(u.weight),
                String(u.connections),
                Self.bytes(u.received.bytes), Self.bytes(u.sent.bytes)
            ]
            if mptcp { row.append(String(u.subflows ?? 0)) }
            if summary.run != nil {
                let health = u.health
                row += [
                    health?.state.rawValue ?? "-", health.map { Self.duration(now - $0.since) } ?? "-",
                    health?.lastRTT.map { String(format: "%.1f ms", $0) } ?? "-",
                    health.map { "\(Int(($0.loss * 100).rounded()))%" } ?? "-",
                    health.map { String($0.transitions) } ?? "-"
                ]
            }
            return row
        }
        lines += Self.columns([header] + rows)
        let totalConnections = summary.uplinks.map(\.connections).reduce(0, +)
        let bytes = summary.uplinks.map { $0.received.bytes + $0.sent.bytes }
        let totalBytes = bytes.reduce(0, +)
        if totalConnections > 0 || totalBytes > 0 {
            lines.append("")
            lines.append("share of new connections (since apply) and of bytes both ways (since the interface came up):")
            let width = summary.uplinks.map(\.name.count).max() ?? 0
            for (u, carried) in zip(summary.uplinks, bytes) {
                let name = u.name.padding(toLength: width, withPad: " ", startingAt: 0)
                lines.append(
                    "  \(name) conns \(Self.bar(u.connections, of: totalConnections)) "
                        + " bytes \(Self.bar(carried, of: totalBytes))"
                )
            }
        }
        for service in summary.services { lines += serviceLines(service, now: now) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A service's backends, with their share of its new connections as a bar.
    private func serviceLines(_ service: ServiceLine, now: Double) -> [String] {
        let lines = ["", "service \(service.name): \(service.listens), \(service.balance)"]
        let total = service.backends.map(\.connections).reduce(0, +)
        let checked = summary.run != nil
        var header = ["backend", "target", "weight", "conns", "share"]
        if checked { header += ["health", "since"] }
        let rows = service.backends.map { b in
            var row = [b.name, b.target, String(b.weight), String(b.connections), Self.bar(b.connections, of: total)]
            if checked {
                row += [b.health?.state.rawValue ?? "-", b.health.map { Self.duration(now - $0.since) } ?? "-"]
            }
            return row
        }
        return lines + Self.columns([header] + rows).map { "  " + $0 }
    }

    /// `45s`, `12m`, `3h`, `2d`.
    static func duration(_ seconds: Double) -> String {
        let whole = max(0, Int(seconds))
        switch whole {
        case ..<120: return "\(whole)s"
        case ..<7200: return "\(whole / 60)m"
        case ..<172_800: return "\(whole / 3600)h"
        default: return "\(whole / 86400)d"
        }
    }

    /// A 20-cell bar and the percentage.
    static func bar(_ part: UInt64, of total: UInt64) -> String {
        guard total > 0 else { return String(repeating: "·", count: 20) + "   0%" }
        let share = Double(part) / Double(total)
        let cells = Int((share * 20).rounded())
        let percent = String(Int((share * 100).rounded()))
        return String(repeating: "█", count: cells) + String(repeating: "·", count: 20 - cells) + " "
            + percent.leftPadded(to: 3, with: " ") + "%"
    }

    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func columns(_ rows: [[String]]) -> [String] {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}
