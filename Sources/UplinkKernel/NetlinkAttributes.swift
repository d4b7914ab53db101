import CNetlink

/// The attributes of a netlink message after its fixed header, by type (the last one wins).
struct NetlinkAttributes {
    private var values: [UInt16: [UInt8]] = [:]

    init(_ header: UnsafePointer<nlmsghdr>, headerSize: Int) {
        withUnsafeMutablePointer(to: &values) { pointer in
            _ = mnl_attr_parse(
                header, UInt32(headerSize),
                { attribute, data in
                    let attribute = attribute!
                    let payload = UnsafeRawBufferPointer(
                        start: mnl_attr_get_payload(attribute), count: Int(mnl_attr_get_payload_len(attribute)))
                    data!.assumingMemoryBound(to: [UInt16: [UInt8]].self).pointee[mnl_attr_get_type(attribute)] = Array(
                        payload)
                    return MNL_CB_OK
                }, pointer)
        }
    }

    /// Attributes packed one after another in `bytes`: the payload of a nested attribute, or
    /// what follows a struct inside one (the RTA_GATEWAY after a struct rtnexthop).
    init(packed bytes: ArraySlice<UInt8>) {
        let packed = Array(bytes)
        var offset = 0
        // struct nlattr: u16 length (header included), u16 type, in host order; each padded to 4 bytes.
        while offset + 4 <= packed.count {
            let (length, type) = packed.withUnsafeBytes {
                (
                    Int($0.loadUnaligned(fromByteOffset: offset, as: UInt16.self)),
                    $0.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self)
                )
            }
            guard length >= 4, offset + length <= packed.count else { break }
            values[type & 0x3fff /* NLA_TYPE_MASK: without the nested and byte-order flags */] = Array(
                packed[(offset + 4)..<(offset + length)])
            offset += (length + 3) & ~3
        }
    }

    func bytes(_ type: Int32) -> [UInt8]? { values[UInt16(type)] }

    /// The attribute types present.
    var types: Set<UInt16> { Set(values.keys) }

    func u32(_ type: Int32) -> UInt32? {
        guard let bytes = bytes(type), bytes.count >= 4 else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    }

    func u16(_ type: Int32) -> UInt16? {
        guard let bytes = bytes(type), bytes.count >= 2 else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) }
    }

    func u8(_ type: Int32) -> UInt8? { bytes(type)?.first }

    func string(_ type: Int32) -> String? {
        bytes(type).map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

/// Appending attributes to a message under construction.
extension UnsafeMutablePointer where Pointee == nlmsghdr {
    func put(_ type: Int32, u32 value: UInt32) { mnl_attr_put_u32(self, UInt16(type), value) }
    func put(_ type: Int32, u16 value: UInt16) { mnl_attr_put_u16(self, UInt16(type), value) }
    func put(_ type: Int32, u8 value: UInt8) { mnl_attr_put_u8(self, UInt16(type), value) }
    func put(_ type: Int32, bytes: [UInt8]) {
        bytes.withUnsafeBytes { mnl_attr_put(self, UInt16(type), $0.count, $0.baseAddress) }
    }
    func put(_ type: Int32, string: String) { mnl_attr_put_strz(self, UInt16(type), string) }

    /// Opens a nested attribute; `endNest` closes it once its contents are in.
    func startNest(_ type: Int32) -> UnsafeMutablePointer<nlattr> { mnl_attr_nest_start(self, UInt16(type)) }
    func endNest(_ nest: UnsafeMutablePointer<nlattr>) { mnl_attr_nest_end(self, nest) }

    /// Reserves the fixed header that follows the netlink header.
    func putExtraHeader<T>(_ value: T) {
        let pointer = mnl_nlmsg_put_extra_header(self, MemoryLayout<T>.size)!
        pointer.assumingMemoryBound(to: T.self).pointee = value
    }
}
