/// How uplinkctl recognises the kernel objects it owns: by name and tag, never by number ranges.
public enum Ownership {
    /// The nftables table (family inet) that holds all of uplinkctl's packet rules.
    public static let nftTableName = "uplinkctl"
    /// rtm_protocol of our routes and FRA_PROTOCOL of our rules: 117 (0x75, ASCII 'u'),
    /// unused in iproute2's rt_protos. Objects without it are never changed.
    public static let routeProtocol: UInt8 = 117
    /// The named counter of the new connections left alone (their route leaves by another interface).
    public static let leftAloneCounter = "left-alone"
    /// Prefix of the iptables chains in the dry-run's iptables form.
    public static let iptablesChainPrefix = "UPL-"
}
