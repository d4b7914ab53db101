import CNetlink

@testable import UplinkKernel

/// One netlink message as the fake kernel sees it: the header's fields, and the attributes after
/// the family's fixed header.
struct FakeMessage: Equatable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var type: UInt16 { field(4) }
    var flags: UInt16 { field(6) }
    var sequence: UInt32 { field(8) }
    /// Everything after the netlink header.
    var payload: ArraySlice<UInt8> { bytes[16...] }

    func has(_ flag: Int32) -> Bool { flags & UInt16(flag) != 0 }

    /// The attributes after a fixed header of `size` bytes (struct rtmsg, nfgenmsg, ...).
    func attributes(after size: Int) -> NetlinkAttributes {
        NetlinkAttributes(packed: bytes[min(bytes.count, 16 + size)...])
    }

    /// A NUL-terminated string attribute.
    func string(_ type: UInt32, after size: Int) -> String? {
        attributes(after: size).bytes(Int32(type)).map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Attributes as they are packed, their types with the nested and byte-order flags.
    typealias Attribute = (type: UInt16, data: [UInt8])

    /// The attributes after a fixed header of `size` bytes, in order.
    func rawAttributes(after size: Int) -> [Attribute] {
        Self.unpack(Array(bytes[min(bytes.count, 16 + size)...]))
    }

    /// The same header and fixed header of `size` bytes, with `attributes` after them.
    func with(_ attributes: [Attribute], after size: Int) -> FakeMessage {
        var result = Array(bytes[..<(16 + size)]) + Self.pack(attributes)
        withUnsafeBytes(of: UInt32(result.count).littleEndian) { result.replaceSubrange(0..<4, with: $0) }
        return FakeMessage(result)
    }

    static func unpack(_ bytes: [UInt8]) -> [Attribute] {
        var result: [Attribute] = []
        var offset = 0
        while offset + 4 <= bytes.count {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            guard length >= 4, offset + length <= bytes.count else { break }
            let type = UInt16(bytes[offset + 2]) | UInt16(bytes[offset + 3]) << 8
            result.append((type, Array(bytes[(offset + 4)..<(offset + length)])))
            offset += (length + 3) & ~3
        }
        return result
    }

    static func pack(_ attributes: [Attribute]) -> [UInt8] {
        attributes.flatMap { attribute -> [UInt8] in
            let length = UInt16(4 + attribute.data.count)
            let header =
                withUnsafeBytes(of: length.littleEndian, Array.init)
                + withUnsafeBytes(of: attribute.type.littleEndian, Array.init)
            let padding = [UInt8](repeating: 0, count: (4 - attribute.data.count % 4) % 4)
            return header + attribute.data + padding
        }
    }

    /// The message as the kernel keeps it: without the flags, sequence number and port of the
    /// request that brought it (an object added again is the same object).
    var stored: FakeMessage {
        var copy = bytes
        copy.replaceSubrange(6..<16, with: [UInt8](repeating: 0, count: 10))
        return FakeMessage(copy)
    }

    /// The message as a reply of `type`: a dump answers with the objects it lists.
    func reply(_ type: UInt16) -> NetlinkMessage {
        var copy = bytes
        withUnsafeBytes(of: type.littleEndian) { copy.replaceSubrange(4..<6, with: $0) }
        copy.replaceSubrange(6..<8, with: [0, 0])
        return NetlinkMessage(type: type, flags: 0, bytes: copy)
    }

    /// A message built as the kernel edge builds its own.
    static func build(type: UInt16, _ fill: (UnsafeMutablePointer<nlmsghdr>) -> Void) -> FakeMessage {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let length: Int = buffer.withUnsafeMutableBytes { raw in
            let header = mnl_nlmsg_put_header(raw.baseAddress)!
            header.pointee.nlmsg_type = type
            fill(header)
            return Int(header.pointee.nlmsg_len)
        }
        return FakeMessage(Array(buffer[..<length]))
    }

    /// The messages packed one after another in `bytes` (a batch).
    static func split(_ bytes: [UInt8]) -> [FakeMessage] {
        var result: [FakeMessage] = []
        var offset = 0
        while offset + 16 <= bytes.count {
            let length = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) })
            guard length >= 16, offset + length <= bytes.count else { break }
            result.append(FakeMessage(Array(bytes[offset..<(offset + length)])))
            offset += (length + 3) & ~3
        }
        return result
    }

    private func field<T: FixedWidthInteger>(_ offset: Int) -> T {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }
}
