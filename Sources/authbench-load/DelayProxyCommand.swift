import ArgumentParser
import Foundation
import LoadEngine
import TCPDelayProxy
import NIOCore
import Synchronization

struct DelayProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delay-proxy",
        abstract: "A TCP proxy adding a delay in each direction without reordering bytes (e.g. between nodes and Redis).")

    @Option(help: "Where to listen, HOST:PORT.") var listen: String
    @Option(help: "Where to forward, HOST:PORT.") var upstream: String
    @Option(help: "Delay in each direction: 0, 500us, 1ms, 2.5ms.") var delay = "0"
    @Option(help: "Uniform jitter around the delay, e.g. 0.2ms.") var jitter = "0"
    @Option(help: "HOST:PORT for changing the delay while running: a line 'delay 2ms [jitter 0.2ms]' or 'get'.")
    var control: String?

    static func address(_ text: String, _ flag: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--\(flag): '\(text)' is not HOST:PORT")
        }
        return (String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }

    func run() async throws {
        let (listenHost, listenPort) = try Self.address(listen, "listen")
        let (upstreamHost, upstreamPort) = try Self.address(upstream, "upstream")
        guard let base = DurationText.parse(delay) else { throw ValidationError("--delay: '\(delay)' is not a duration like 1ms") }
        guard let spread = DurationText.parse(jitter) else { throw ValidationError("--jitter: '\(jitter)' is not a duration like 0.2ms") }
        let proxy = DelayProxy(upstreamHost: upstreamHost, upstreamPort: upstreamPort, delay: .init(base: base, jitter: spread))
        let server: any Channel
        do {
            server = try await proxy.listen(host: listenHost, port: listenPort)
        } catch {
            throw ValidationError("--listen \(listen): \(error)")
        }
        var controlServer: (any Channel)?
        if let control {
            let (host, port) = try Self.address(control, "control")
            do {
                controlServer = try await proxy.listenForControl(host: host, port: port)
            } catch {
                throw ValidationError("--control \(control): \(error)")
            }
        }
        FileHandle.standardError.write(Data("authbench-load: delay-proxy \(listen) -> \(upstream), \(proxy.delay) each way\(control.map { ", control on \($0)" } ?? "")\n".utf8))
        let signals = [SIGINT, SIGTERM].map { signal -> any DispatchSourceSignal in
            Foundation.signal(signal, SIG_IGN)
            return DispatchSource.makeSignalSource(signal: signal, queue: .global())
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = Mutex(false)
            for source in signals {
                source.setEventHandler {
                    if once.withLock({ done in defer { done = true }; return !done }) { continuation.resume() }
                }
                source.resume()
            }
        }
        try? await controlServer?.close()
        try? await server.close()
    }
}
