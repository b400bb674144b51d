import AuthCore
import Hummingbird
import HummingbirdAuth
import NIOCore

public struct NodeRequestContext: AuthRequestContext, RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?
    /// Read from the headers once, by the outermost middleware.
    public var credential: Credential
    /// The connection, for its peer's address; read only when asked (a login), since the
    /// channel hands its address out under a lock.
    private let channel: any Channel

    public init(source: Source) {
        coreContext = .init(source: source)
        identity = nil
        credential = .none
        channel = source.channel
    }

    /// The TCP peer: a login's client address, unless the node trusts its proxy's `X-Forwarded-For`.
    public var remoteAddress: SocketAddress? { channel.remoteAddress }

    /// docs/api.md: bodies over 16 KiB get 413.
    public var maxUploadSize: Int { APILimits.maximumBodySize }
}

public enum APILimits {
    public static let maximumBodySize = 16 * 1024
    public static let maximumHeaderSize = 8 * 1024
}
