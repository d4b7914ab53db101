import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// RELATED connections inherit their master's uplink, in the lab (Support/Lab.swift): an FTP
/// data connection, which the kernel's FTP conntrack helper expects from the control
/// connection's "227 Entering Passive Mode" reply, leaves by the uplink of its control
/// connection and takes no balancing slot. The kernel copies the master's conntrack mark to
/// the expected connection; uplinkctl's `known` map then sends it the same way.
///
/// The helper is assigned by the test's own nft table in the host, as a user's firewall would
/// (the kernel no longer assigns helpers by port on its own). Fixtures/lab/ftp-server.py and
/// ftp-client.py speak just enough FTP for the helper.
@Suite(
    "RELATED connections in the lab", .serialized, .enabled(if: Namespaces.enabled, "needs root and network namespaces")
)
struct RelatedLabTests {
    static let userFirewall = """
        table inet userfw {
        \tct helper ftp-21 {
        \t\ttype "ftp" protocol tcp
        \t}
        \tchain prerouting {
        \t\ttype filter hook prerouting priority filter; policy accept;
        \t\ttcp dport 21 ct helper set "ftp-21"
        \t}
        \tchain output {
        \t\ttype filter hook output priority filter; policy accept;
        \t\ttcp dport 21 ct helper set "ftp-21"
        \t}
        }

        """

    @Test(
        "an FTP data connection takes its control connection's uplink",
        arguments: [Installation.apply, .nftScript, .iptablesScript])
    func ftpDataFollowsControl(way: Installation) throws {
        try Lab.with { lab in
            try lab.install(try Paths.read(Paths.examples.appendingPathComponent("lab.yaml")), by: way)
            try must(["ip", "netns", "exec", lab.host, "nft", "-f", "-"], input: Self.userFirewall)
            try lab.withFtpServer {
                var controls: [Int?] = []
                for client in [Lab.Client.host, .lan] {
                    let sessions = try must([
                        "ip", "netns", "exec", lab.namespace(client), Lab.python, Lab.script("ftp-client.py"),
                        Lab.serviceAddress, "4"
                    ]).split(separator: "\n").map(String.init)
                    try #require(sessions.count == 4, "\(client): \(sessions)")
                    for session in sessions {
                        let parts = session.split(separator: "|").map(String.init)
                        #expect(
                            parts.count == 2 && parts[0] == parts[1],
                            "\(client): control and data took different ways: \(session)")
                        controls.append(Lab.uplink(answer: parts[0]))
                    }
                }
                // Control connections alone take slots: data connections do not move the cycle.
                #expect(controls == [1, 2, 3, 1, 2, 3, 1, 2], "control connections took \(controls)")
            }
        }
    }
}
