import Foundation

/// Where the tests find their inputs.
enum TestPaths {
    /// The repository root, found from this file's path.
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let fixtures = repository.appendingPathComponent("Tests/NewsletterCoreTests/Fixtures")
    static let examples = repository.appendingPathComponent("examples")

    /// The real comparison pages beside the project (`../shared/sample-pages`), when present;
    /// `NEWSLETTER_SAMPLE_PAGES` points elsewhere.
    static var samplePages: URL? {
        let candidate =
            ProcessInfo.processInfo.environment["NEWSLETTER_SAMPLE_PAGES"].map(URL.init(fileURLWithPath:))
            ?? repository.deletingLastPathComponent().appendingPathComponent("shared/sample-pages")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }

    static func fixture(_ name: String) -> URL { fixtures.appendingPathComponent(name) }

    static func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

    static func samplePageFiles() throws -> [URL] {
        guard let directory = samplePages else { return [] }
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "txt" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// A fresh directory under the system temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("newsletter-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs one of the project's Python scripts (browser checks) and returns its exit status and
    /// everything it printed; selenium is kept offline.
    /// The same from an async test, waiting on a thread of its own (`Blocking`).
    static func runPythonScript(_ script: String, _ arguments: [String]) async throws -> (
        status: Int32, output: String
    ) {
        try await Blocking.run { try runPythonScript(script, arguments) }
    }

    static func runPythonScript(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repository.appendingPathComponent(script).path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["SE_AVOID_STATS"] = "true"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, printed)
    }
}
