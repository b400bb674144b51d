import NIOCore

/// `0`, `500us`, `250ms`, `1.5s`, `2m`: the durations of flags, scenario files and control lines.
public enum DurationText {
    public static func parse(_ text: some StringProtocol) -> TimeAmount? {
        if text == "0" { return .zero }
        for (suffix, nanoseconds) in [("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 6e10)] where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value >= 0, value * nanoseconds < 9e18 else { return nil }
            return .nanoseconds(Int64(value * nanoseconds))
        }
        return nil
    }
}

extension Duration {
    /// Seconds with their fraction, for reports and result files.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
