import AuthFuzzing
import Foundation

/// One input, as libFuzzer calls it: a finding traps, so libFuzzer saves the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let finding = FuzzTargets.shared.run(bytes) {
        fatalError("finding: \(finding)")
    }
    return 0
}

#if AUTHBENCH_LIBFUZZER
/// libFuzzer's driver, from the runtime that -sanitize=fuzzer links. Whichever main the
/// linker keeps, libFuzzer's or this program's, runs the same driver over the same input function.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif

/// With -DAUTHBENCH_LIBFUZZER (scripts/fuzz): libFuzzer's driver with libFuzzer's flags.
/// Without: `authbench-fuzz FILE|DIR ...` replays inputs, `authbench-fuzz --seed DIR` writes
/// the seed inputs that need a valid token.
@main
struct AuthBenchFuzz {
    static func main() throws {
        #if AUTHBENCH_LIBFUZZER
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
        #else
        try replay(Array(CommandLine.arguments.dropFirst()))
        #endif
    }

    static func replay(_ arguments: [String]) throws {
        var arguments = arguments
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
