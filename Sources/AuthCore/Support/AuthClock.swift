import Foundation
import Synchronization

/// Where "now" comes from, so tests can move time instead of waiting for it.
public protocol AuthClock: Sendable {
    /// Seconds since 1970, with a fraction.
    func now() -> Double
}

public struct SystemClock: AuthClock {
    public init() {}
    public func now() -> Double { Date().timeIntervalSince1970 }
}

/// A clock that moves only when told to.
public final class ManualClock: AuthClock {
    private let current: Mutex<Double>

    public init(_ start: Double = 1_800_000_000) {
        current = Mutex(start)
    }

    public func now() -> Double { current.withLock { $0 } }

    public func advance(by seconds: Double) {
        current.withLock { $0 += seconds }
    }
}
