import CNetlink
import Glibc

@testable import UplinkCore
@testable import UplinkKernel

/// An errno the fake kernel answers with.
struct FakeRefusal: Error {
    let errno: Int32
}

/// rtnetlink as the fake kernel answers it: the interfaces and addresses the test gives, the
/// kernel's own default rules, and the rules and routes added through netlink, kept as the
/// messages that added them (a dump lists them back).
struct FakeRouting: Equatable {
    struct Link: Equatable {
        let name: String
        let index: Int32
        /// Each with its prefix length: "198.18.1.2/24".
        let addresses: [String]
    }

    let links: [Link]
    var rules: [FakeMessage] = []
    var routes: [FakeMessage] = []

    /// The same interfaces, rules and routes, in any order: the kernel sorts rules by priority
    /// (one added again goes last among its equals) and routes by prefix.
    static func == (a: FakeRouting, b: FakeRouting) -> Bool {
        func sorted(_ messages: [FakeMessage]) -> [[UInt8]] {
            messages.map(\.bytes).sorted { $0.lexicographicallyPrecedes($1) }
        }
        return a.links == b.links && sorted(a.rules) == sorted(b.rules) && sorted(a.routes) == sorted(b.routes)
    }

    static let ruleHeader = MemoryLayout<fib_rule_hdr>.size
    static let routeHeader = MemoryLayout<rtmsg>.size

    static func isRead(_ message: FakeMessage) -> Bool {
        // RTM_GET*: the third of each group of four.
        message.type >= UInt16(RTM_BASE) && message.type % 4 == 2
    }

    func read(_ message: FakeMessage) throws -> [NetlinkMessage] {
        let family = message.payload.first ?? 0
        switch Int(message.type) {
        case Int(RTM_GETLINK): return links.map(linkMessage)
        case Int(RTM_GETADDR): return links.flatMap(addressMessages)
        case Int(RTM_GETRULE):
            let listed = Self.defaultRules(family) + rules.filter { $0.payload.first == family }
            return listed.map { $0.reply(UInt16(RTM_NEWRULE)) }
        case Int(RTM_GETROUTE):
            return routes.filter { $0.payload.first == family }.map { $0.reply(UInt16(RTM_NEWROUTE)) }
        default: throw FakeRefusal(errno: EOPNOTSUPP)
        }
    }

    /// 0, or the errno of a refused change (then nothing changed).
    mutating func change(_ message: FakeMessage) -> Int32 {
        switch Int(message.type) {
        case Int(RTM_NEWRULE):
            if rules.contains(where: { $0.payload == message.payload }) && message.has(NLM_F_EXCL) { return EEXIST }
            rules.append(message.stored)
        case Int(RTM_DELRULE):
            guard let index = rules.firstIndex(where: { $0.payload == message.payload }) else { return ENOENT }
            rules.remove(at: index)
        case Int(RTM_NEWROUTE):
            let indexes = Set(links.map(\.index))
            guard interfaces(of: message).allSatisfy(indexes.contains) else { return ENODEV }
            if let index = routes.firstIndex(where: { Self.key($0) == Self.key(message) }) {
                if message.has(NLM_F_EXCL) || !message.has(NLM_F_REPLACE) { return EEXIST }
                routes[index] = message.stored
            } else {
                routes.append(message.stored)
            }
        case Int(RTM_DELROUTE):
            guard let index = routes.firstIndex(where: { Self.key($0) == Self.key(message) }) else { return ESRCH }
            routes.remove(at: index)
        default:
            return EOPNOTSUPP
        }
        return 0
    }

    /// What tells routes apart: family, table, destination and its length.
    private static func key(_ route: FakeMessage) -> [UInt8] {
        let attributes = route.attributes(after: routeHeader)
        return Array(route.payload.prefix(2)) + (attributes.bytes(Int32(RTA_TABLE.rawValue)) ?? [])
            + (attributes.bytes(Int32(RTA_DST.rawValue)) ?? [])
    }

    /// The interface indexes a route leaves by: RTA_OIF, or each next hop's (struct rtnexthop:
    /// u16 length, u8 flags, u8 hops, s32 interface index).
    private func interfaces(of route: FakeMessage) -> [Int32] {
        let attributes = route.attributes(after: Self.routeHeader)
        if let output = attributes.u32(Int32(RTA_OIF.rawValue)) { return [Int32(bitPattern: output)] }
        guard let hops = attributes.bytes(Int32(RTA_MULTIPATH.rawValue)) else { return [] }
        var result: [Int32] = []
        var offset = 0
        while offset + 8 <= hops.count {
            let length = Int(hops.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self) })
            let index = hops.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: Int32.self) }
            result.append(index)
            offset += max(8, (length + 3) & ~3)
        }
        return result
    }

    private func linkMessage(_ link: Link) -> NetlinkMessage {
        FakeMessage.build(type: UInt16(RTM_NEWLINK)) { header in
            var info = ifinfomsg()
            info.ifi_index = link.index
            info.ifi_flags = UInt32(IFF_UP | IFF_RUNNING) | 0x10000 /* IFF_LOWER_UP */
            header.putExtraHeader(info)
            header.put(Int32(IFLA_IFNAME), string: link.name)
        }.reply(UInt16(RTM_NEWLINK))
    }

    private func addressMessages(_ link: Link) -> [NetlinkMessage] {
        link.addresses.map { text in
            let parts = text.split(separator: "/")
            let address = IPAddress(String(parts[0]))!
            return FakeMessage.build(type: UInt16(RTM_NEWADDR)) { header in
                header.putExtraHeader(
                    ifaddrmsg(
                        ifa_family: UInt8(address.family.addressFamily),
                        ifa_prefixlen: UInt8(parts[1])!, ifa_flags: 0, ifa_scope: 0,
                        ifa_index: UInt32(link.index)))
                header.put(Int32(IFA_ADDRESS), bytes: address.bytes)
                if address.family == .ipv4 { header.put(Int32(IFA_LOCAL), bytes: address.bytes) }
            }.reply(UInt16(RTM_NEWADDR))
        }
    }

    /// The rules every namespace starts with: lookup local, main and (IPv4) default.
    private static func defaultRules(_ family: UInt8) -> [FakeMessage] {
        let tables: [(priority: UInt32, table: UInt32)] =
            family == UInt8(AF_INET)
            ? [(0, 255), (32766, 254), (32767, 253)] : [(0, 255), (32766, 254)]
        return tables.map { rule in
            FakeMessage.build(type: UInt16(RTM_NEWRULE)) { header in
                header.putExtraHeader(
                    fib_rule_hdr(
                        family: family, dst_len: 0, src_len: 0, tos: 0,
                        table: UInt8(rule.table), res1: 0, res2: 0,
                        action: UInt8(FR_ACT_TO_TBL), flags: 0))
                header.put(Int32(FRA_TABLE), u32: rule.table)
                if rule.priority != 0 { header.put(Int32(FRA_PRIORITY), u32: rule.priority) }
                header.put(Int32(FRA_PROTOCOL), u8: 2 /* RTPROT_KERNEL */)
            }
        }
    }
}
