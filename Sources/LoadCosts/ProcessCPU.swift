import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time (user + system, every thread) of a process and all its descendants, from `/proc`:
/// nginx's workers are its master's children, and count as the load balancer's. A descendant
/// that has exited and been waited for stays counted, in its parent's children's time, so the
/// total never falls when one goes.
public enum ProcessCPU {
    struct Stat {
        var pid: Int32
        var parent: Int32
        var ticks: Int
    }

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// nil when the process is gone.
    public static func micros(ofTree pid: Int32) -> Double? {
        micros(ofTrees: [pid])[pid]
    }

    /// Each root's tree, from one reading of `/proc`; a root that is gone is left out.
    public static func micros(ofTrees roots: [Int32]) -> [Int32: Double] {
        let everyProcess = allStats()
        var trees: [Int32: Double] = [:]
        for pid in roots {
            if let ticks = treeTicks(pid, everyProcess) { trees[pid] = Double(ticks) * 1e6 / ticksPerSecond }
        }
        return trees
    }

    private static func treeTicks(_ pid: Int32, _ everyProcess: [Stat]) -> Int? {
        guard let root = everyProcess.first(where: { $0.pid == pid }) else { return nil }
        var total = root.ticks
        var seen: Set<Int32> = [pid]
        var parents = [pid]
        while let parent = parents.popLast() {
            for child in everyProcess where child.parent == parent && !seen.contains(child.pid) {
                seen.insert(child.pid)
                total += child.ticks
                parents.append(child.pid)
            }
        }
        return total
    }

    /// `/proc/PID/stat`: after the command name in parentheses (which may hold spaces), field 4
    /// is the parent, 14 and 15 user and system time in clock ticks, 16 and 17 those of its
    /// children that have exited and been waited for.
    static func stat(_ pid: Int32) -> Stat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return parse(text)
    }

    static func parse(_ text: String) -> Stat? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"),
            let pid = Int32(text[..<open].trimmingCharacters(in: .whitespaces))
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 14, let parent = Int32(fields[1]), let user = Int(fields[11]), let system = Int(fields[12]),
            let childrenUser = Int(fields[13]), let childrenSystem = Int(fields[14])
        else { return nil }
        return Stat(pid: pid, parent: parent, ticks: user + system + childrenUser + childrenSystem)
    }

    static func allStats() -> [Stat] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { Int32($0) }.compactMap(stat)
    }
}
