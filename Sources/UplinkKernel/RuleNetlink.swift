import CNetlink
import Glibc
import UplinkCore

/// An ip rule as the kernel holds it, with what tells ours from foreign ones.
struct LiveRule {
    let rule: RoutingRule
    let protocolTag: UInt8
    var isOurs: Bool { protocolTag == Ownership.routeProtocol }
}

/// `ip rule` over rtnetlink (RTM_*RULE with struct fib_rule_hdr and FRA_* attributes).
struct RuleNetlink {
    let socket: NetlinkSocket

    func dump(_ family: IPFamily) throws -> [LiveRule] {
        let messages = try socket.request(object: "ip rule list", type: UInt16(RTM_GETRULE), flags: Int32(NLM_F_REQUEST | NLM_F_DUMP)) { header in
            header.putExtraHeader(fib_rule_hdr(family: UInt8(family.addressFamily), dst_len: 0, src_len: 0, tos: 0, table: 0, res1: 0, res2: 0, action: 0, flags: 0))
        }
        return messages.filter { $0.type == UInt16(RTM_NEWRULE) }.compactMap { message in
            message.withHeader { header -> LiveRule? in
                let fixed = UnsafeRawPointer(header).advanced(by: MemoryLayout<nlmsghdr>.size).loadUnaligned(as: fib_rule_hdr.self)
                // Only plain "lookup" rules without address selectors can be ours.
                guard fixed.action == UInt8(FR_ACT_TO_TBL) else { return nil }
                let attributes = NetlinkAttributes(header, headerSize: MemoryLayout<fib_rule_hdr>.size)
                let mark = attributes.u32(Int32(FRA_FWMARK))
                let mask = attributes.u32(Int32(FRA_FWMASK))
                let suppress = attributes.u32(Int32(FRA_SUPPRESS_PREFIXLEN)).flatMap { $0 == UInt32.max ? nil : Int($0) }
                let rule = RoutingRule(
                    family: family,
                    priority: attributes.u32(Int32(FRA_PRIORITY)) ?? 0,
                    // A zero mark is left out of the dump; only its mask comes back.
                    fwmark: mark == nil && mask == nil ? nil : MarkedBits(value: (mark ?? 0) & (mask ?? .max), mask: mask ?? .max),
                    inverted: fixed.flags & UInt32(FIB_RULE_INVERT) != 0,
                    table: attributes.u32(Int32(FRA_TABLE)) ?? UInt32(fixed.table),
                    suppressPrefixLength: suppress)
                return LiveRule(rule: rule, protocolTag: attributes.u8(Int32(FRA_PROTOCOL)) ?? 0)
            }
        }
    }

    func add(_ rule: RoutingRule) throws { try change(rule, type: RTM_NEWRULE, flags: Int32(NLM_F_CREATE | NLM_F_EXCL), verb: .add) }
    func delete(_ rule: RoutingRule) throws { try change(rule, type: RTM_DELRULE, flags: 0, verb: .del) }

    private func change(_ rule: RoutingRule, type: Int, flags: Int32, verb: IPCommands.Verb) throws {
        let object = shellCommand(IPCommands.rule(rule, verb))
        _ = try socket.request(object: object, type: UInt16(type), flags: Int32(NLM_F_REQUEST | NLM_F_ACK) | flags) { header in
            header.putExtraHeader(fib_rule_hdr(family: UInt8(rule.family.addressFamily), dst_len: 0, src_len: 0, tos: 0,
                                               table: rule.table < 256 ? UInt8(rule.table) : UInt8(RT_TABLE_UNSPEC.rawValue),
                                               res1: 0, res2: 0, action: UInt8(FR_ACT_TO_TBL),
                                               flags: rule.inverted ? UInt32(FIB_RULE_INVERT) : 0))
            header.put(Int32(FRA_PRIORITY), u32: rule.priority)
            header.put(Int32(FRA_TABLE), u32: rule.table)
            header.put(Int32(FRA_PROTOCOL), u8: Ownership.routeProtocol)
            if let fwmark = rule.fwmark {
                header.put(Int32(FRA_FWMARK), u32: fwmark.value)
                header.put(Int32(FRA_FWMASK), u32: fwmark.mask)
            }
            if let length = rule.suppressPrefixLength {
                header.put(Int32(FRA_SUPPRESS_PREFIXLEN), u32: UInt32(length))
            }
        }
    }
}
