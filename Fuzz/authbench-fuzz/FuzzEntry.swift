import AuthFuzzing
import Foundation

/// libFuzzer's entry point (`scripts/fuzz` builds with -sanitize=fuzzer): a finding traps,
/// so libFuzzer saves the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let finding = FuzzTargets.shared.run(Array(UnsafeBufferPointer(start: data, count: size))) {
        fatalError("finding: \(finding)")
    }
    return 0
}

#if !AUTHBENCH_LIBFUZZER
/// Without libFuzzer: `authbench-fuzz FILE|DIR ...` replays inputs, `authbench-fuzz --seed DIR`
/// writes the seed inputs that need a valid token.
@main
struct ReplayInputs {
    static func main() throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--seed", arguments.count == 2 {
            let token = try FuzzTargets.shared.seedToken()
            let folder = URL(fileURLWithPath: arguments[1])
            try Data([0] + Array(token.utf8)).write(to: folder.appendingPathComponent("token-valid"))
            try Data([1, 0, 0] + Array(token.utf8)).write(to: folder.appendingPathComponent("router-me-valid-bearer"))
            return
        }
        var inputs = 0
        var findings = 0
        while let path = arguments.popLast() {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                FileHandle.standardError.write(Data("authbench-fuzz: no such file or folder: \(path)\n".utf8))
                exit(2)
            }
            if isFolder.boolValue {
                arguments += try FileManager.default.contentsOfDirectory(atPath: path).map { "\(path)/\($0)" }
                continue
            }
            inputs += 1
            if let finding = FuzzTargets.shared.run(Array(try Data(contentsOf: URL(fileURLWithPath: path)))) {
                findings += 1
                print("\(path): \(finding)")
            }
        }
        print("authbench-fuzz: \(inputs) inputs replayed, \(findings) findings")
        exit(findings == 0 ? 0 : 1)
    }
}
#endif
