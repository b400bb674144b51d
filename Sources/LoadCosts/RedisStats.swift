/// What Redis says of itself in `INFO`.
public enum RedisStats {
    /// `INFO commandstats`: `cmdstat_get:calls=12,usec=...` lines as calls by command.
    public static func commandCalls(inInfo text: String) -> [String: Int] {
        var calls: [String: Int] = [:]
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[line.index(line.startIndex, offsetBy: 8)..<colon].lowercased()
            for field in line[line.index(after: colon)...].split(separator: ",") where field.hasPrefix("calls=") {
                calls[name] = Int(field.dropFirst(6))
            }
        }
        return calls
    }

    /// `INFO memory`: `used_memory:123456`.
    public static func usedMemory(inInfo text: String) -> Int? {
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("used_memory:") {
            return Int(line.dropFirst("used_memory:".count))
        }
        return nil
    }
}
