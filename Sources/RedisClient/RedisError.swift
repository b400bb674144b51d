/// Every way a Redis call can fail. Callers switch on the case: the connection cases mean
/// Redis could not be reached in time, and `.server` carries Redis's own message.
public enum RedisError: Error, Sendable, Hashable {
    /// The URL could not be parsed; the text names the part that is wrong.
    case invalidURL(String)
    /// No connection could be made (refused, unreachable, handshake timed out).
    case connectionFailed(String)
    /// Redis refused the credentials (WRONGPASS, NOAUTH, invalid password).
    case authenticationFailed(String)
    /// The connection was lost while the command was in flight.
    case connectionClosed
    /// No reply within the configured command timeout.
    case timeout
    /// Redis answered with an error reply; the text is Redis's message, e.g. "WRONGTYPE ...".
    case server(String)
    /// The bytes from the server are not valid RESP.
    case protocolError(String)
    /// The reply has a shape the typed helper did not expect.
    case unexpectedReply(String)
    /// The client was shut down.
    case shutdown

    /// The first word of a server error ("NOSCRIPT", "WRONGTYPE", "ERR"), nil for other cases.
    public var serverErrorCode: Substring? {
        guard case .server(let message) = self else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }

    /// True for the faults that mean "the store cannot be reached right now".
    public var isUnavailable: Bool {
        switch self {
        case .connectionFailed, .connectionClosed, .timeout, .shutdown, .authenticationFailed: true
        case .invalidURL, .server, .protocolError, .unexpectedReply: false
        }
    }
}

extension RedisError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidURL(let reason): "invalid Redis URL: \(reason)"
        case .connectionFailed(let reason): "cannot connect to Redis: \(reason)"
        case .authenticationFailed(let message): "Redis authentication failed: \(message)"
        case .connectionClosed: "the Redis connection was lost"
        case .timeout: "Redis did not answer within the command timeout"
        case .server(let message): "Redis error: \(message)"
        case .protocolError(let reason): "Redis protocol error: \(reason)"
        case .unexpectedReply(let reason): "unexpected Redis reply: \(reason)"
        case .shutdown: "the Redis client is shut down"
        }
    }
}
