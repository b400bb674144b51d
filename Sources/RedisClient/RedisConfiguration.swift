import NIOCore

/// Where the Redis server is and how the client behaves towards it.
public struct RedisConfiguration: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    /// Bound on TCP connect plus the AUTH/SELECT handshake.
    public var connectTimeout: TimeAmount
    /// Bound on the wait for each reply.
    public var commandTimeout: TimeAmount
    /// Connections in the pool; nil means one per event loop of the group.
    public var poolSize: Int?
    /// First wait after a failed connect; doubled on each further failure up to `maximumBackoff`.
    public var initialBackoff: TimeAmount
    public var maximumBackoff: TimeAmount

    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: TimeAmount = .seconds(1),
        commandTimeout: TimeAmount = .seconds(1),
        poolSize: Int? = nil,
        initialBackoff: TimeAmount = .milliseconds(50),
        maximumBackoff: TimeAmount = .seconds(1)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.poolSize = poolSize
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]`; the other settings keep their defaults.
    public init(url: String) throws {
        self.init()
        let scheme = "redis://"
        guard url.hasPrefix(scheme) else {
            throw RedisError.invalidURL("scheme: expected 'redis://' at the start of the URL")
        }
        var rest = Substring(url.dropFirst(scheme.count))

        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = credentials.firstIndex(of: ":") else {
                throw RedisError.invalidURL("credentials: expected 'user:password@' or ':password@' before the host")
            }
            let user = try Self.percentDecoded(credentials[..<colon], part: "user")
            let password = try Self.percentDecoded(credentials[credentials.index(after: colon)...], part: "password")
            self.username = user.isEmpty ? nil : user
            guard !password.isEmpty else { throw RedisError.invalidURL("password: empty password after ':'") }
            self.password = password
        }

        if let slash = rest.firstIndex(of: "/") {
            let databaseText = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !databaseText.isEmpty {
                guard let database = Int(databaseText), database >= 0 else {
                    throw RedisError.invalidURL("database: '\(databaseText)' is not a non-negative number")
                }
                self.database = database
            }
        }

        var hostText = rest
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw RedisError.invalidURL("host: '[' without a closing ']' in an IPv6 address")
            }
            hostText = rest[rest.index(after: rest.startIndex)..<close]
            let afterHost = rest[rest.index(after: close)...]
            if !afterHost.isEmpty {
                guard afterHost.first == ":" else { throw RedisError.invalidURL("port: expected ':' after ']'") }
                self.port = try Self.port(afterHost.dropFirst())
            }
        } else if let colon = rest.lastIndex(of: ":") {
            hostText = rest[..<colon]
            self.port = try Self.port(rest[rest.index(after: colon)...])
        }
        guard !hostText.isEmpty else { throw RedisError.invalidURL("host: missing") }
        self.host = String(hostText)
    }

    private static func port(_ text: Substring) throws -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw RedisError.invalidURL("port: '\(text)' is not a number from 1 to 65535")
        }
        return port
    }

    private static func percentDecoded(_ text: Substring, part: String) throws -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else {
                throw RedisError.invalidURL("\(part): '%' must be followed by two hex digits")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension RedisConfiguration: CustomStringConvertible {
    /// The URL without its password, safe to log.
    public var description: String {
        let credentials = password == nil ? "" : "\(username ?? ""):***@"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "redis://\(credentials)\(hostPart):\(port)/\(database)"
    }
}
