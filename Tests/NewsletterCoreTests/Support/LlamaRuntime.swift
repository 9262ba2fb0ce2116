import Foundation
import NewsletterCore
import Testing

/// The real llama-server and model that `make runtime` builds, found through
/// `scripts/build-runtime.sh --print-paths`. Under CI=true the integration tests always run
/// (and fail when the runtime is missing, since `make test` builds it first); elsewhere they are
/// skipped, saying why, until it is built.
enum LlamaRuntime {
    /// llama-server and the default model (Qwen2.5-Coder-1.5B).
    static var paths: RuntimePaths? { printed.map { RuntimePaths(server: $0.server, model: $0.model) } }

    /// llama-server and SmolLM2-135M: for tests of the runtime's mechanics (determinism, restarts),
    /// where the model's words do not matter and a small model keeps the suite quick.
    static var smallModelPaths: RuntimePaths? {
        printed.map { RuntimePaths(server: $0.server, model: $0.smallModel) }
    }

    private static let printed: (server: String, model: String, smallModel: String)? = {
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
        guard let server = values["LLAMA_SERVER"], let model = values["MODEL"],
            let small = values["MODEL_SMOLLM2_135M"]
        else { return nil }
        return (server, model, small)
    }()

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Run when the runtime is built, and always under CI.
    static var shouldRun: Bool { paths != nil || isCI }

    static let skipReason: Comment =
        "the local LLM runtime is not built (`scripts/build-runtime.sh --print-paths` failed and CI is unset); run `make runtime`"
}
