import CNetlink
import Glibc
import UplinkCore

/// A socket that leaves by one uplink whatever the main table says: the uplink's mark
/// (SO_MARK, which its fwmark rule routes, and which the output chain lets pass unbalanced and
/// uncounted) and its interface (SO_BINDTODEVICE).
enum ProbeSocket {
    static let soMark: Int32 = 36

    /// A non-blocking, close-on-exec socket bound to `interface` (none: routed as the host's
    /// own, for a service's backend) and carrying `mark`.
    static func open(family: IPFamily, type: Int32, protocol proto: Int32, interface: String?, mark: UInt32) throws
        -> Int32
    {
        let descriptor = socket(
            family == .ipv4 ? AF_INET : AF_INET6, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            proto)
        guard descriptor >= 0 else { throw KernelRefusal(object: "probe socket", errno: errno, detail: nil) }
        var value = mark
        var ok = setsockopt(descriptor, SOL_SOCKET, soMark, &value, socklen_t(MemoryLayout<UInt32>.size)) == 0
        if let interface {
            ok =
                ok
                && interface.withCString { name in
                    setsockopt(descriptor, SOL_SOCKET, SO_BINDTODEVICE, name, socklen_t(strlen(name) + 1)) == 0
                }
        }
        guard ok else {
            let error = errno
            close(descriptor)
            throw KernelRefusal(object: "probe socket on \(interface ?? "no interface")", errno: error, detail: nil)
        }
        return descriptor
    }

    /// `address` (port `port`) as a sockaddr for `body`.
    static func withAddress<T>(
        _ address: IPAddress, port: UInt16 = 0, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T
    ) -> T {
        if address.family == .ipv4 {
            var storage = sockaddr_in()
            storage.sin_family = sa_family_t(AF_INET)
            storage.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage.sin_addr) { $0.copyBytes(from: address.bytes) }
            return asSockaddr(&storage, body)
        }
        var storage = sockaddr_in6()
        storage.sin6_family = sa_family_t(AF_INET6)
        storage.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &storage.sin6_addr) { $0.copyBytes(from: address.bytes) }
        return asSockaddr(&storage, body)
    }

    private static func asSockaddr<S, T>(_ storage: inout S, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<S>.size)) }
        }
    }
}

/// ICMP echo through one uplink, for one family: a raw socket (CAP_NET_RAW) that sees only
/// echo replies; requests carry an identifier of this socket and the round's sequence number.
final class EchoSocket {
    let descriptor: Int32
    let family: IPFamily
    let identifier: UInt16

    init(family: IPFamily, interface: String?, mark: UInt32, identifier: UInt16) throws {
        let proto = family == .ipv4 ? Int32(IPPROTO_ICMP) : Int32(IPPROTO_ICMPV6)
        descriptor = try ProbeSocket.open(
            family: family, type: Int32(SOCK_RAW.rawValue), protocol: proto, interface: interface, mark: mark)
        self.family = family
        self.identifier = identifier
        // Only echo replies: every other ICMP message is filtered in the kernel.
        if family == .ipv4 {
            var filter: UInt32 = ~(1 << 0)  // ICMP_FILTER: a set bit blocks that type; 0 is echo reply
            _ = setsockopt(
                descriptor, 255 /* SOL_RAW */, 1 /* ICMP_FILTER */, &filter, socklen_t(MemoryLayout<UInt32>.size))
        } else {
            var filter = [UInt32](repeating: .max, count: 8)  // struct icmp6_filter: a set bit blocks
            filter[129 >> 5] &= ~(1 << (129 & 31))
            _ = filter.withUnsafeBytes {
                setsockopt(
                    descriptor, Int32(IPPROTO_ICMPV6), 1 /* ICMP6_FILTER */, $0.baseAddress, socklen_t($0.count))
            }
        }
    }

    deinit { close(descriptor) }

    /// Sends an echo request; false when the kernel refused it (no route, no device).
    func send(to address: IPAddress, sequence: UInt16) -> Bool {
        var packet: [UInt8] = [
            family == .ipv4 ? 8 : 128, 0, 0, 0,
            UInt8(identifier >> 8), UInt8(identifier & 0xff), UInt8(sequence >> 8), UInt8(sequence & 0xff)
        ]
        packet += Array("uplinkctl".utf8)
        if family == .ipv4 {
            let sum = Self.checksum(packet)
            packet[2] = UInt8(sum >> 8)
            packet[3] = UInt8(sum & 0xff)
        }  // ICMPv6: the kernel fills the checksum in
        let sent = packet.withUnsafeBytes { bytes in
            ProbeSocket.withAddress(address) { sendto(descriptor, bytes.baseAddress, bytes.count, 0, $0, $1) }
        }
        return sent == packet.count
    }

    /// Every echo reply waiting for this socket, as (sequence, from).
    func replies() -> [(sequence: UInt16, from: IPAddress)] {
        var result: [(UInt16, IPAddress)] = []
        var buffer = [UInt8](repeating: 0, count: 1500)
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(descriptor, bytes.baseAddress, bytes.count, 0, $0, &length)
                    }
                }
            }
            guard count > 0 else { break }
            // IPv4 raw sockets deliver the IP header too; IPv6 ones start at the ICMPv6 header.
            let offset = family == .ipv4 ? Int(buffer[0] & 0x0f) * 4 : 0
            guard count >= offset + 8, buffer[offset] == (family == .ipv4 ? 0 : 129) else { continue }
            let identifier = UInt16(buffer[offset + 4]) << 8 | UInt16(buffer[offset + 5])
            guard identifier == self.identifier else { continue }
            let sequence = UInt16(buffer[offset + 6]) << 8 | UInt16(buffer[offset + 7])
            let from = Self.address(storage)
            if let from { result.append((sequence, from)) }
        }
        return result
    }

    static func address(_ storage: sockaddr_storage) -> IPAddress? {
        var copy = storage
        return withUnsafeBytes(of: &copy) { raw in
            if Int32(storage.ss_family) == AF_INET {
                return IPAddress(bytes: Array(raw[4..<8]))
            }
            return IPAddress(bytes: Array(raw[8..<24]))
        }
    }

    /// The Internet checksum (RFC 1071).
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
