import Histogram

/// Everything one connection measured, recorded on its event loop without locks and
/// merged with the others' at the end.
public struct ConnectionRecorder: Sendable {
    /// From each request's intended start (open loop) or its send (closed loop).
    public var latency = ConnectionRecorder.makeHistogram()
    /// From each request's actual send.
    public var uncorrectedLatency = ConnectionRecorder.makeHistogram()
    /// Responses by status code (100...599 by index; other codes in `otherStatusCounts`).
    private var statusCountsByCode = [Int](repeating: 0, count: 600)
    private var otherStatusCounts: [Int: Int] = [:]

    public var statusCounts: [Int: Int] {
        var counts = otherStatusCounts
        for (code, count) in statusCountsByCode.enumerated() where count > 0 { counts[code] = count }
        return counts
    }
    public var errors: [String: Int] = [:]
    /// Per whole second since the measured phase began.
    public var perSecond: [SecondBucket] = []
    /// Requests sent later than intended by more than a millisecond (open loop).
    public var lateSends = 0
    /// Access-token refreshes during the run (JWT), and their latency.
    public var refreshLatency = ConnectionRecorder.makeHistogram()
    /// Logins again after an unexpected 401, and their latency.
    public var reloginLatency = ConnectionRecorder.makeHistogram()
    public var renewalFailures = 0
    /// Bytes on the wire of the recorded requests and their responses, HTTP framing included
    /// (TCP/IP headers not), as this connection wrote and read them.
    public var requestBytes = 0
    public var responseBytes = 0

    public struct SecondBucket: Sendable {
        public var requests = 0
        public var errors = 0
        public var latency = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)
    }

    public init() {}

    static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    }

    mutating func recordResponse(status: Int, latencyMicros: UInt64, uncorrectedMicros: UInt64, second: Int, isError: Bool) {
        _ = latency.record(max(latencyMicros, 1))
        _ = uncorrectedLatency.record(max(uncorrectedMicros, 1))
        if (0..<600).contains(status) {
            statusCountsByCode[status] += 1
        } else {
            otherStatusCounts[status, default: 0] += 1
        }
        if isError { errors["status \(status)", default: 0] += 1 }
        bucket(second) { bucket in
            bucket.requests += 1
            if isError { bucket.errors += 1 }
            _ = bucket.latency.record(max(latencyMicros, 1))
        }
    }

    mutating func recordBytes(sent: Int, received: Int) {
        requestBytes += sent
        responseBytes += received
    }

    mutating func recordFailure(_ cause: String, second: Int) {
        errors[cause, default: 0] += 1
        bucket(second) { $0.errors += 1 }
    }

    private mutating func bucket(_ second: Int, _ update: (inout SecondBucket) -> Void) {
        guard second >= 0 else { return }
        while perSecond.count <= second { perSecond.append(SecondBucket()) }
        update(&perSecond[second])
    }

    public mutating func merge(_ other: ConnectionRecorder) {
        latency.add(other.latency)
        uncorrectedLatency.add(other.uncorrectedLatency)
        for code in statusCountsByCode.indices { statusCountsByCode[code] += other.statusCountsByCode[code] }
        otherStatusCounts.merge(other.otherStatusCounts, uniquingKeysWith: +)
        errors.merge(other.errors, uniquingKeysWith: +)
        lateSends += other.lateSends
        refreshLatency.add(other.refreshLatency)
        reloginLatency.add(other.reloginLatency)
        renewalFailures += other.renewalFailures
        requestBytes += other.requestBytes
        responseBytes += other.responseBytes
        while perSecond.count < other.perSecond.count { perSecond.append(SecondBucket()) }
        for (index, bucket) in other.perSecond.enumerated() {
            perSecond[index].requests += bucket.requests
            perSecond[index].errors += bucket.errors
            perSecond[index].latency.add(bucket.latency)
        }
    }

    public var requests: Int { statusCountsByCode.reduce(0, +) + otherStatusCounts.values.reduce(0, +) }
    public var errorCount: Int { errors.values.reduce(0, +) }
}
