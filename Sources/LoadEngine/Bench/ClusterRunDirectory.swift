import Foundation

/// A `scripts/cluster up` run directory, as the generator reads it: `cluster.env` names the
/// nodes, the load balancer, Redis and the cluster's settings, one `NAME=value` per line.
public enum ClusterRunDirectory {
    /// `cluster.env` in `directory` as a dictionary; nil when there is none.
    public static func settings(_ directory: String) -> [String: String]? {
        guard let text = try? String(contentsOfFile: directory + "/cluster.env", encoding: .utf8) else { return nil }
        var settings: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            settings[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return settings
    }
}
