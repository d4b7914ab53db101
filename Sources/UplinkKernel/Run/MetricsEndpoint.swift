import CNetlink
import Glibc
import UplinkCore

/// A minimal HTTP endpoint for `GET /metrics`, served from `run`'s loop: one listening
/// socket, each client answered once and closed. Off unless `--metrics HOST:PORT` asks for it.
/// It never stalls the loop: at most `maxClients` at a time, each given `clientSeconds` to send
/// its request; while full (or out of descriptors) the listener is not polled.
final class MetricsEndpoint {
    private struct Client {
        var request: [UInt8] = []
        let deadline: Double
    }

    private static let maxClients = 16
    private static let clientSeconds = 5.0
    private static let requestLimit = 8192
    private let listener: Int32
    private var clients: [Int32: Client] = [:]
    /// After accept failed for want of descriptors: when to try again.
    private var pausedUntil: Double?

    init(host: String, port: UInt16) throws {
        guard let address = IPAddress(host) else {
            throw KernelRefusal(object: "--metrics \(host):\(port)", errno: EINVAL, detail: "not an address")
        }
        listener = socket(
            address.family == .ipv4 ? AF_INET : AF_INET6,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw KernelRefusal(object: "metrics socket", errno: errno, detail: nil) }
        var on: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound = ProbeSocket.withAddress(address, port: port) { bind(listener, $0, $1) }
        guard bound == 0, listen(listener, 16) == 0 else {
            let error = errno
            close(listener)
            throw KernelRefusal(object: "metrics endpoint \(host):\(port)", errno: error, detail: nil)
        }
    }

    deinit {
        close(listener)
        clients.keys.forEach { close($0) }
    }

    func descriptors(now: Double) -> [pollfd] {
        let accepting = clients.count < Self.maxClients && (pausedUntil ?? 0) <= now
        let listening = accepting ? [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)] : []
        return listening + clients.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    }

    /// When the loop must wake to drop a silent client or to accept again.
    var nextDeadline: Double? {
        (clients.values.map(\.deadline) + [pausedUntil].compactMap { $0 }).min()
    }

    /// Drops clients whose time is up.
    func expire(now: Double) {
        for (descriptor, client) in clients where client.deadline <= now {
            close(descriptor)
            clients[descriptor] = nil
        }
        if let until = pausedUntil, until <= now { pausedUntil = nil }
    }

    /// Accepts clients, or reads one's request and answers it once complete (`body` renders the metrics).
    func ready(_ descriptor: Int32, now: Double, body: () -> String) {
        if descriptor == listener {
            accept(now: now)
            return
        }
        guard var client = clients[descriptor] else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
        client.request += buffer.prefix(max(0, count))
        let complete = client.request.count >= 4 && client.request.suffix(4).elementsEqual("\r\n\r\n".utf8)
        if count > 0 && !complete && client.request.count < Self.requestLimit {
            clients[descriptor] = client
            return
        }
        clients[descriptor] = nil
        defer { close(descriptor) }
        guard complete else { return }
        answer(descriptor, String(decoding: client.request, as: UTF8.self), body: body)
    }

    private func accept(now: Double) {
        while clients.count < Self.maxClients {
            let client = Glibc.accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    pausedUntil = now + 1000
                }
                return
            }
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            clients[client] = Client(deadline: now + Self.clientSeconds * 1000)
        }
    }

    private func answer(_ descriptor: Int32, _ request: String, body: () -> String) {
        let found = request.hasPrefix("GET /metrics ") || request.hasPrefix("GET /metrics?")
        let text = found ? body() : "not found; the metrics are at /metrics\n"
        let status = found ? "200 OK" : "404 Not Found"
        let response =
            "HTTP/1.1 \(status)\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            + "Content-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n" + text
        var bytes = Array(response.utf8)[...]
        // A small answer: it fits the socket's buffer; a client that reads nothing loses it.
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { break }
            bytes = bytes.dropFirst(sent)
        }
    }
}
