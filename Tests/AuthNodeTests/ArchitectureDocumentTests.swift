import Foundation
import TestSupport
import Testing

/// docs/architecture.md draws the module arrows; Package.swift declares them. They are the same,
/// and every module a file imports is one its target declares.
@Suite struct ArchitectureDocumentTests {
    static let root = BuiltProducts.packageRoot

    struct Target: Equatable {
        var name: String
        var path: String
        /// The package's own targets it depends on.
        var targets: [String]
        /// The modules of the products it depends on (`.product(name: "NIOCore", ...)`).
        var products: [String]
    }

    /// The targets of a manifest written as Package.swift is: one `.target(`, `.executableTarget(`,
    /// `.testTarget(` or `.systemLibrary(` per target, its dependencies in one list.
    static func targets(inManifest manifest: String) -> [Target] {
        let start = /\.(?:target|executableTarget|testTarget|systemLibrary)\(/
        let starts = manifest.matches(of: start).map(\.range)
        return starts.enumerated().compactMap { index, range in
            let end = index + 1 < starts.count ? starts[index + 1].lowerBound : manifest.endIndex
            let body = manifest[range.upperBound..<end]
            guard let name = body.firstMatch(of: /name: "([^"]+)"/)?.1 else { return nil }
            let kind = manifest[range].contains("testTarget") ? "Tests" : "Sources"
            let path = body.firstMatch(of: /path: "([^"]+)"/).map { String($0.1) } ?? "\(kind)/\(name)"
            let list = body.firstMatch(of: /dependencies: \[([^\]]*)\]/).map { String($0.1) } ?? ""
            let products = list.matches(of: /\.product\(name: "([^"]+)"/).map { String($0.1) }
            let targets = list.replacing(/\.product\([^)]*\)/, with: "").matches(of: /"([^"]+)"/).map { String($0.1) }
            return Target(name: String(name), path: path, targets: targets, products: products)
        }
    }

    /// `Name -> A, B` (or `-> nothing`) lines of the document.
    static func arrows(inDocument text: String) -> [String: Set<String>] {
        var arrows: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") {
            guard let match = line.wholeMatch(of: /([A-Za-z][A-Za-z-]*) +-> +([A-Za-z, -]+)/) else { continue }
            let targets = match.2.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            arrows[String(match.1)] = targets == ["nothing"] ? [] : Set(targets)
        }
        return arrows
    }

    static func manifestTargets() throws -> [Target] {
        targets(inManifest: try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8))
    }

    @Test func theDocumentsArrowsAreExactlyThePackagesTargetDependencies() throws {
        let declared = try Self.manifestTargets()
        #expect(declared.count >= 10 && declared.contains { $0.name == "AuthNode" }, "\(declared.map(\.name))")
        let documented = Self.arrows(inDocument: try String(contentsOf: Self.root.appendingPathComponent("docs/architecture.md"), encoding: .utf8))
        #expect(Set(documented.keys) == Set(declared.map(\.name)), "targets in docs/architecture.md \(documented.keys.sorted()), in Package.swift \(declared.map(\.name).sorted())")
        for target in declared {
            #expect(documented[target.name] == Set(target.targets), "\(target.name): docs/architecture.md \(documented[target.name]?.sorted() ?? []), Package.swift \(target.targets.sorted())")
        }
    }

    /// Modules that come with the toolchain and need no declaration.
    static let toolchainModules: Set<String> = ["Foundation", "FoundationXML", "Glibc", "Darwin", "Dispatch", "Synchronization", "Testing", "XCTest"]

    @Test func everyImportedModuleIsDeclaredByItsTarget() throws {
        let fileManager = FileManager.default
        for target in try Self.manifestTargets() {
            let folder = Self.root.appendingPathComponent(target.path)
            let declared = Set(target.targets + target.products).union(Self.toolchainModules)
            var imported = Set<String>()
            let files = fileManager.enumerator(atPath: folder.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
            for file in files {
                let source = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for line in source.split(separator: "\n") {
                    if let match = line.wholeMatch(of: /(?:@testable |@_exported |public )?import ([A-Za-z_0-9]+).*/) { imported.insert(String(match.1)) }
                }
            }
            // Every target with sources imports something (Foundation at least): the scan saw them.
            #expect(files.isEmpty || !imported.isEmpty, "\(target.name): no import found in \(folder.path)")
            #expect(imported.subtracting(declared).isEmpty, "\(target.name) imports \(imported.subtracting(declared).sorted()) without declaring them in Package.swift")
        }
    }

    @Test func theParsersReadManifestsAndArrowsAsWritten() {
        let manifest = """
            targets: [
                .systemLibrary(name: "CLib", pkgConfig: "lib"),
                .target(
                    name: "Core",
                    dependencies: [
                        "CLib",
                        .product(name: "NIOCore", package: "swift-nio"),
                    ]
                ),
                .executableTarget(name: "tool", dependencies: ["Core"], path: "Tools/tool"),
                .testTarget(name: "CoreTests", dependencies: ["Core", .product(name: "Crypto", package: "swift-crypto")]),
            ]
            """
        #expect(Self.targets(inManifest: manifest) == [
            Target(name: "CLib", path: "Sources/CLib", targets: [], products: []),
            Target(name: "Core", path: "Sources/Core", targets: ["CLib"], products: ["NIOCore"]),
            Target(name: "tool", path: "Tools/tool", targets: ["Core"], products: []),
            Target(name: "CoreTests", path: "Tests/CoreTests", targets: ["Core"], products: ["Crypto"]),
        ])
        let document = """
            CLib        -> nothing
            tool        -> Core, CLib
            Prose -> with words is not an arrow.
            """
        #expect(Self.arrows(inDocument: document) == ["CLib": [], "tool": ["Core", "CLib"]])
    }
}
