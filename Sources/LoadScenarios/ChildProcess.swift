#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to its end with posix_spawn and waitpid. Foundation's `Process` on Linux
/// waits until every holder of the child's pipes is gone, so a script that starts a daemon
/// (redis-server, a node) never looks finished to it.
enum ChildProcess {
    /// The exit status (128 + signal when killed), with stdin from /dev/null and stdout and
    /// stderr appended to `outputPath`; -1 when the program could not be started.
    static func run(_ executable: String, _ arguments: [String], outputPath: String) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv + [nil]
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, nil, &cArguments, environ)
        guard spawned == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}
