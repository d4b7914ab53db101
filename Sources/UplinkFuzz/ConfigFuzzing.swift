import Foundation
import UplinkCore

/// One input through everything a user's file meets without a kernel: reading and checking
/// (`ConfigSource.check`), then for a valid config what `check` prints, the plan with no facts
/// and with made-up ones, both dry-run scripts and the notices about other policy routing.
/// Besides crashes, a broken promise of the checker stops the fuzzer (`violated`).
enum ConfigFuzzing {
    static let file = "fuzz.yaml"

    static func run(_ data: Data) {
        // Not UTF-8: refused as a whole, as the command line does.
        guard let check = try? ConfigSource.check(data, file: file) else { return }
        checkDiagnostics(check, end: end(of: data))
        guard let config = try? check.get() else { return }
        let plain = Planner.plan(config)
        var output = CheckReport.lines(config, state: plain, file: file)
        for state in [plain, Planner.plan(config, facts: FuzzFacts.facts(for: config))] {
            for format in DryRunFormat.allCases { output.append(DryRun.script(state, format: format)) }
        }
        let notices = RoutingNotice.notices(
            config, foreignRules: FuzzFacts.foreignRules,
            defaultRoutes: FuzzFacts.defaultRoutes(for: config))
        output += notices.map(\.description)
        // Keeps the rendering from being optimised away.
        if output.contains(where: \.isEmpty) { violated("an empty line of output", data) }
    }

    /// What every reading promises: a config exactly when there is no error, and every finding
    /// placed inside the file, in file order.
    private static func checkDiagnostics(_ check: ConfigCheck, end: (line: Int, column: Int)) {
        let data = Data(check.diagnostics.map(\.description).joined(separator: "\n").utf8)
        if (check.config == nil) != !check.errors.isEmpty {
            violated("a config \(check.config == nil ? "refused without an error" : "kept despite errors")", data)
        }
        let locations = check.diagnostics.map(\.location)
        if locations != locations.sorted() { violated("diagnostics out of file order", data) }
        for location in locations
        where location.line < 1 || location.column < 1 || (location.line, location.column) > end {
            violated("a diagnostic at \(location), after the file's end at \(end.line):\(end.column)", data)
        }
    }

    /// The place just after the last character of UTF-8 text, counting line breaks as YAML does
    /// (\n, \r, \r\n, U+0085, U+2028, U+2029) and a character as a column.
    static func end(of text: Data) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for (index, byte) in text.enumerated() {
            let next = index + 1 < text.count ? text[text.startIndex + index + 1] : nil
            let third = index + 2 < text.count ? text[text.startIndex + index + 2] : nil
            if byte == 0x0a || (byte == 0x0d && next != 0x0a) || (byte == 0xc2 && next == 0x85)
                || (byte == 0xe2 && next == 0x80 && (third == 0xa8 || third == 0xa9))
            {
                line += 1
                column = 0
            }
            // One column per character: continuation bytes (10xxxxxx) and \r before \n count none.
            if byte & 0xc0 != 0x80 && !(byte == 0x0d && next == 0x0a) { column += 1 }
        }
        return (line, column)
    }

    /// A promise broken: say which, with what it is about, and stop so that libFuzzer keeps the input.
    static func violated(_ promise: String, _ data: Data) -> Never {
        let text = String(decoding: data.prefix(2000), as: UTF8.self)
        FileHandle.standardError.write(Data("uplinkctl fuzz: \(promise)\n\(text)\n".utf8))
        abort()
    }
}
