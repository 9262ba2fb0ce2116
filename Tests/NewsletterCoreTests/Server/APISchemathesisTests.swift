import Foundation
import Testing

/// schemathesis (PyPI, set up by scripts/setup-test-peers.sh) against a live `newsletter serve`,
/// from the document the server serves, with an admin key: no 5xx, no response that breaks the
/// document, no status the document does not list, and no operation that answers without the
/// key. Bounded: a few examples per operation, and the whole run killed past five minutes.
struct APISchemathesisTests {
    @Test func schemathesisFindsNoServerErrorNoSchemaBreachAndNoOperationAnsweringWithoutAKey() async throws {
        let python = try #require(AiosmtpdServer.python, "the test peers' venv is missing: run scripts/setup-test-peers.sh")
        let st = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("st").path
        try #require(FileManager.default.isExecutableFile(atPath: st), "no schemathesis in \(st): run scripts/setup-test-peers.sh")
        let served = try ServedDirectory()
        // Generous limits: the run checks the operations, not the rate limit (tested on its own).
        let config = served.directory.appendingPathComponent("newsletter.toml")
        let handle = try FileHandle(forWritingTo: config)
        try handle.seekToEnd()
        // Webhook endpoints may target 127.0.0.1 only, where the hooks send every URL (a port
        // nobody listens on): schemathesis adds endpoints and tests them, reaching nothing.
        try handle.write(
            contentsOf: Data(
                """

                [api]
                requests_per_minute = 1000000
                burst = 100000
                [webhooks]
                allowed_networks = ["127.0.0.1/32"]
                timeout_seconds = 2

                """.utf8))
        try handle.close()
        let created = try await served.cli.run(["api-keys", "create", "--name", "schemathesis", "--scope", "admin"])
        try #require(created.status == 0, "\(created.stderr)")
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let sink = "http://127.0.0.1:\(try SMTPSink.freePort())/schemathesis"
        let server = try served.start()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let run = try await Blocking.run {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = [
                "300", st, "run", "\(served.base)/api/v1/openapi.json", "--url", "\(served.base)/api/v1",
                "-H", "Authorization: Bearer \(key)",
                "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,ignored_auth",
                "--phases", "coverage,fuzzing", "--max-examples", "10", "--seed", "26", "--no-color",
            ]
            process.currentDirectoryURL = served.directory
            process.environment = ProcessInfo.processInfo.environment.merging([
                "SCHEMATHESIS_HOOKS": TestPaths.fixture("tools/schemathesis_hooks.py").path,
                "NEWSLETTER_WEBHOOK_SINK": sink,
            ]) { $1 }
            return try CommandLineTests.collect(process)
        }
        #expect(run.status == 0, "schemathesis exited \(run.status):\n\(run.stdout.suffix(6000))\n\(run.stderr.suffix(2000))")
        #expect(run.stdout.contains("passed") && !run.stdout.contains(" failed"), "\(run.stdout.suffix(3000))")
        // Endpoints were added (the document's example, rewritten by the hooks), each at the sink.
        let listed = try await served.cli.run(["webhooks", "list"])
        let urls = listed.stdout.split(separator: "\n").compactMap { line -> Substring? in
            let words = line.split(separator: " ")  // "ID  URL  [events] ..."
            return words.count > 1 && Int64(words[0]) != nil ? words[1] : nil
        }
        #expect(!urls.isEmpty && urls.allSatisfy { $0 == sink }, "\(listed.stdout)")
    }
}
