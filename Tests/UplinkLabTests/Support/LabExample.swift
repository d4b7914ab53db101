import Foundation
import TestSupport
import Testing

@testable import UplinkCore

/// An example under examples/ (not examples/ansible) as a lab runs it: every gateway outside
/// the lab's ranges (198.18.0.0/15, 2001:2::/48) moved into 198.18.224.0/20, keeping its /24
/// apart from the others and its last byte; everything else as written. Seed recipes keep
/// their own addresses in the examples (192.168.1.1, 10.20.0.254), which a lab must not use.
struct LabExample: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let config: Config
    /// Each gateway moved: the example's address, the lab's.
    let moved: [String: String]

    var testDescription: String { "examples/\(name).yaml" }

    static let ranges = [IPPrefix("198.18.0.0/15")!, IPPrefix("2001:2::/48")!]
    static let movedNetworks = IPPrefix("198.18.224.0/20")!

    /// Every example, by name. Throws for one that does not parse, an IPv6 gateway outside
    /// 2001:2::/48 (none is), or gateways the moved networks cannot take.
    static func all() throws -> [LabExample] {
        let names = try FileManager.default.contentsOfDirectory(atPath: Paths.examples.path)
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
        let texts = try names.map {
            (name: $0, text: try Paths.read(Paths.examples.appendingPathComponent("\($0).yaml")))
        }
        let configs = try texts.map { try ConfigParser.parse($0.text, file: "examples/\($0.name).yaml").get() }
        let outside = Set(
            configs.flatMap { $0.uplinks.flatMap(\.gateways) }.filter { gateway in
                !ranges.contains { $0.contains(gateway) }
            })
        func refuse(_ why: String) -> Error { CommandFailed(command: "LabExample.all", status: 0, output: why) }
        if let foreign = outside.first(where: { $0.family == .ipv6 }) {
            throw refuse("IPv6 gateway \(foreign) is outside 2001:2::/48")
        }
        // One lab /24 per example /24, in sorted order, so that every example agrees.
        let networks = Set(outside.map { Array($0.bytes.prefix(3)) }).sorted { $0.lexicographicallyPrecedes($1) }
        guard networks.count <= 16 else { throw refuse("more example networks than 198.18.224.0/20 holds") }
        if configs.contains(where: { $0.uplinks.flatMap(\.gateways).contains { movedNetworks.contains($0) } }) {
            throw refuse("an example uses 198.18.224.0/20, where the lab moves the others")
        }
        return try zip(texts, configs).map { text, config in
            var moved: [String: String] = [:]
            for gateway in config.uplinks.flatMap(\.gateways) where outside.contains(gateway) {
                let index = networks.firstIndex(of: Array(gateway.bytes.prefix(3)))!
                moved[gateway.description] = "198.18.\(224 + index).\(gateway.bytes[3])"
            }
            let yaml = moved.reduce(text.text) { replacingAddress($0, $1.key, with: $1.value) }
            let adapted = try ConfigParser.parse(yaml, file: "examples/\(text.name).yaml").get()
            return LabExample(name: text.name, yaml: yaml, config: adapted, moved: moved)
        }
    }

    /// `address` replaced where it stands alone (not inside a longer address or number).
    static func replacingAddress(_ text: String, _ address: String, with replacement: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let found = rest.range(of: address) {
            let before = rest[..<found.lowerBound].last
            let after = rest[found.upperBound...].first
            let alone =
                !(before?.isNumber ?? false) && before != "." && !(after?.isNumber ?? false)
                && !(after == "." && rest[rest.index(after: found.upperBound)...].first?.isNumber == true)
            result += rest[..<found.lowerBound] + (alone ? replacement : address)
            rest = rest[found.upperBound...]
        }
        return result + rest
    }
}
