import CNetlink
import Testing

@testable import UplinkCore
@testable import UplinkKernel

/// RTA_MULTIPATH read back: whole and well-formed, or not at all (a route we cannot describe
/// is never one we change).
@Suite struct RouteMultipathTests {
    /// struct rtnexthop (len 8 + attribute, flags, hops = weight - 1, ifindex), then RTA_GATEWAY.
    static func hop(ifindex: UInt8, weight: UInt8, gateway: [UInt8]) -> [UInt8] {
        let attribute: [UInt8] = [8, 0, UInt8(RTA_GATEWAY.rawValue), 0] + gateway
        return [UInt8(8 + attribute.count), 0, 0, weight - 1, ifindex, 0, 0, 0] + attribute
    }

    static func device(_ index: UInt32) -> String { "if\(index)" }

    @Test func wellFormedHopsReadBackWithWeights() throws {
        let payload =
            Self.hop(ifindex: 2, weight: 3, gateway: [198, 18, 1, 1])
            + Self.hop(ifindex: 3, weight: 1, gateway: [198, 18, 2, 1])
        let hops = try #require(RouteMultipath.parse(payload, device: Self.device))
        #expect(
            hops == [
                Nexthop(gateway: IPAddress("198.18.1.1"), device: "if2", weight: 3),
                Nexthop(gateway: IPAddress("198.18.2.1"), device: "if3", weight: 1)
            ])
    }

    @Test func truncatedEmptyOrForeignHopsAreNotRead() {
        let good = Self.hop(ifindex: 2, weight: 1, gateway: [198, 18, 1, 1])
        #expect(RouteMultipath.parse([], device: Self.device) == nil)
        #expect(
            RouteMultipath.parse(good + Array(good.prefix(10)), device: Self.device) == nil, "a second hop cut short")
        var foreign = good
        foreign[10] = UInt8(RTA_FLOW.rawValue)  // an attribute we never write in a hop
        #expect(RouteMultipath.parse(foreign, device: Self.device) == nil)
    }
}
