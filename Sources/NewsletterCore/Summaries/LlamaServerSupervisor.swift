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
    /// `stop()` was called while the server was starting (the run is ending).
    case stoppedWhileStarting

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
        case .stoppedWhileStarting: "llama-server was stopped while it was starting"
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

    /// A running server: the process, where it listens, where it logs.
    private struct Server {
        var process: Process
        var port: Int
        var logPath: String
        var url: String { "http://127.0.0.1:\(port)" }
    }

    /// One start under way. Whoever asked first runs it, outside the lock; everyone who asks
    /// meanwhile waits on `finished` (not on the lock), then reads the same result.
    private final class PendingStart: Sendable {
        let finished = DispatchGroup()
        let result = Mutex<Result<String, RuntimeError>?>(nil)

        init() { finished.enter() }

        func finish(_ outcome: Result<String, RuntimeError>) {
            result.withLock { $0 = outcome }
            finished.leave()
        }

        func wait() -> Result<String, RuntimeError> {
            finished.wait()
            return result.withLock { $0 } ?? .failure(.stoppedWhileStarting)
        }
    }

    private enum Phase {
        case idle
        /// `launched` is the process being waited for, once spawned, so `stop()` can end it.
        case starting(PendingStart, launched: Server?)
        case running(Server)
        /// A start that failed is not tried again in this run: every summary would wait for it.
        case failed(RuntimeError)
    }

    private struct State {
        var phase = Phase.idle
        var restarts = 0
        var starts = 0
    }

    /// Held only to read or swap `State`: never across a start's polling or a stop's grace time.
    private let state = Mutex(State())

    public init(settings: Settings) {
        self.settings = settings
    }

    deinit {
        stop()
    }

    /// How many times the server was started (tests and the eval count restarts).
    public var startCount: Int { state.withLock { $0.starts } }

    /// The server's process id while it runs or starts, if any.
    public var processIdentifier: Int32? {
        state.withLock { state in
            let server: Server? =
                switch state.phase {
                case .running(let server): server
                case .starting(_, let launched): launched
                case .idle, .failed: nil
                }
            return server.flatMap { $0.process.isRunning ? $0.process.processIdentifier : nil }
        }
    }

    /// What a caller does next, decided under the lock and done outside it.
    private enum Step {
        case answer(Result<String, RuntimeError>)
        case wait(PendingStart)
        /// Run this start; `dead` is a server that died and is to be reaped first.
        case start(PendingStart, dead: Server?)
    }

    /// The server's base URL, starting it first when it is not running yet. A caller that comes
    /// while another starts it waits for that start.
    public func baseURL() throws(RuntimeError) -> String {
        let step: Step = state.withLock { state in
            switch state.phase {
            case .failed(let failure): return .answer(.failure(failure))
            case .starting(let pending, _): return .wait(pending)
            case .running(let server) where server.process.isRunning: return .answer(.success(server.url))
            case .running(let server):
                // It died between requests: that counts as a death mid-run.
                return Self.beginRestart(&state, dead: server, maxRestarts: settings.maxRestarts)
            case .idle:
                let pending = PendingStart()
                state.phase = .starting(pending, launched: nil)
                return .start(pending, dead: nil)
            }
        }
        return try take(step).get()
    }

    /// A request failed in a way that suggests the server died: restart it once. True when a
    /// fresh server is up and the request is worth repeating.
    public func recoverAfterFailure() -> Bool {
        let step: Step? = state.withLock { state in
            switch state.phase {
            case .running(let server) where !server.process.isRunning:
                return Self.beginRestart(&state, dead: server, maxRestarts: settings.maxRestarts)
            case .starting(let pending, _): return .wait(pending)
            default: return nil
            }
        }
        guard let step, case .success = take(step) else { return false }
        return true
    }

    /// SIGTERM, up to `graceSeconds` to exit, then SIGKILL; waits for the process to be gone.
    /// A start under way ends with `RuntimeError.stoppedWhileStarting`. Tests pass 0: their
    /// threads may block SIGTERM, and a child inherits the mask.
    public func stop(graceSeconds: Double = 3) {
        let server: Server? = state.withLock { state in
            defer { state.phase = .idle }
            switch state.phase {
            case .running(let server): return server
            case .starting(_, let launched): return launched
            case .idle, .failed: return nil
            }
        }
        guard let server else { return }
        Self.terminate(server.process, graceSeconds: graceSeconds)
        try? FileManager.default.removeItem(atPath: server.logPath)
    }

    private func take(_ step: Step) -> Result<String, RuntimeError> {
        switch step {
        case .answer(let result): return result
        case .wait(let pending): return pending.wait()
        case .start(let pending, let dead):
            if let dead {
                Self.terminate(dead.process)
                try? FileManager.default.removeItem(atPath: dead.logPath)
            }
            let result = start(pending)
            pending.finish(result)
            return result
        }
    }

    /// Under the lock: a restart begins, or the run's restarts are spent and the runtime fails.
    private static func beginRestart(_ state: inout State, dead: Server, maxRestarts: Int) -> Step {
        guard state.restarts < maxRestarts else {
            let failure = RuntimeError.diedAgain(lastLine: lastLine(ofFile: dead.logPath))
            state.phase = .failed(failure)
            return .answer(.failure(failure))
        }
        state.restarts += 1
        let pending = PendingStart()
        state.phase = .starting(pending, launched: nil)
        return .start(pending, dead: dead)
    }

    /// Runs one start outside the lock and records how it ended, unless `stop()` came first.
    private func start(_ pending: PendingStart) -> Result<String, RuntimeError> {
        let result = launchOnAFreePort(pending)
        return state.withLock { state in
            guard case .starting(let current, let launched) = state.phase, current === pending else {
                // stop() took the phase back to idle (and ended what was launched).
                return .failure(.stoppedWhileStarting)
            }
            switch result {
            case .success:
                guard let launched else { return .failure(.stoppedWhileStarting) }
                state.phase = .running(launched)
            case .failure(let failure):
                state.phase = .failed(failure)
                // Its last line is in the failure already.
                if let launched { try? FileManager.default.removeItem(atPath: launched.logPath) }
            }
            return result
        }
    }

    private func launchOnAFreePort(_ pending: PendingStart) -> Result<String, RuntimeError> {
        let fileManager = FileManager.default
        guard fileManager.isExecutableFile(atPath: settings.serverPath) else {
            return .failure(.serverMissing(path: settings.serverPath))
        }
        guard fileManager.fileExists(atPath: settings.modelPath) else {
            return .failure(.modelMissing(path: settings.modelPath))
        }
        // A port that was free a moment ago can be taken before the server binds it: try twice.
        var lastFailure: RuntimeError = .spawnFailed(path: settings.serverPath, reason: "no free port")
        for _ in 0..<2 {
            guard let port = Self.freePort() else { continue }
            let result = launch(port: port, pending)
            guard case .failure(let failure) = result else { return result }
            lastFailure = failure
            guard case .exitedWhileStarting(_, let line) = failure, line.lowercased().contains("bind") else {
                return result
            }
        }
        return .failure(lastFailure)
    }

    /// The arguments llama-server is started with.
    func arguments(port: Int) -> [String] {
        [
            "-m", settings.modelPath, "--host", "127.0.0.1", "--port", String(port), "-np", "1", "-t",
            String(max(1, settings.threads)), "-c", String(settings.contextSize),
            // Every request sends cache_prompt false, so the prompt RAM cache (up to 8 GiB by
            // default) only grows the server: measured 1.90 → 2.46 GB over 22 requests without this.
            "--cache-ram", "0",
        ]
    }

    private func launch(port: Int, _ pending: PendingStart) -> Result<String, RuntimeError> {
        let logPath = (NSTemporaryDirectory() as NSString).appendingPathComponent(
            "newsletter-llama-server-\(getpid())-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        guard let log = FileHandle(forWritingAtPath: logPath) else {
            return .failure(.spawnFailed(path: settings.serverPath, reason: "cannot write \(logPath)"))
        }
        defer { try? log.close() }
        let process = Process()
        let setpriv = "/usr/bin/setpriv"
        if FileManager.default.isExecutableFile(atPath: setpriv) {
            // The kernel kills the server when its parent goes, however it goes.
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--pdeathsig", "KILL", "--", settings.serverPath] + arguments(port: port)
        } else {
            process.executableURL = URL(fileURLWithPath: settings.serverPath)
            process.arguments = arguments(port: port)
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        let spawnError: String? = Spawner.shared.run {
            do {
                try process.run()
                return nil
            } catch {
                return error.localizedDescription
            }
        }
        if let spawnError { return .failure(.spawnFailed(path: settings.serverPath, reason: spawnError)) }
        let server = Server(process: process, port: port, logPath: logPath)
        let published: Bool = state.withLock { state in
            guard case .starting(let current, _) = state.phase, current === pending else { return false }
            state.phase = .starting(pending, launched: server)
            state.starts += 1
            return true
        }
        guard published else {
            // stop() came while it was being spawned.
            Self.terminate(process, graceSeconds: 0)
            return .failure(.stoppedWhileStarting)
        }

        let health = ModelHTTPClient(baseURL: server.url, timeoutSeconds: 2, connectTimeoutSeconds: 1)
        let deadline = ContinuousClock.now + .seconds(settings.startupTimeoutSeconds)
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                process.waitUntilExit()
                return .failure(
                    .exitedWhileStarting(status: process.terminationStatus, lastLine: Self.lastLine(ofFile: logPath)))
            }
            // 503 while the model loads, 200 once it can answer.
            if let response = try? health.get("/health"), response.status == 200 { return .success(server.url) }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let lastLine = Self.lastLine(ofFile: logPath)
        Self.terminate(process)
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

/// The kernel sends `--pdeathsig` when the *thread* that started the child exits, not the
/// process: a server started from a short-lived thread (a `Thread` per summary run) was killed
/// between runs. Children are started from this one thread, which lives as long as the process.
private final class Spawner: @unchecked Sendable {
    static let shared = Spawner()
    private let condition = NSCondition()
    private var queue: [() -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in
            while true {
                condition.lock()
                while queue.isEmpty { condition.wait() }
                let work = queue.removeFirst()
                condition.unlock()
                work()
            }
        }
        thread.name = "llama-server spawner"
        thread.start()
    }

    /// Runs `body` on the spawner thread and returns its result.
    func run<T>(_ body: @escaping () -> T) -> T {
        var result: T?
        let done = DispatchSemaphore(value: 0)
        condition.lock()
        queue.append {
            result = body()
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return result!
    }
}
