import Foundation
import NewsletterCore
import Testing

/// The real llama-server and model that `make runtime` builds, found through
/// `scripts/build-runtime.sh --print-paths`. Under CI=true the integration tests always run
/// (and fail when the runtime is missing, since `make test` builds it first); elsewhere they are
/// skipped, saying why, until it is built.
enum LlamaRuntime {
    static let paths: RuntimePaths? = {
        let process = Process()
        process.executableURL = TestPaths.repository.appendingPathComponent("scripts/build-runtime.sh")
        process.arguments = ["--print-paths"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        var values: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        guard let server = values["LLAMA_SERVER"], let model = values["MODEL"] else { return nil }
        return RuntimePaths(server: server, model: model)
    }()

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Run when the runtime is built, and always under CI.
    static var shouldRun: Bool { paths != nil || isCI }

    static let skipReason: Comment =
        "the local LLM runtime is not built (`scripts/build-runtime.sh --print-paths` failed and CI is unset); run `make runtime`"
}
