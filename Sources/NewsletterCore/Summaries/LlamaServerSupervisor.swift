import Foundation
import Synchronization

/// Why the local model runtime could not serve, and what to do about it.
public enum RuntimeError: Error, Equatable, Sendable, CustomStringConvertible {
    case serverMissing(path: String)
    case modelMissing(path: String)
    case spawnFailed(path: String, reason: String)
    /// llama-server exited before it was ready; its last error line says why.
    case exitedWhileStarting(status: Int32, lastLine: String)
    case startTimedOut(seconds: Int, lastLine: String)
    /// It died mid-run and was already restarted once.
    case diedAgain(lastLine: String)

    public var description: String {
        switch self {
        case .serverMissing(let path):
            "no llama-server at \(path): run `make runtime` to build it, or set summaries.llama_server"
        case .modelMissing(let path):
            "no model file at \(path): run `make runtime` to install the default model, or set summaries.model"
        case .spawnFailed(let path, let reason): "could not start \(path): \(reason)"
        case .exitedWhileStarting(let status, let lastLine):
            "llama-server exited (status \(status)) before it was ready: \(lastLine.isEmpty ? "(it printed nothing)" : lastLine)"
        case .startTimedOut(let seconds, let lastLine):
            "llama-server was not ready within \(seconds) s (summaries.startup_timeout_seconds); its last line: \(lastLine)"
        case .diedAgain(let lastLine):
            "llama-server died again after a restart: \(lastLine.isEmpty ? "(no output)" : lastLine)"
        }
    }
}

/// Starts `llama-server` when it is first needed (loopback, a free port, one slot, a thread per
/// core), waits for `/health`, restarts it once if it dies mid-run, and stops it on exit:
/// SIGTERM, then SIGKILL. It is started under `setpriv --pdeathsig KILL`, so even a `kill -9`
/// of this process leaves no orphan behind.
public final class LlamaServerSupervisor: Sendable {
    public struct Settings: Sendable, Equatable {
        public var serverPath: String
        public var modelPath: String
        /// One core is left to everything else: on two shared cores `-t 2` measured 2–20× slower
        /// than `-t 1`, because llama.cpp's threads wait on each other (docs/llm-runtime.md).
        public var threads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount - 1)
        public var contextSize: Int = 4096
        public var startupTimeoutSeconds: Int = 60
        /// Restarts allowed after a death mid-run.
        public var maxRestarts = 1

        public init(serverPath: String, modelPath: String) {
            self.serverPath = serverPath
            self.modelPath = modelPath
        }
    }

    public let settings: Settings

    private struct State {
        var process: Process?
        var port: Int?
        var logPath: String?
        var restarts = 0
        var starts = 0
        /// A start that failed is not tried again in this run: every summary would wait for it.
        var failure: RuntimeError?
    }

    private let state = Mutex(State())

    public init(settings: Settings) {
        self.settings = settings
    }

    deinit {
        stop()
    }

    /// How many times the server was started (tests and the eval count restarts).
    public var startCount: Int { state.withLock { $0.starts } }

    /// The running server's process id, if any.
    public var processIdentifier: Int32? {
        state.withLock { $0.process.flatMap { $0.isRunning ? $0.processIdentifier : nil } }
    }

    /// The server's base URL, starting it first when it is not running yet.
    public func baseURL() throws(RuntimeError) -> String {
        let result: Result<String, RuntimeError> = state.withLock { state in
            if let failure = state.failure { return .failure(failure) }
            if let process = state.process, process.isRunning, let port = state.port {
                return .success("http://127.0.0.1:\(port)")
            }
            if state.process != nil {
                // It died between requests: that counts as a death mid-run.
                return restartLocked(&state)
            }
            return startLocked(&state)
        }
        return try result.get()
    }

    /// A request failed in a way that suggests the server died: restart it once. True when a
    /// fresh server is up and the request is worth repeating.
    public func recoverAfterFailure() -> Bool {
        state.withLock { state in
            guard let process = state.process else { return false }
            if process.isRunning { return false }
            if case .success = restartLocked(&state) { return true }
            return false
        }
    }

    /// SIGTERM, up to `graceSeconds` to exit, then SIGKILL; waits for the process to be gone.
    /// Tests pass 0: their threads may block SIGTERM, and a child inherits the mask.
    public func stop(graceSeconds: Double = 3) {
        state.withLock { state in
            if let process = state.process { Self.terminate(process, graceSeconds: graceSeconds) }
            state.process = nil
            state.port = nil
            if let log = state.logPath { try? FileManager.default.removeItem(atPath: log) }
            state.logPath = nil
        }
    }

    private func restartLocked(_ state: inout State) -> Result<String, RuntimeError> {
        let lastLine = state.logPath.map(Self.lastLine(ofFile:)) ?? ""
        if let process = state.process { Self.terminate(process) }
        state.process = nil
        guard state.restarts < settings.maxRestarts else {
            let failure = RuntimeError.diedAgain(lastLine: lastLine)
            state.failure = failure
            return .failure(failure)
        }
        state.restarts += 1
        return startLocked(&state)
    }

    private func startLocked(_ state: inout State) -> Result<String, RuntimeError> {
        let fileManager = FileManager.default
        guard fileManager.isExecutableFile(atPath: settings.serverPath) else {
            return fail(&state, .serverMissing(path: settings.serverPath))
        }
        guard fileManager.fileExists(atPath: settings.modelPath) else {
            return fail(&state, .modelMissing(path: settings.modelPath))
        }
        // A port that was free a moment ago can be taken before the server binds it: try twice.
        var lastFailure: RuntimeError = .spawnFailed(path: settings.serverPath, reason: "no free port")
        for _ in 0..<2 {
            guard let port = Self.freePort() else { continue }
            switch launch(port: port, state: &state) {
            case .success(let url): return .success(url)
            case .failure(let failure):
                lastFailure = failure
                if case .exitedWhileStarting(_, let line) = failure, line.lowercased().contains("bind") { continue }
                return fail(&state, failure)
            }
        }
        return fail(&state, lastFailure)
    }

    private func fail(_ state: inout State, _ failure: RuntimeError) -> Result<String, RuntimeError> {
        state.failure = failure
        return .failure(failure)
    }

    private func launch(port: Int, state: inout State) -> Result<String, RuntimeError> {
        let logPath = (NSTemporaryDirectory() as NSString).appendingPathComponent(
            "newsletter-llama-server-\(getpid())-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        guard let log = FileHandle(forWritingAtPath: logPath) else {
            return .failure(.spawnFailed(path: settings.serverPath, reason: "cannot write \(logPath)"))
        }
        defer { try? log.close() }
        let arguments = [
            "-m", settings.modelPath, "--host", "127.0.0.1", "--port", String(port), "-np", "1", "-t",
            String(max(1, settings.threads)), "-c", String(settings.contextSize),
            // Every request sends cache_prompt false, so the prompt RAM cache (up to 8 GiB by
            // default) only grows the server: measured 1.90 → 2.46 GB over 22 requests without this.
            "--cache-ram", "0",
        ]
        let process = Process()
        let setpriv = "/usr/bin/setpriv"
        if FileManager.default.isExecutableFile(atPath: setpriv) {
            // The kernel kills the server when its parent goes, however it goes.
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--pdeathsig", "KILL", "--", settings.serverPath] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: settings.serverPath)
            process.arguments = arguments
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            return .failure(.spawnFailed(path: settings.serverPath, reason: "\(error.localizedDescription)"))
        }
        state.process = process
        state.port = port
        state.logPath = logPath
        state.starts += 1

        let url = "http://127.0.0.1:\(port)"
        let health = ModelHTTPClient(baseURL: url, timeoutSeconds: 2, connectTimeoutSeconds: 1)
        let deadline = ContinuousClock.now + .seconds(settings.startupTimeoutSeconds)
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                process.waitUntilExit()
                state.process = nil
                return .failure(
                    .exitedWhileStarting(status: process.terminationStatus, lastLine: Self.lastLine(ofFile: logPath)))
            }
            // 503 while the model loads, 200 once it can answer.
            if let response = try? health.get("/health"), response.status == 200 { return .success(url) }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let lastLine = Self.lastLine(ofFile: logPath)
        Self.terminate(process)
        state.process = nil
        return .failure(.startTimedOut(seconds: settings.startupTimeoutSeconds, lastLine: lastLine))
    }

    static func terminate(_ process: Process, graceSeconds: Double = 3) {
        guard process.isRunning else {
            process.waitUntilExit()
            return
        }
        if graceSeconds > 0 { kill(process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(graceSeconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// The line that says what went wrong. llama-server's last line on a failed start is
    /// only "exiting due to model loading error"; its first error-level line (`0.00.106.386 E …`)
    /// names the cause, so that one wins, then the last line mentioning an error, then the last.
    static func lastLine(ofFile path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        let lines = String(decoding: data.suffix(64 * 1024), as: UTF8.self)
            .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if let errorLevel = lines.first(where: { $0.range(of: #"^[0-9.]+ E "#, options: .regularExpression) != nil }) {
            return errorLevel
        }
        let error = lines.last { line in
            let lower = line.lowercased()
            return lower.contains("error") || lower.contains("failed") || lower.contains("invalid")
        }
        return error ?? lines.last ?? ""
    }

    /// A port on 127.0.0.1 that nothing listens on right now.
    static func freePort() -> Int? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }
}
