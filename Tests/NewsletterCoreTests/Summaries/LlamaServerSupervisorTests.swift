import Foundation
import Testing

@testable import NewsletterCore

/// The supervisor with a stand-in for llama-server (the fake model server behind a script that
/// takes llama-server's flags): start, health, a death mid-run, a failed start, stop.
@Suite(.serialized) struct LlamaServerSupervisorTests {
    let directory: URL
    let model: String

    init() throws {
        directory = try TestPaths.temporaryDirectory()
        model = directory.appendingPathComponent("model.gguf").path
        try Data("GGUF fake weights".utf8).write(to: URL(fileURLWithPath: model))
    }

    func supervisor(server: String, model: String? = nil) -> LlamaServerSupervisor {
        var settings = LlamaServerSupervisor.Settings(serverPath: server, modelPath: model ?? self.model)
        settings.startupTimeoutSeconds = 300  // a bound for a broken start, not a speed requirement
        return LlamaServerSupervisor(settings: settings)
    }

    /// `kill -9` of the running server, returning once the supervisor can see it is gone (on a
    /// busy machine the exit is noticed later, never at a fixed moment).
    static func killServer(_ runtime: LlamaServerSupervisor) throws {
        Foundation.kill(try #require(runtime.processIdentifier), SIGKILL)
        for _ in 0..<6000 where runtime.processIdentifier != nil { Thread.sleep(forTimeInterval: 0.01) }
        #expect(runtime.processIdentifier == nil, "the killed server is still seen as running")
    }

    static func isAlive(_ pid: Int32) -> Bool {
        // Signal 0 checks existence; a zombie is reaped by waitUntilExit in the supervisor.
        kill(pid, 0) == 0
    }

    @Test func aMissingBinaryOrModelSaysWhatToDo() {
        let missing = supervisor(server: directory.appendingPathComponent("nope/llama-server").path)
        #expect(throws: RuntimeError.serverMissing(path: directory.appendingPathComponent("nope/llama-server").path)) {
            try missing.baseURL()
        }
        #expect(RuntimeError.serverMissing(path: "/x").description.contains("make runtime"))
        let noModel = supervisor(server: "/bin/true", model: directory.appendingPathComponent("none.gguf").path)
        #expect(throws: RuntimeError.modelMissing(path: directory.appendingPathComponent("none.gguf").path)) {
            try noModel.baseURL()
        }
    }

    @Test func aServerThatCannotLoadItsModelIsReportedWithItsLastErrorLine() throws {
        let bad = directory.appendingPathComponent("bad.gguf").path
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: bad))
        let runtime = supervisor(server: try FakeModelServer.llamaServerStandIn(), model: bad)
        defer { runtime.stop(graceSeconds: 0) }
        do {
            _ = try runtime.baseURL()
            Issue.record("expected the start to fail")
        } catch {
            guard case .exitedWhileStarting(let status, let line) = error else { Issue.record("\(error)"); return }
            #expect(status == 1)
            // The first error-level line names the cause; the last only says it is exiting.
            #expect(line == "0.00.004.252 E gguf_init_from_reader: invalid magic characters: 'not ', expected 'GGUF'")
        }
        // The failure is remembered: no second start in the same run.
        #expect(throws: RuntimeError.self) { try runtime.baseURL() }
        #expect(runtime.startCount == 1)
    }

    @Test func itStartsOnAFreeLoopbackPortAnswersHealthAndStopsWithoutAnOrphan() throws {
        let runtime = supervisor(server: try FakeModelServer.llamaServerStandIn())
        let url = try runtime.baseURL()
        #expect(url.hasPrefix("http://127.0.0.1:"))
        let health = try ModelHTTPClient(baseURL: url, timeoutSeconds: 2).get("/health")
        #expect(health.status == 200)
        let pid = try #require(runtime.processIdentifier)
        #expect(try runtime.baseURL() == url && runtime.startCount == 1)
        runtime.stop(graceSeconds: 0)
        #expect(!Self.isAlive(pid))
        #expect(runtime.processIdentifier == nil)
    }

    @Test func aServerKilledMidRunIsRestartedOnceThenTheProviderGivesUp() async throws {
        let runtime = supervisor(server: try FakeModelServer.llamaServerStandIn())
        defer { runtime.stop(graceSeconds: 0) }
        let connection = LocalRuntimeConnection(supervisor: runtime, timeoutSeconds: 5)
        let provider = ChatSummaryProvider(connection: connection)
        let comparison = try ComparisonPageReader().read(
            try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), source: "/p.txt")
        let attempt = SummaryAttempt(number: 0, seed: 1)
        _ = try provider.summarize(comparison, attempt: attempt)

        try Self.killServer(runtime)
        // The next request finds it dead, restarts it, and gets its answer.
        let reply = try provider.summarize(comparison, attempt: attempt)
        #expect(reply.text == "The panel likes both tools.")
        #expect(runtime.startCount == 2)

        try Self.killServer(runtime)
        // A second death is the end of the local runtime for this run: the chain moves on.
        do {
            _ = try provider.summarize(comparison, attempt: attempt)
            Issue.record("expected the provider to give up")
        } catch {
            guard case .unavailable(let reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("died again"))
        }
        let outcome = await SummaryChain(providers: [provider]).summarize(comparison)
        #expect(outcome.summary.kind == .extractive)
    }

    /// A stand-in that never becomes healthy: it writes its pid to `marker`, then only sleeps.
    func neverReadyServer(marker: URL) throws -> String {
        let script = directory.appendingPathComponent("slow-llama-server")
        try "#!/bin/sh\necho $$ > '\(marker.path)'\nexec sleep 600\n".write(
            to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o755)
        return script.path
    }

    @Test func whileAStartPollsAnotherCallerReadsStateAndStopsIt() async throws {
        let marker = directory.appendingPathComponent("pid")
        var settings = LlamaServerSupervisor.Settings(
            serverPath: try neverReadyServer(marker: marker), modelPath: model)
        // Long enough that only stop() can end this start; the lock must not make stop() wait for it.
        settings.startupTimeoutSeconds = 120
        let runtime = LlamaServerSupervisor(settings: settings)
        let starting = Task.detached { try await Blocking.run { try runtime.baseURL() } }
        // The stand-in is up (its pid written) and the start is polling /health.
        var pid: Int32?
        for _ in 0..<30_000 where pid == nil {
            pid = (try? String(contentsOf: marker, encoding: .utf8)).flatMap {
                Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            if pid == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let launched = try #require(pid)
        // The child can write its pid before the parent's spawn returns and records it.
        var seen = runtime.processIdentifier
        for _ in 0..<30_000 where seen == nil {
            try await Task.sleep(for: .milliseconds(10))
            seen = runtime.processIdentifier
        }
        #expect(seen == launched, "the process being started is visible while it starts")
        try await Blocking.run { runtime.stop(graceSeconds: 0) }
        do {
            _ = try await starting.value
            Issue.record("a start that was stopped reported a server")
        } catch {
            #expect("\(error)".contains("stopped while it was starting"), "\(error)")
        }
        #expect(!Self.isAlive(launched))
        #expect(runtime.processIdentifier == nil)
    }

    /// `setpriv --pdeathsig` fires when the thread that started the server exits: a server started
    /// from a thread that has since ended must still be running.
    @Test func aServerOutlivesTheThreadThatStartedIt() async throws {
        let runtime = supervisor(server: try FakeModelServer.llamaServerStandIn())
        defer { runtime.stop(graceSeconds: 0) }
        let url = try await Blocking.run { try runtime.baseURL() }  // a thread of its own, gone after
        let pid = try #require(runtime.processIdentifier)
        // The kernel's signal on that thread's exit is not instant: ask the server itself.
        for _ in 0..<50 {
            #expect(try ModelHTTPClient(baseURL: url, timeoutSeconds: 5).get("/health").status == 200)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(Self.isAlive(pid))
        #expect(runtime.startCount == 1)
    }

    @Test func callersWhoComeDuringAStartShareIt() async throws {
        let runtime = supervisor(server: try FakeModelServer.llamaServerStandIn())
        defer { runtime.stop(graceSeconds: 0) }
        async let first = Blocking.run { try runtime.baseURL() }
        async let second = Blocking.run { try runtime.baseURL() }
        async let third = Blocking.run { try runtime.baseURL() }
        let urls = try await [first, second, third]
        #expect(Set(urls).count == 1)
        #expect(runtime.startCount == 1)
    }

    @Test func theLastLineIsTheLastErrorLineElseTheLastLine() throws {
        let log = directory.appendingPathComponent("log.txt")
        try "starting\nllama_model_load: error loading model: bad magic\nmain: exiting\n\n".write(
            to: log, atomically: true, encoding: .utf8)
        #expect(LlamaServerSupervisor.lastLine(ofFile: log.path) == "llama_model_load: error loading model: bad magic")
        try "starting\nlistening\n".write(to: log, atomically: true, encoding: .utf8)
        #expect(LlamaServerSupervisor.lastLine(ofFile: log.path) == "listening")
        try "0.00.1 I start\n0.00.2 E first cause\n0.00.3 E exiting\n".write(to: log, atomically: true, encoding: .utf8)
        #expect(LlamaServerSupervisor.lastLine(ofFile: log.path) == "0.00.2 E first cause")
    }
}
