/// One node (or load balancer) to send requests to: `http://host:port`.
public struct Target: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses `http://host[:port][/]`; https and paths are refused with the reason.
    public init(url: String) throws(ParseError) {
        guard url.hasPrefix("http://") else {
            throw ParseError(description: "target '\(url)': only http:// URLs are supported")
        }
        var rest = Substring(url.dropFirst("http://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/") else { throw ParseError(description: "target '\(url)': give host:port only; the path is --path") }
        if rest.hasPrefix("[") , let close = rest.firstIndex(of: "]") {
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            port = after.isEmpty ? 80 : Int(after.dropFirst()) ?? -1
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            port = Int(rest[rest.index(after: colon)...]) ?? -1
        } else {
            host = String(rest)
            port = 80
        }
        guard !host.isEmpty else { throw ParseError(description: "target '\(url)': no host") }
        guard (1...65535).contains(port) else { throw ParseError(description: "target '\(url)': the port must be from 1 to 65535") }
    }

    public var description: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    /// The Host header value.
    var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
