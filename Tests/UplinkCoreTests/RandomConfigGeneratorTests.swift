import TestSupport
import Testing
import UplinkCore

/// The generator itself, without root: every seed's config parses, and the first few hundred
/// use every balance mode, family and section they are meant to.
@Suite("The random config generator")
struct RandomConfigGeneratorTests {
    @Test("every config of the first 1000 seeds parses without errors")
    func configsParse() {
        for seed in UInt64(1)...1000 {
            let random = RandomConfig.make(seed: seed)
            let parsed = ConfigParser.parse(random.yaml, file: "seed-\(seed).yaml")
            let errors = parsed.errors.map(\.description).joined(separator: "\n")
            #expect(parsed.errors.isEmpty, "seed \(seed):\n\(errors)\n\(random.yaml)")
        }
    }

    @Test("a seed makes the same config every time")
    func deterministic() {
        for seed in UInt64(1)...50 {
            #expect(RandomConfig.make(seed: seed).yaml == RandomConfig.make(seed: seed).yaml)
        }
    }

    @Test("300 configs cover every balance mode, family and section")
    func coverage() {
        var counts: [String: Int] = [:]
        for seed in UInt64(1)...300 {
            for feature in RandomConfig.make(seed: seed).features { counts[feature, default: 0] += 1 }
        }
        let wanted =
            BalanceMode.allCases.map { "balance:\($0.rawValue)" }
            + [
                "family:ipv4", "family:ipv6", "family:dual", "policies", "services", "health", "mptcp", "gateway:auto",
                "shared-interface", "mark-mask", "explicit-mark", "explicit-table", "ecmp-table", "rule-priority", "lab"
            ]
        for feature in wanted {
            #expect((counts[feature] ?? 0) >= 5, "\(feature): \(counts[feature] ?? 0) of 300 configs")
        }
    }
}
