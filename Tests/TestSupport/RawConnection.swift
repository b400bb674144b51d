#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A plain TCP connection to a loopback port, for sending what no HTTP client would:
/// nothing at all, headers a byte at a time, garbage. Its blocking calls run on threads of
/// their own, never on the cooperative pool that an in-process server needs to answer.
public final class RawConnection: @unchecked Sendable {
    private var fd: Int32

    public init(port: Int) throws {
        // connect() on loopback does not wait on the peer's accept: the kernel completes it.
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket() failed: errno \(errno)") }
        var address = LoopbackPort.loopbackAddress(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let error = errno
            Glibc.close(fd)
            throw TestSupportError("connect() to port \(port) failed: errno \(error)")
        }
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// A thread of its own for each blocking call: Dispatch adds threads to its pool only
    /// slowly while others block, which would time the pool, not the peer.
    private func offloaded<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: work()) }.start()
        }
    }

    /// False once the peer has closed (EPIPE / ECONNRESET).
    @discardableResult
    public func send(_ text: String) async -> Bool {
        await send(Array(text.utf8))
    }

    @discardableResult
    public func send(_ bytes: [UInt8]) async -> Bool {
        await offloaded { self.sendBlocking(bytes) }
    }

    private func sendBlocking(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    public enum Received: Equatable, Sendable {
        case bytes([UInt8])
        /// The peer closed the connection (or reset it).
        case closed
        case nothingYet
    }

    /// What arrives within `timeout`: some bytes, the close, or nothing.
    public func receive(timeout: Duration) async -> Received {
        await offloaded { self.receiveBlocking(timeout: timeout) }
    }

    private func receiveBlocking(timeout: Duration) -> Received {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&poller, 1, milliseconds) > 0 else { return .nothingYet }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count > 0 ? .bytes(Array(buffer.prefix(count))) : .closed
    }

    /// Everything until the peer closes or `timeout` passes, and whether it closed.
    public func receiveAll(timeout: Duration) async -> (bytes: [UInt8], closed: Bool) {
        await offloaded { self.receiveAllBlocking(timeout: timeout) }
    }

    private func receiveAllBlocking(timeout: Duration) -> (bytes: [UInt8], closed: Bool) {
        let deadline = ContinuousClock.now + timeout
        var bytes: [UInt8] = []
        while ContinuousClock.now < deadline {
            switch receiveBlocking(timeout: deadline - ContinuousClock.now) {
            case .bytes(let more): bytes += more
            case .closed: return (bytes, true)
            case .nothingYet: return (bytes, false)
            }
        }
        return (bytes, false)
    }

    /// Raises this process's open-file limit to its hard limit, for tests that open many connections.
    public static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return Int(limit.rlim_cur)
    }
}
