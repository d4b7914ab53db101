import Testing

@testable import UplinkCore

/// Interface names the kernel allows and the dry-run's tools read otherwise (found by the
/// random-config equivalence test): the script must still set and match exactly what apply does.
@Suite("Unusual interface names in the dry-run")
struct UnusualInterfaceNameTests {
    /// sysctl(8) takes the first '=' for the start of the value, and warns about repeated
    /// separators: such settings are written to their /proc/sys file instead.
    @Test func settingsSysctlCannotNameGoThroughProc() {
        let vlan = IPCommands.sysctl(.looseReversePath("eth0.100"))
        #expect(vlan == ["sysctl", "-w", "net.ipv4.conf.eth0/100.rp_filter=2"])
        for name in ["a=b", "z.B..Ah", "wan.", ".wan"] {
            #expect(
                IPCommands.sysctl(.looseReversePath(name))
                    == ["sh", "-c", #"echo "$1" > "$2""#, "sh", "2", "/proc/sys/net/ipv4/conf/\(name)/rp_filter"])
        }
        #expect(
            shellCommand(IPCommands.sysctl(.routeLocalnet("a=b")))
                == #"sh -c 'echo "$1" > "$2"' sh 1 /proc/sys/net/ipv4/conf/a=b/route_localnet"#)
    }

    /// nft reads a trailing '*' in a name as a wildcard; the name is matched exactly.
    @Test func aTrailingStarIsEscaped() {
        #expect(NftText.interfaceName("g7*") == #""g7\*""#)
        #expect(NftText.interfaceName("a*b") == #""a*b""#)
        #expect(NftText.match(.outputInterface("eth0")) == #"oifname "eth0""#)
        #expect(NftText.match(.inputInterface("lan*")) == #"iifname "lan\*""#)
    }
}
