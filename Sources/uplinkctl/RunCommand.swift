import ArgumentParser
import Logging
import UplinkCore
import UplinkKernel

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Apply the config, then keep the balancing on the uplinks that work.",
        discussion: """
            Installs the config as apply does, then reacts to link events (carrier, interfaces and \
            addresses coming and going), route events and health probes: a dead uplink's slots go to \
            the others and its connections are flushed; it gets them back once it answers again. \
            One log line per event on standard error. SIGHUP re-reads the config (an invalid one is \
            logged and the running state kept); SIGTERM and SIGINT end it within a second, every \
            uplink back in (or everything removed, with --flush-on-exit). While it runs, apply and \
            flush on its namespace refuse; diff and status work.
            """
    )

    @OptionGroup var config: ConfigArgument
    @OptionGroup var kernelOptions: KernelOptions

    @Flag(help: "Remove everything uplinkctl installed when stopped.")
    var flushOnExit = false

    @Option(
        help: ArgumentHelp(
            "Keep a reload (SIGHUP) only if `uplinkctl confirm` comes within SECONDS; "
                + "otherwise go back to the previous config.",
            valueName: "seconds"))
    var confirmReload: Int?

    @Option(
        help: ArgumentHelp(
            "Serve Prometheus metrics at http://HOST:PORT/metrics (off by default).", valueName: "host:port"))
    var metrics: String?

    func validate() throws {
        if let confirmReload, !(1...86_400).contains(confirmReload) {
            throw ValidationError("--confirm-reload takes 1 to 86400 seconds, such as --confirm-reload 60")
        }
        if let metrics, Self.endpoint(metrics) == nil {
            throw ValidationError("--metrics must be HOST:PORT, such as 127.0.0.1:9520 or [::1]:9520")
        }
    }

    static func endpoint(_ text: String) -> (host: String, port: UInt16)? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return IPAddress(host) == nil ? nil : (host, port)
    }

    func run() throws {
        let loaded = try config.load()
        let reconciler = try kernelOptions.open(pending: .refuse)
        let logger = Logger(label: "uplinkctl") { _ in LineLogHandler() }
        let path = config.path
        let supervisor: Supervisor
        do {
            supervisor = try Supervisor(
                reconciler: reconciler, config: loaded,
                options: .init(
                    configPath: path, flushOnExit: flushOnExit,
                    metrics: metrics.flatMap(Self.endpoint),
                    confirmReload: confirmReload),
                logger: logger, load: { ConfigSource.reload(path) })
        } catch {
            printError("uplinkctl: \(error)")
            throw ExitStatus.kernelRefused
        }
        let status = supervisor.run()
        if status != 0 { throw ExitCode(status) }
    }
}
