import CNetlink
import Glibc
import UplinkCore

/// A minimal HTTP endpoint for `GET /metrics`, served from `run`'s loop: one listening
/// socket, each client answered once and closed. Off unless `--metrics HOST:PORT` asks for it.
final class MetricsEndpoint {
    private let listener: Int32
    /// Clients whose request has not come in yet.
    private var clients: Set<Int32> = []

    init(host: String, port: UInt16) throws {
        guard let address = IPAddress(host) else { throw KernelRefusal(object: "--metrics \(host):\(port)", errno: EINVAL, detail: "not an address") }
        listener = socket(address.family == .ipv4 ? AF_INET : AF_INET6,
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
        clients.forEach { close($0) }
    }

    var descriptors: [pollfd] {
        [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)] + clients.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    }

    /// Accepts a client, or answers one whose request arrived (`body` renders the metrics).
    func ready(_ descriptor: Int32, body: () -> String) {
        if descriptor == listener {
            while clients.count < 16 {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { break }
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                clients.insert(client)
            }
            return
        }
        guard clients.contains(descriptor) else { return }
        clients.remove(descriptor)
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return }
        let request = String(decoding: buffer[..<count], as: UTF8.self)
        let found = request.hasPrefix("GET /metrics ") || request.hasPrefix("GET /metrics?")
        let text = found ? body() : "not found; the metrics are at /metrics\n"
        let status = found ? "200 OK" : "404 Not Found"
        let response = "HTTP/1.1 \(status)\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
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
