/// How `uplinkctl run` tells whether an uplink works: its link state always, and with targets,
/// rounds of probes sent through it. A round fails when no target answers within `timeout`;
/// `down` failed rounds in a row take the uplink out, `up` good rounds in a row put it back.
public struct HealthCheck: Sendable, Hashable, Codable {
    public enum Method: String, Sendable, Hashable, Codable, CaseIterable {
        /// ICMP echo (ICMPv6 for IPv6 targets).
        case icmp
        /// A TCP connect to `port`; an answer of any kind (even a refusal) proves the path.
        case tcp
    }

    /// Addresses to probe through the uplink; none: only the link state counts.
    public var targets: [IPAddress]
    public var method: Method
    /// With `tcp`.
    public var port: UInt16?
    public var interval: Milliseconds
    public var timeout: Milliseconds
    public var down: Int
    public var up: Int

    /// Chosen so that a silent gateway is out in under a second, and 10% random loss is not
    /// taken for one. A round every 150 ms, each sending two probes to every target 50 ms apart
    /// (either answer counts): with 10% loss each way a round fails with about 3.6% chance, and
    /// four in a row about once in 1,500 minutes. A gateway that stops at t is out by
    /// t + 4 × 150 ms + 300 ms = t + 0.9 s; it is back after 3 good rounds, about 0.5 s.
    public static let defaults = HealthCheck(
        targets: [], method: .icmp, port: nil, interval: Milliseconds(150),
        timeout: Milliseconds(300), down: 4, up: 3)

    public init(
        targets: [IPAddress], method: Method, port: UInt16?, interval: Milliseconds, timeout: Milliseconds,
        down: Int, up: Int
    ) {
        self.targets = targets
        self.method = method
        self.port = port
        self.interval = interval
        self.timeout = timeout
        self.down = down
        self.up = up
    }

    /// The gap between a round's two probes to each target.
    public static let secondProbeDelay = Milliseconds(50)
}

/// A duration in whole milliseconds, written `200ms`, `1s` or `1.5s` in the config.
public struct Milliseconds: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public var description: String {
        value >= 1000 && value % 100 == 0
            ? "\(Double(value) / 1000)s".replacingOccurrences(of: ".0s", with: "s") : "\(value)ms"
    }

    public static func < (a: Milliseconds, b: Milliseconds) -> Bool { a.value < b.value }

    /// `200ms`, `1s`, `1.5s`; nil for anything else.
    public init?(text: String) {
        let scale: Double
        let number: Substring
        if text.hasSuffix("ms") {
            scale = 1
            number = text.dropLast(2)
        } else if text.hasSuffix("s") {
            scale = 1000
            number = text.dropLast()
        } else {
            return nil
        }
        guard let amount = Double(number), amount >= 0, number.allSatisfy({ $0.isNumber || $0 == "." }) else {
            return nil
        }
        let milliseconds = (amount * scale).rounded()
        guard milliseconds == amount * scale, milliseconds <= Double(UInt32.max) else { return nil }
        self.value = UInt32(milliseconds)
    }
}
