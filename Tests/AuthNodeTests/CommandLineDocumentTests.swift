import Foundation
import TestSupport
import Testing

/// docs/cli.md is what users read about every command: it names exactly the options each
/// command's `--help` lists, with the same defaults, and every script's flags.
@Suite struct CommandLineDocumentTests {
    static let document = BuiltProducts.packageRoot.appendingPathComponent("docs/cli.md")
    static let executables = ["authbench-node", "authbench-load", "token-verify-benchmark", "redis-client-benchmark"]

    /// An option's documented or printed default; `nil` when it has none (required, a flag, absent).
    typealias Options = [String: String?]

    /// The document's sections: a heading naming a command in backticks (`### \`authbench-node serve\``),
    /// then a table whose rows start with an option in backticks, its default in backticks (or
    /// words when it has none) in the second column.
    struct Section {
        var options: Options = [:]
        var text = ""
    }

    static func sections(of text: String) -> [String: Section] {
        let heading = /^#{2,4} `([^`]+)`\s*$/
        let row = /^\| `(--[a-z0-9-]+)` \| ([^|]*) \|/
        let value = /^`(.*)`$/
        var sections: [String: Section] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let match = line.wholeMatch(of: heading) {
                current = String(match.1)
                sections[current!] = Section()
                continue
            }
            if line.hasPrefix("#") {
                current = nil
                continue
            }
            guard let name = current else { continue }
            sections[name]!.text += line + "\n"
            if let match = line.firstMatch(of: row) {
                let cell = match.2.trimmingCharacters(in: .whitespaces)
                sections[name]!.options.updateValue(cell.wholeMatch(of: value).map { String($0.1) }, forKey: String(match.1))
            }
        }
        return sections
    }

    /// The indented lines under a help text's `NAME:` heading, up to the next unindented line.
    static func helpSection(_ name: String, of help: String) -> [Substring] {
        var lines: [Substring] = []
        var inside = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(" ") {
                if inside { lines.append(line) }
            } else {
                inside = line == name + ":"
            }
        }
        return lines
    }

    /// The options of an ArgumentParser help text (`--help` itself left out), each with the
    /// value of its `(default: ...)`.
    static func helpOptions(_ help: String) -> Options {
        var entries: [String] = []
        for line in helpSection("OPTIONS", of: help) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("  -") { entries.append(trimmed) } else if !entries.isEmpty { entries[entries.count - 1] += " " + trimmed }
        }
        var options: Options = [:]
        for entry in entries {
            guard let name = entry.firstMatch(of: /--[a-z0-9-]+/).map({ String($0.0) }), name != "--help" else { continue }
            options.updateValue(entry.matches(of: /default: ([^;)]*)\)/).last.map { String($0.1) }, forKey: name)
        }
        return options
    }

    /// The subcommands of a help text's SUBCOMMANDS section.
    static func subcommands(_ help: String) -> [String] {
        helpSection("SUBCOMMANDS", of: help).filter { !$0.hasPrefix("   ") }.compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// Every command of the package's executables, by its full name, with its `--help`.
    static func commandHelps() throws -> [String: String] {
        var helps: [String: String] = [:]
        func walk(_ executable: URL, _ path: [String]) throws {
            let run = try CommandRun.run(executable, path + ["--help"])
            #expect(run.status == 0, "\(path) --help: \(run.stderr)")
            let name = ([executable.lastPathComponent] + path).joined(separator: " ")
            helps[name] = run.stdout
            for subcommand in subcommands(run.stdout) { try walk(executable, path + [subcommand]) }
        }
        for name in executables {
            let executable = try #require(BuiltProducts.executable(named: name), "\(name) is not built next to the tests")
            try walk(executable, [])
        }
        return helps
    }

    @Test func everyCommandsOptionsAndDefaultsAreThoseItsHelpPrints() throws {
        let documented = Self.sections(of: try String(contentsOf: Self.document, encoding: .utf8))
        let helps = try Self.commandHelps()
        #expect(helps.keys.contains("authbench-node serve") && helps.keys.contains("authbench-load delay-proxy"), "\(helps.keys.sorted())")
        for (command, help) in helps.sorted(by: { $0.key < $1.key }) {
            let options = Self.helpOptions(help)
            if !Self.subcommands(help).isEmpty && options.isEmpty { continue }
            let section = try #require(documented[command], "docs/cli.md has no section `\(command)`")
            #expect(Set(options.keys) == Set(section.options.keys),
                    "\(command): --help lists \(options.keys.sorted()), docs/cli.md \(section.options.keys.sorted())")
            for (name, value) in options where section.options.keys.contains(name) {
                #expect(section.options[name]! == value, "\(command) \(name): --help says default \(value ?? "none"), docs/cli.md \(section.options[name]! ?? "none")")
            }
        }
    }

    /// The flags a script's argument loop accepts: its `case` labels that start with `--`.
    static func parsedFlags(ofScript source: String) -> Set<String> {
        var flags = Set<String>()
        for line in source.split(separator: "\n") {
            guard let label = line.wholeMatch(of: /\s*(-[-a-z0-9|]+)\)\s.*/) else { continue }
            for flag in label.1.split(separator: "|") where flag.hasPrefix("--") && flag != "--help" { flags.insert(String(flag)) }
        }
        return flags
    }

    static func flags(in text: String) -> Set<String> {
        Set(text.matches(of: /(?:^|[^\w-])(--[a-z][a-z0-9-]*)/).map { String($0.1) }).subtracting(["--help"])
    }

    @Test func everyScriptsHelpFlagsAndDocumentAgree() throws {
        let documented = Self.sections(of: try String(contentsOf: Self.document, encoding: .utf8))
        let folder = BuiltProducts.packageRoot.appendingPathComponent("scripts")
        let scripts = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().filter { name in
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path, isDirectory: &isDirectory)
            return exists && !isDirectory.boolValue && name != "lib.sh"
        }
        #expect(scripts.contains("bench") && scripts.contains("cluster"), "\(scripts)")
        let bash = URL(fileURLWithPath: "/usr/bin/env")
        for script in scripts {
            let path = folder.appendingPathComponent(script)
            let help = try CommandRun.run(bash, ["bash", path.path, "--help"])
            #expect(help.status == 0 && help.stdout.contains("scripts/\(script)"), "scripts/\(script) --help: \(help.stdout)\(help.stderr)")
            let section = try #require(documented["scripts/\(script)"], "docs/cli.md has no section `scripts/\(script)`")
            let parsed = Self.parsedFlags(ofScript: try String(contentsOf: path, encoding: .utf8))
            let printed = Self.flags(in: help.stdout)
            if !parsed.isEmpty {
                #expect(printed == parsed, "scripts/\(script): --help names \(printed.sorted()), its argument loop takes \(parsed.sorted())")
            }
            #expect(Set(section.options.keys) == parsed, "scripts/\(script): docs/cli.md's table has \(section.options.keys.sorted()), the script takes \(parsed.sorted())")
            #expect(printed.isSubset(of: Self.flags(in: section.text)),
                    "scripts/\(script): --help names \(printed.subtracting(Self.flags(in: section.text)).sorted()) that docs/cli.md does not")
        }
    }

    @Test func theParsersReadWhatTheDocumentAndHelpTextsLookLike() {
        let document = """
            ## `tool run`
            | option | default | meaning |
            |---|---|---|
            | `--port` | `8081` | where |
            | `--key` | required | the key |
            Prose with --other in it.
            ## Not a command
            | `--ignored` | `1` | x |
            """
        let sections = Self.sections(of: document)
        #expect(Set(sections.keys) == ["tool run"])
        #expect(sections["tool run"]?.options == ["--port": "8081", "--key": nil])
        let help = """
            USAGE: tool run <options>

            OPTIONS:
              --port <port>           Where to listen. (default:
                                      8081)
              --mode <mode>           none or both. (values: none, both; default: both)
              --key <key>             The key.
              -h, --help              Show help information.

            SUBCOMMANDS:
              seed                    Create users.
                                      More words.
              add                     One user.
            """
        #expect(Self.helpOptions(help) == ["--port": "8081", "--mode": "both", "--key": nil])
        #expect(Self.subcommands(help) == ["seed", "add"])
        let script = """
            case "$1" in
              --nodes) nodes=$2; shift 2 ;;
              --lb|--balancer) lb=1; shift ;;
              -h|--help) usage ;;
              *) echo "unknown $1" ;;
            esac
            """
        #expect(Self.parsedFlags(ofScript: script) == ["--nodes", "--lb", "--balancer"])
        #expect(Self.flags(in: "[--nodes N] [--redis-url URL] x--y --") == ["--nodes", "--redis-url"])
    }
}
