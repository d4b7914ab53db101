import Foundation

/// How many random configs to try and from which seed (UPLINKCTL_PROVE_CONFIGS,
/// UPLINKCTL_PROVE_SEED), and where to write the report (UPLINKCTL_PROVE_REPORT_DIR).
struct ProveSettings {
    /// A small run for `make test` (about 80 s on 2 cores with the regression seeds);
    /// `make prove` asks for 300.
    static let defaultConfigs = 16
    static let defaultFirstSeed: UInt64 = 1

    let configs: Int
    let firstSeed: UInt64
    let reportDirectory: String?

    static func fromEnvironment() -> ProveSettings {
        let environment = ProcessInfo.processInfo.environment
        let directory = environment["UPLINKCTL_PROVE_REPORT_DIR"] ?? ""
        return ProveSettings(
            configs: environment["UPLINKCTL_PROVE_CONFIGS"].flatMap { Int($0) } ?? defaultConfigs,
            firstSeed: environment["UPLINKCTL_PROVE_SEED"].flatMap { UInt64($0) } ?? defaultFirstSeed,
            reportDirectory: directory.isEmpty ? nil : directory)
    }
}

/// `equivalence.json`: what a run of the random-config equivalence test tried and found.
struct EquivalenceReport: Codable {
    var configs = 0
    var firstSeed: UInt64
    var regressionSeeds: [UInt64]
    /// Configs whose three installations disagreed (or one of which failed).
    var mismatches = 0
    var mismatchedSeeds: [UInt64] = []
    /// Configs shaped to the lab, through which real connections were sent.
    var trafficSampled = 0
    var seconds = 0.0
    /// How many configs used each feature: `balance:nth`, `family:ipv6`, `policies`, `services`, `health`, `mptcp`, …
    var perFeature: [String: Int] = [:]

    func write(to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try encoder.encode(self).write(to: URL(fileURLWithPath: directory).appendingPathComponent("equivalence.json"))
    }
}
