import CNetlink
import Glibc
import UplinkCore

/// A route as the kernel holds it.
struct LiveRoute {
    let route: Route
    let protocolTag: UInt8
    /// Unicast: the only kind uplinkctl writes (others, such as `unreachable`, still occupy a table).
    let isUnicast: Bool
    /// Next hops read whole, and no source realm: what the model can say exactly. A tagged
    /// route that is not counts as foreign, so apply stops and names it instead of churning.
    let isDescribable: Bool
    var isOurs: Bool { protocolTag == Ownership.routeProtocol && isUnicast && isDescribable }
}

/// `ip route` over rtnetlink (RTM_*ROUTE with struct rtmsg and RTA_* attributes).
struct RouteNetlink {
    let socket: any NetlinkTransport
    /// Interface name → index in the socket's namespace.
    let interfaces: [String: UInt32]

    /// Every route of every table of the family.
    func dump(_ family: IPFamily) throws -> [LiveRoute] {
        let messages = try socket.request(
            object: "ip route list", type: UInt16(RTM_GETROUTE), flags: Int32(NLM_F_REQUEST | NLM_F_DUMP)
        ) { header in
            header.putExtraHeader(
                rtmsg(
                    rtm_family: UInt8(family.addressFamily), rtm_dst_len: 0, rtm_src_len: 0, rtm_tos: 0,
                    rtm_table: 0, rtm_protocol: 0, rtm_scope: 0, rtm_type: 0, rtm_flags: 0))
        }
        return messages.filter { $0.type == UInt16(RTM_NEWROUTE) }.compactMap { message in
            message.withHeader { header -> LiveRoute? in
                let fixed = UnsafeRawPointer(header).advanced(by: MemoryLayout<nlmsghdr>.size).loadUnaligned(
                    as: rtmsg.self)
                // A kernel without IPv6 answers an IPv6 dump with every family's routes.
                guard fixed.rtm_family == UInt8(family.addressFamily) else { return nil }
                let attributes = NetlinkAttributes(header, headerSize: MemoryLayout<rtmsg>.size)
                let destinationAddress =
                    attributes.bytes(Int32(RTA_DST.rawValue)).flatMap(IPAddress.init(bytes:)) ?? .zero(family)
                guard let destination = IPPrefix(address: destinationAddress, length: Int(fixed.rtm_dst_len)) else {
                    return nil
                }
                // A multipath attribute we cannot read whole leaves the route without next hops:
                // never one of ours, so never changed.
                let nexthops =
                    attributes.bytes(Int32(RTA_MULTIPATH.rawValue)).map {
                        RouteMultipath.parse($0, device: interfaceName) ?? []
                    }
                    ?? [
                        Nexthop(
                            gateway: attributes.bytes(Int32(RTA_GATEWAY.rawValue)).flatMap(IPAddress.init(bytes:)),
                            device: attributes.u32(Int32(RTA_OIF.rawValue)).map(interfaceName) ?? "")
                    ]
                // RTA_FLOW: the source realm in the high half, the destination realm (`realm N`) in the
                // low. We write the low half only; a source realm makes the route one we cannot describe.
                let flow = attributes.u32(Int32(RTA_FLOW.rawValue)) ?? 0
                let realm = UInt16(truncatingIfNeeded: flow) == 0 ? nil : UInt16(truncatingIfNeeded: flow)
                let route = Route(
                    table: attributes.u32(Int32(RTA_TABLE.rawValue)) ?? UInt32(fixed.rtm_table),
                    destination: destination, nexthops: nexthops, realm: realm)
                return LiveRoute(
                    route: route, protocolTag: fixed.rtm_protocol, isUnicast: fixed.rtm_type == UInt8(RTN_UNICAST),
                    isDescribable: !nexthops.isEmpty && flow >> 16 == 0)
            }
        }
    }

    func add(_ route: Route) throws {
        try change(route, type: RTM_NEWROUTE, flags: Int32(NLM_F_CREATE | NLM_F_EXCL), verb: .add)
    }
    /// Swaps the route with the same table and destination for this one, in place.
    func replace(_ route: Route) throws {
        try change(route, type: RTM_NEWROUTE, flags: Int32(NLM_F_CREATE | NLM_F_REPLACE), verb: .replace)
    }
    func delete(_ route: Route) throws { try change(route, type: RTM_DELROUTE, flags: 0, verb: .del) }

    private func change(_ route: Route, type: Int, flags: Int32, verb: IPCommands.Verb) throws {
        let object = shellCommand(IPCommands.route(route, verb))
        let indexes = try route.nexthops.map { nexthop in
            guard let index = interfaces[nexthop.device] else {
                throw KernelRefusal(object: object, errno: ENODEV, detail: "interface \(nexthop.device) does not exist")
            }
            return index
        }
        // A device-only single-path route reaches the link only; a multipath route keeps the
        // universe scope whatever its hops are, as `ip route` sends it.
        let linkScope = !route.isMultipath && route.nexthops[0].gateway == nil
        _ = try socket.request(
            object: object, type: UInt16(type), flags: Int32(NLM_F_REQUEST | NLM_F_ACK) | flags,
            changes: true
        ) { header in
            header.putExtraHeader(
                rtmsg(
                    rtm_family: UInt8(route.family.addressFamily), rtm_dst_len: UInt8(route.destination.length),
                    rtm_src_len: 0, rtm_tos: 0, rtm_table: UInt8(RT_TABLE_UNSPEC.rawValue),
                    rtm_protocol: Ownership.routeProtocol,
                    rtm_scope: UInt8(linkScope ? RT_SCOPE_LINK.rawValue : RT_SCOPE_UNIVERSE.rawValue),
                    rtm_type: UInt8(RTN_UNICAST), rtm_flags: 0))
            header.put(Int32(RTA_TABLE.rawValue), u32: route.table)
            if route.destination.length > 0 {
                header.put(Int32(RTA_DST.rawValue), bytes: route.destination.address.bytes)
            }
            if let realm = route.realm, route.family == .ipv4 {
                header.put(Int32(RTA_FLOW.rawValue), u32: UInt32(realm))
            }
            if route.isMultipath {
                RouteMultipath.put(route.nexthops, indexes: indexes, into: header)
            } else {
                if let gateway = route.nexthops[0].gateway {
                    header.put(Int32(RTA_GATEWAY.rawValue), bytes: gateway.bytes)
                }
                header.put(Int32(RTA_OIF.rawValue), u32: indexes[0])
            }
        }
    }

    /// The name of an interface index, or `#INDEX` if it is gone.
    private func interfaceName(_ index: UInt32) -> String {
        interfaces.first { $0.value == index }?.key ?? "#\(index)"
    }
}
