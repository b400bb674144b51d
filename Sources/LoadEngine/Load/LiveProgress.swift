import Histogram
import Synchronization

/// What a run has done so far, for the progress line: counts and a window of recent
/// latencies that each connection hands over every half second (nothing per response).
public final class LiveProgress: Sendable {
    private let requests = Atomic<Int>(0)
    private let errors = Atomic<Int>(0)
    private let recent = Mutex(LiveProgress.makeWindow())

    public init() {}

    static func makeWindow() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)
    }

    func add(requests: Int, errors: Int) {
        if requests > 0 { self.requests.wrappingAdd(requests, ordering: .relaxed) }
        if errors > 0 { self.errors.wrappingAdd(errors, ordering: .relaxed) }
    }

    func countError() {
        errors.wrappingAdd(1, ordering: .relaxed)
    }

    func merge(_ window: Histogram<UInt64>) {
        recent.withLock { $0.add(window) }
    }

    public struct Snapshot: Sendable {
        public var requests: Int
        public var errors: Int
        /// The p99 of the latencies merged since the last snapshot, in microseconds.
        public var recentP99: UInt64?
    }

    /// The totals so far, and the recent window's p99 (the window starts again).
    public func snapshot() -> Snapshot {
        let window = recent.withLock { window in
            let taken = window
            window = LiveProgress.makeWindow()
            return taken
        }
        return Snapshot(
            requests: requests.load(ordering: .relaxed), errors: errors.load(ordering: .relaxed),
            recentP99: window.totalCount == 0 ? nil : window.valueAtPercentile(99))
    }
}
