/// The lab's uplinks (Tests/UplinkLabTests/Support/Lab.swift wires them): upN in the host,
/// gateway dN in gwN, N = 1, 2, 3. Here rather than in the lab so that the random config
/// generator can shape configs to the lab without one.
public enum LabUplinks {
    public static let count = 3

    /// The host's address on uplink `n`: 198.18.N.2 or 2001:2:0:N::2.
    public static func address(_ n: Int, ipv6: Bool = false) -> String {
        ipv6 ? "2001:2:0:\(n)::2" : "198.18.\(n).2"
    }

    /// Uplink `n`'s gateway: 198.18.N.1 or 2001:2:0:N::1.
    public static func gateway(_ n: Int, ipv6: Bool = false) -> String {
        ipv6 ? "2001:2:0:\(n)::1" : "198.18.\(n).1"
    }
}
