import CNetlink
import Glibc
import UplinkCore

/// An ip rule as the kernel holds it, with what tells ours from foreign ones. `rule` is what
/// the model can say of it; `isPlain` is false for a rule with selectors or an action
/// uplinkctl never writes. `message` is the rule as dumped, which deletes (or recreates) it
/// exactly.
struct LiveRule {
    let rule: RoutingRule
    /// Every selector and the action, for a rule of another program (nil for ours).
    let foreign: ForeignRule?
    let isPlain: Bool
    let protocolTag: UInt8
    let message: [UInt8]
    var isOurs: Bool { protocolTag == Ownership.routeProtocol }
}

/// `ip rule` over rtnetlink (RTM_*RULE with struct fib_rule_hdr and FRA_* attributes).
struct RuleNetlink {
    let socket: any NetlinkTransport

    func dump(_ family: IPFamily) throws -> [LiveRule] {
        let messages = try socket.request(
            object: "ip rule list", type: UInt16(RTM_GETRULE), flags: Int32(NLM_F_REQUEST | NLM_F_DUMP)
        ) { header in
            header.putExtraHeader(
                fib_rule_hdr(
                    family: UInt8(family.addressFamily), dst_len: 0, src_len: 0, tos: 0, table: 0, res1: 0, res2: 0,
                    action: 0, flags: 0))
        }
        return messages.filter { $0.type == UInt16(RTM_NEWRULE) }.compactMap { message in
            message.withHeader { header -> LiveRule? in
                let fixed = UnsafeRawPointer(header).advanced(by: MemoryLayout<nlmsghdr>.size).loadUnaligned(
                    as: fib_rule_hdr.self)
                guard fixed.family == UInt8(family.addressFamily) else { return nil }
                let attributes = NetlinkAttributes(header, headerSize: MemoryLayout<fib_rule_hdr>.size)
                let priority = attributes.u32(Int32(FRA_PRIORITY)) ?? 0
                let tag = attributes.u8(Int32(FRA_PROTOCOL)) ?? 0
                // uplinkctl writes plain lookups by mark or by source: anything more is another kind of rule.
                let sourceBytes = attributes.bytes(Int32(FRA_SRC))
                let source = sourceBytes.flatMap(IPAddress.init(bytes:)).flatMap {
                    IPPrefix(address: $0, length: Int(fixed.src_len))
                }
                // `from 10.0.0.5/24` (host bits set) is not a prefix we could write or delete by.
                let exactSource = source.map { $0.address.bytes == sourceBytes } ?? false
                let plain =
                    fixed.action == UInt8(FR_ACT_TO_TBL) && (fixed.src_len == 0 || exactSource) && fixed.dst_len == 0
                    && fixed.tos == 0
                    && attributes.types.isSubset(of: Self.plainAttributes)
                let mark = attributes.u32(Int32(FRA_FWMARK))
                let mask = attributes.u32(Int32(FRA_FWMASK))
                let suppress = attributes.u32(Int32(FRA_SUPPRESS_PREFIXLEN)).flatMap {
                    $0 == UInt32.max ? nil : Int($0)
                }
                let rule = RoutingRule(
                    family: family,
                    priority: priority,
                    // A zero mark is left out of the dump; only its mask comes back.
                    fwmark: mark == nil && mask == nil
                        ? nil : MarkedBits(value: (mark ?? 0) & (mask ?? .max), mask: mask ?? .max),
                    source: source,
                    inverted: fixed.flags & UInt32(FIB_RULE_INVERT) != 0,
                    table: attributes.u32(Int32(FRA_TABLE)) ?? UInt32(fixed.table),
                    suppressPrefixLength: suppress)
                let foreign = tag == Ownership.routeProtocol ? nil : Self.foreignRule(rule, fixed, attributes)
                return LiveRule(rule: rule, foreign: foreign, isPlain: plain, protocolTag: tag, message: message.bytes)
            }
        }
    }

    /// A rule as `ip rule show` describes it (iproute2's print_rule, in its order); `rule` is
    /// what the model already read of it (priority, mark, inversion, table, suppression).
    static func foreignRule(_ rule: RoutingRule, _ fixed: fib_rule_hdr, _ attributes: NetlinkAttributes) -> ForeignRule
    {
        let family = rule.family
        func prefix(_ type: Int32, _ length: UInt8) -> String? {
            guard let bytes = attributes.bytes(type), let address = IPAddress(bytes: bytes) else { return nil }
            return length == family.bitCount ? address.description : "\(address)/\(length)"
        }
        func range(_ type: Int32, _ size: Int) -> String? {
            guard let bytes = attributes.bytes(type), bytes.count == 2 * size else { return nil }
            // struct fib_rule_uid_range (two u32) or fib_rule_port_range (two u16), host order.
            let (low, high) = bytes.withUnsafeBytes { raw in
                size == 4
                    ? (
                        UInt64(raw.loadUnaligned(as: UInt32.self)),
                        UInt64(raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                    )
                    : (
                        UInt64(raw.loadUnaligned(as: UInt16.self)),
                        UInt64(raw.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
                    )
            }
            return low == high && size == 2 ? String(low) : "\(low)-\(high)"
        }
        var selectors = ["from " + (prefix(Int32(FRA_SRC), fixed.src_len) ?? "all")]
        if let destination = prefix(Int32(FRA_DST), fixed.dst_len) { selectors.append("to \(destination)") }
        if fixed.tos != 0 { selectors.append("tos \(hex(UInt32(fixed.tos)))") }
        if let bits = rule.fwmark {
            // C's %#x, as ip prints them: 0 without its 0x.
            func c(_ value: UInt32) -> String { value == 0 ? "0" : hex(value) }
            selectors.append(bits.mask == .max ? "fwmark \(c(bits.value))" : "fwmark \(c(bits.value))/\(c(bits.mask))")
        }
        // An interface that does not exist (yet) leaves the rule detached, and ip says so.
        func detached(_ flag: Int32) -> String { fixed.flags & UInt32(flag) != 0 ? " [detached]" : "" }
        let input = attributes.string(Int32(FRA_IIFNAME))
        if let input { selectors.append("iif \(input)\(detached(FIB_RULE_IIF_DETACHED))") }
        if let output = attributes.string(Int32(FRA_OIFNAME)) {
            selectors.append("oif \(output)\(detached(FIB_RULE_OIF_DETACHED))")
        }
        if attributes.u8(Int32(FRA_L3MDEV)) == 1 { selectors.append("l3mdev") }
        if let users = range(Int32(FRA_UID_RANGE), 4) { selectors.append("uidrange \(users)") }
        let proto = attributes.u8(Int32(FRA_IP_PROTO))
        if let proto { selectors.append("ipproto \(IPProtocolNumber.name(proto) ?? String(proto))") }
        let sourcePorts = range(Int32(FRA_SPORT_RANGE), 2)
        let destinationPorts = range(Int32(FRA_DPORT_RANGE), 2)
        if let sourcePorts { selectors.append("sport \(sourcePorts)") }
        if let destinationPorts { selectors.append("dport \(destinationPorts)") }
        let action: ForeignRule.Action
        switch Int(fixed.action) {
        case Int(FR_ACT_TO_TBL): action = .lookup(rule.table)
        case Int(FR_ACT_GOTO): action = .other("goto \(attributes.u32(Int32(FRA_GOTO)).map(String.init) ?? "none")")
        case Int(FR_ACT_NOP): action = .other("nop")
        case Int(FR_ACT_BLACKHOLE): action = .other("blackhole")
        case Int(FR_ACT_UNREACHABLE): action = .other("unreachable")
        case Int(FR_ACT_PROHIBIT): action = .other("prohibit")
        default: action = .other("action \(fixed.action)")
        }
        return ForeignRule(
            family: family, priority: rule.priority, inverted: rule.inverted, fwmark: rule.fwmark,
            inputInterface: input, transportProtocol: proto,
            matchesPorts: sourcePorts != nil || destinationPorts != nil,
            selectors: selectors, action: action, suppressPrefixLength: rule.suppressPrefixLength)
    }

    static let plainAttributes: Set<UInt16> = Set(
        [FRA_PRIORITY, FRA_TABLE, FRA_FWMARK, FRA_FWMASK, FRA_SRC, FRA_SUPPRESS_PREFIXLEN, FRA_PROTOCOL].map {
            UInt16($0)
        })

    /// Deletes (or recreates) a rule exactly as it was dumped: every selector it has.
    func resend(_ message: [UInt8], type: Int, flags: Int32, object: String) throws {
        _ = try socket.request(
            object: object, type: UInt16(type), flags: Int32(NLM_F_REQUEST | NLM_F_ACK) | flags,
            changes: true
        ) { header in
            let payload = message.dropFirst(MemoryLayout<nlmsghdr>.size)
            let length = MemoryLayout<nlmsghdr>.size + payload.count
            payload.withUnsafeBytes { bytes in
                UnsafeMutableRawPointer(header).advanced(by: MemoryLayout<nlmsghdr>.size).copyMemory(
                    from: bytes.baseAddress!, byteCount: bytes.count)
            }
            header.pointee.nlmsg_len = UInt32(length)
        }
    }

    func add(_ rule: RoutingRule) throws {
        try change(rule, type: RTM_NEWRULE, flags: Int32(NLM_F_CREATE | NLM_F_EXCL), verb: .add)
    }
    func delete(_ rule: RoutingRule) throws { try change(rule, type: RTM_DELRULE, flags: 0, verb: .del) }

    private func change(_ rule: RoutingRule, type: Int, flags: Int32, verb: IPCommands.Verb) throws {
        let object = shellCommand(IPCommands.rule(rule, verb))
        _ = try socket.request(
            object: object, type: UInt16(type), flags: Int32(NLM_F_REQUEST | NLM_F_ACK) | flags,
            changes: true
        ) { header in
            header.putExtraHeader(
                fib_rule_hdr(
                    family: UInt8(rule.family.addressFamily), dst_len: 0,
                    src_len: UInt8(rule.source?.length ?? 0), tos: 0,
                    table: rule.table < 256 ? UInt8(rule.table) : UInt8(RT_TABLE_UNSPEC.rawValue),
                    res1: 0, res2: 0, action: UInt8(FR_ACT_TO_TBL),
                    flags: rule.inverted ? UInt32(FIB_RULE_INVERT) : 0))
            header.put(Int32(FRA_PRIORITY), u32: rule.priority)
            header.put(Int32(FRA_TABLE), u32: rule.table)
            header.put(Int32(FRA_PROTOCOL), u8: Ownership.routeProtocol)
            if let source = rule.source { header.put(Int32(FRA_SRC), bytes: source.address.bytes) }
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
