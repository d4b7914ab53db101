/// How new connections are spread over the uplinks.
public enum BalanceMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Round-robin in the smooth weighted order: the k-th new connection takes slot k mod W.
    case nth
    /// Each new connection picks a slot at random: uplink i with probability w_i / W.
    case random
    /// Slot by a hash of source and destination address (nftables jhash): every connection
    /// between the same two addresses takes the same uplink.
    case hash
    /// The kernel's weighted multipath route picks the uplink per flow (layer-4 hash).
    case ecmp
}

/// Which new connections are balanced.
public enum TrafficKind: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Connections this host opens itself (the output hook).
    case local
    /// Connections routed through this host, from its LAN (the prerouting hook).
    case forwarded

    public static func < (a: TrafficKind, b: TrafficKind) -> Bool { a == .local && b == .forwarded }
}

/// One uplink, with every default already filled in.
public struct Uplink: Sendable, Hashable, Codable {
    public var name: String
    public var interface: String
    /// The families this uplink carries, sorted: IPv4, IPv6 or both.
    public var families: [IPFamily]
    /// At most one per family. A family without a gateway routes by device only (point-to-point).
    public var gateways: [IPAddress]
    public var weight: Int
    public var mark: UInt32
    public var table: UInt32
    /// Masquerade IPv4 connections leaving by this uplink (default on).
    public var masquerade: Bool
    /// Masquerade IPv6 connections too (NAT66; default off).
    public var masquerade6: Bool
    /// How `run` checks it; nil (`health: false`): never checked, always in.
    public var health: HealthCheck?
    /// `gateway: auto`: the gateway is the one its DHCP or PPP client installs as a default
    /// route, read from the kernel at every command (and followed by `run`).
    public var gatewayAuto = false
    /// With `mptcp: true` at the top level: MPTCP subflows may use it (`mptcp: false`: never).
    public var mptcp = true

    public init(
        name: String, interface: String, families: [IPFamily]? = nil, gateways: [IPAddress] = [], weight: Int = 1,
        mark: UInt32, table: UInt32, masquerade: Bool = true, masquerade6: Bool = false,
        health: HealthCheck? = .defaults
    ) {
        self.name = name
        self.interface = interface
        self.families = (families ?? (gateways.isEmpty ? [.ipv4] : gateways.map(\.family))).uniqued().sorted()
        self.gateways = gateways.sorted()
        self.weight = weight
        self.mark = mark
        self.table = table
        self.masquerade = masquerade
        self.masquerade6 = masquerade6
        self.health = health
    }

    public func carries(_ family: IPFamily) -> Bool { families.contains(family) }
    /// The health targets it probes: those of the families it carries.
    public var probeTargets: [IPAddress] { (health?.targets ?? []).filter { carries($0.family) } }
    public func gateway(_ family: IPFamily) -> IPAddress? { gateways.first { $0.family == family } }
    public func masquerades(_ family: IPFamily) -> Bool {
        carries(family) && (family == .ipv4 ? masquerade : masquerade6)
    }
}

/// The target `balance: ecmp` marks new connections for: a table holding the weighted
/// multipath default route, found by its own mark.
public struct EcmpTarget: Sendable, Hashable, Codable {
    public var mark: UInt32
    public var table: UInt32

    public init(mark: UInt32, table: UInt32) {
        self.mark = mark
        self.table = table
    }
}

/// A valid configuration: what `check` accepts and every other command starts from.
public struct Config: Sendable, Hashable, Codable {
    public var balance: BalanceMode
    public var traffic: Set<TrafficKind>
    public var markMask: UInt32
    public var rulePriority: UInt32
    /// In slot order.
    public var uplinks: [Uplink]
    /// First match wins.
    public var policies: [Policy]
    /// Set exactly when `balance` is `ecmp`.
    public var ecmp: EcmpTarget?
    /// Incoming connections spread over backends (DNAT).
    public var services: [Service] = []
    /// `mptcp: true`; nil: uplinkctl leaves the MPTCP path manager alone.
    public var mptcp: MptcpSettings?
    /// The YAML it was read from (empty for a config made in code).
    public var text = SourceText("")

    public static let defaultMarkMask: UInt32 = 0xff00
    public static let defaultRulePriority: UInt32 = 31000
    public static let defaultPath = "/etc/uplinkctl/uplinks.yaml"

    public init(
        balance: BalanceMode = .nth, traffic: Set<TrafficKind> = [.local, .forwarded],
        markMask: UInt32 = Config.defaultMarkMask, rulePriority: UInt32 = Config.defaultRulePriority,
        uplinks: [Uplink], policies: [Policy] = [], ecmp: EcmpTarget? = nil
    ) {
        self.balance = balance
        self.traffic = traffic
        self.markMask = markMask
        self.rulePriority = rulePriority
        self.uplinks = uplinks
        self.policies = policies
        self.ecmp = ecmp
    }

    public func uplink(named name: String) -> Uplink? { uplinks.first { $0.name == name } }
    public func service(named name: String) -> Service? { services.first { $0.name == name } }

    /// A service backend by its name (`api-2`): its service and position.
    public func backend(named name: String) -> (service: Service, index: Int)? {
        for service in services {
            if let index = service.backends.indices.first(where: { service.backendName($0) == name }) {
                return (service, index)
            }
        }
        return nil
    }

    /// The conntrack mark of a new connection uplinkctl leaves alone because its route does
    /// not leave by an uplink: every bit of the mask, a value no uplink may take.
    public var leftAloneMark: UInt32 { markMask }

    /// The mark (SO_MARK) of `run`'s checks of service backends: the services' output rules let
    /// such packets pass untranslated, or a check of 127.0.0.1:8081 behind port 8081 would itself
    /// be balanced. The left-alone value: no uplink takes it.
    public var backendProbeMark: UInt32 { markMask }
}
