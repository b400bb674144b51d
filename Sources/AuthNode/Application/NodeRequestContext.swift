import AuthCore
import Hummingbird
import HummingbirdAuth

public struct NodeRequestContext: AuthRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?
    /// Read from the headers once, by the outermost middleware.
    public var credential: Credential

    public init(source: Source) {
        coreContext = .init(source: source)
        identity = nil
        credential = .none
    }

    /// docs/api.md: bodies over 16 KiB get 413.
    public var maxUploadSize: Int { APILimits.maximumBodySize }
}

public enum APILimits {
    public static let maximumBodySize = 16 * 1024
    public static let maximumHeaderSize = 8 * 1024
}
