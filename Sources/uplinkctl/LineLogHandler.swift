import Foundation
import Logging

/// `run`'s log: one line per event on standard error, `TIME LEVEL: MESSAGE`, which a terminal
/// and journald (which adds its own time) both keep readable.
struct LineLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let time = Date().formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: true).timeSeparator(.colon))
        FileHandle.standardError.write(Data("\(time) \(event.level): \(event.message)\n".utf8))
    }
}
