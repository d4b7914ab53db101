import Foundation

/// Figures for `make prove`: JSON files written into UPLINKCTL_PROVE_REPORT_DIR when it is set
/// (and nowhere otherwise). Parts that several tests fill (one row per test case) are kept
/// here and the file rewritten after each, so that it holds every case that ran.
final class ProveReport: @unchecked Sendable {
    static let directory = ProcessInfo.processInfo.environment["UPLINKCTL_PROVE_REPORT_DIR"]

    let name: String
    private let lock = NSLock()
    private var sections: [String: [[String: Any]]] = [:]

    init(_ name: String) {
        self.name = name
    }

    /// Adds a row to `section`, then rewrites the file; `summarize` gives the totals from
    /// every section so far.
    func add(
        _ row: [String: Any], to section: String,
        summarize: ([String: [[String: Any]]]) -> [String: Any] = { _ in [:] }
    ) throws {
        lock.lock()
        defer { lock.unlock() }
        sections[section, default: []].append(row)
        var value: [String: Any] = sections
        let totals = summarize(sections)
        if !totals.isEmpty { value["totals"] = totals }
        try write(value)
    }

    /// One whole report at once.
    func write(_ value: [String: Any]) throws {
        guard let directory = Self.directory else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: directory).appendingPathComponent(name), options: .atomic)
    }
}
