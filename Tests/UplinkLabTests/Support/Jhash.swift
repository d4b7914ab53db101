/// nftables' `jhash` expression, computed here to predict where `balance: hash` sends a pair of
/// addresses: the kernel's jhash() (Bob Jenkins' lookup3, include/linux/jhash.h) over the
/// expression's source registers, then scaled into [0, modulus) as nft_jhash_eval does
/// (reciprocal_scale: the high 32 bits of hash × modulus).
enum Jhash {
    static func slot(_ key: [UInt8], modulus: UInt32, seed: UInt32) -> UInt32 {
        UInt32((UInt64(hash(key, seed: seed)) * UInt64(modulus)) >> 32)
    }

    /// `jhash ip saddr . ip daddr mod N seed S`: the two addresses' bytes in network order.
    static func slot(source: String, destination: String, modulus: UInt32, seed: UInt32) -> UInt32 {
        slot(octets(source) + octets(destination), modulus: modulus, seed: seed)
    }

    static func hash(_ key: [UInt8], seed: UInt32) -> UInt32 {
        var a = 0xdead_beef &+ UInt32(key.count) &+ seed
        var b = a
        var c = a
        var k = key[...]
        func word(_ bytes: ArraySlice<UInt8>) -> UInt32 {
            bytes.enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * $1.offset) }
        }
        while k.count > 12 {
            a &+= word(k.prefix(4))
            b &+= word(k.dropFirst(4).prefix(4))
            c &+= word(k.dropFirst(8).prefix(4))
            mix(&a, &b, &c)
            k = k.dropFirst(12)
        }
        if k.isEmpty { return c }
        a &+= word(k.prefix(4))
        b &+= word(k.dropFirst(4).prefix(4))
        c &+= word(k.dropFirst(8).prefix(4))
        final(&a, &b, &c)
        return c
    }

    private static func rol(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }

    private static func mix(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        a &-= c
        a ^= rol(c, 4)
        c &+= b
        b &-= a
        b ^= rol(a, 6)
        a &+= c
        c &-= b
        c ^= rol(b, 8)
        b &+= a
        a &-= c
        a ^= rol(c, 16)
        c &+= b
        b &-= a
        b ^= rol(a, 19)
        a &+= c
        c &-= b
        c ^= rol(b, 4)
        b &+= a
    }

    private static func final(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        c ^= b
        c &-= rol(b, 14)
        a ^= c
        a &-= rol(c, 11)
        b ^= a
        b &-= rol(a, 25)
        c ^= b
        c &-= rol(b, 16)
        a ^= c
        a &-= rol(c, 4)
        b ^= a
        b &-= rol(a, 14)
        c ^= b
        c &-= rol(b, 24)
    }

    private static func octets(_ address: String) -> [UInt8] { address.split(separator: ".").map { UInt8($0)! } }
}
