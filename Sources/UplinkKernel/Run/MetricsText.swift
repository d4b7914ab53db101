import Prometheus
import UplinkCore

/// `run`'s metrics in the Prometheus text format: per uplink whether it is in the rotation, its
/// last round trip, its loss over the recent rounds, its transitions, its new connections (our
/// counter) and its bytes (the interface's statistics); per service backend whether it is in
/// the rotation and its new connections. Kernel totals are carried into
/// Prometheus counters by their increase, so that rate() works and a re-apply (counters back
/// to zero) is a reset.
final class MetricsText {
    private let registry = PrometheusCollectorRegistry()
    private var last: [String: Double] = [:]

    func render(
        config: Config, health: [String: UplinkHealth], backends: [String: UplinkHealth] = [:],
        counters: [String: (packets: UInt64, bytes: UInt64)], links: [String: InterfaceState]
    ) -> String {
        for uplink in config.uplinks {
            let labels = [("uplink", uplink.name), ("interface", uplink.interface)]
            let state = health[uplink.name]
            gauge("uplinkctl_uplink_up", "1 while the uplink is in the rotation, 0 while it is out", labels)
                .set(to: state?.inRotation == false ? 0 : 1)
            gauge("uplinkctl_uplink_rtt_seconds", "Round trip of the last answered probe", labels)
                .set(to: (state?.lastRTT ?? 0) / 1000)
            gauge(
                "uplinkctl_uplink_loss_ratio",
                "Share of the last \(UplinkHealth.window) probe rounds that went unanswered", labels
            )
            .set(to: state?.loss ?? 0)
            advance(
                "uplinkctl_uplink_transitions_total", "Times the uplink left or rejoined the rotation", labels,
                to: Double(state?.transitions ?? 0))
            let planned = "conns-\(uplink.name)"
            advance(
                "uplinkctl_uplink_new_connections_total", "New connections balanced onto the uplink", labels,
                to: Double(counters[planned]?.packets ?? 0))
            let link = links[uplink.interface]
            advance(
                "uplinkctl_uplink_received_bytes_total", "Bytes received on the uplink's interface", labels,
                to: Double(link?.received.bytes ?? 0))
            advance(
                "uplinkctl_uplink_sent_bytes_total", "Bytes sent on the uplink's interface", labels,
                to: Double(link?.sent.bytes ?? 0))
        }
        for service in config.services {
            for index in service.backends.indices {
                let name = service.backendName(index)
                let labels = [
                    ("service", service.name), ("backend", name), ("target", service.backends[index].description)
                ]
                gauge(
                    "uplinkctl_backend_up", "1 while the service backend is in the rotation, 0 while it is out", labels
                )
                .set(to: backends[name]?.inRotation == false ? 0 : 1)
                advance(
                    "uplinkctl_backend_new_connections_total", "New connections sent to the service backend", labels,
                    to: Double(counters[service.counterName(index)]?.packets ?? 0))
            }
        }
        advance(
            "uplinkctl_left_alone_total", "New connections left alone: their route leaves by another interface", [],
            to: Double(counters[Ownership.leftAloneCounter]?.packets ?? 0))
        return registry.emitToString()
    }

    /// The whole name as written (no unit suffix added to it).
    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private func gauge(_ name: String, _ help: String, _ labels: [(String, String)]) -> Gauge {
        registry.makeGauge(descriptor: Self.descriptor(name, help), labels: labels)
    }

    /// Raises the counter to `value`; a value below the last one (the kernel's counter was
    /// recreated) counts from zero again.
    private func advance(_ name: String, _ help: String, _ labels: [(String, String)], to value: Double) {
        let key = name + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        let previous = last[key] ?? 0
        let increase = value >= previous ? value - previous : value
        last[key] = value
        let counter = registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
        if increase > 0 { counter.increment(by: increase) }
    }
}
