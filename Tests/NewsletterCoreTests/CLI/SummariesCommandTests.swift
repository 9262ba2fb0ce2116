import Foundation
import Testing

/// `preview` without the runtime, `summaries.strict`, and `summaries edit`, through the built
/// executable.
struct SummariesCommandTests {
    let directory: URL

    init() throws {
        directory = try TestPaths.temporaryDirectory()
        try FileManager.default.copyItem(
            at: TestPaths.repository.appendingPathComponent("templates"),
            to: directory.appendingPathComponent("templates"))
    }

    /// Runs `newsletter` with a runtime that does not exist, whatever this machine has built
    /// (unless `realRuntime`), on a thread of its own (`Blocking`).
    func run(_ arguments: [String], stdin: String? = nil, realRuntime: Bool = false) async throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        let process = Process()
        process.executableURL = CommandLineTests.executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        if realRuntime, let paths = LlamaRuntime.paths {
            environment["NEWSLETTER_LLAMA_SERVER"] = paths.server
            environment["NEWSLETTER_MODEL"] = paths.model
        } else {
            environment["NEWSLETTER_LLAMA_SERVER"] = directory.appendingPathComponent("no-runtime/llama-server").path
        }
        environment["EDITOR"] = nil
        environment["VISUAL"] = nil
        process.environment = environment
        // Standard input is written and closed before the start: the pipe holds these few bytes.
        let input = Pipe()
        process.standardInput = input
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let run = try await Blocking.run { [process] in try CommandLineTests.collect(process) }
        return (run.status, run.stdout, run.stderr)
    }

    func ingestExamples() async throws {
        let ingest = try await run(["ingest", TestPaths.examples.path])
        #expect(ingest.status == 0, "\(ingest.stderr)")
    }

    @Test func withoutTheRuntimeThePreviewSaysSoUsesTheFallbackAndExitsZero() async throws {
        try await ingestExamples()
        let preview = try await run(["preview", "--week", "2026-W47"])
        #expect(preview.status == 0, "\(preview.stderr)")
        #expect(preview.stderr.contains("could not run: no llama-server at"))
        #expect(preview.stderr.contains("make runtime"))
        #expect(preview.stdout.contains("[summary: extractive, fallback]"))
        let manifest = try String(
            contentsOf: directory.appendingPathComponent("outbox/2026-W47/issue.json"), encoding: .utf8)
        #expect(manifest.contains("\"kind\" : \"extractive\""))
        let issues = try await run(["issues"])
        #expect(issues.stdout.contains("[summaries: 2 extractive]"), "\(issues.stdout)")
    }

    @Test func strictMakesAMissingRuntimeAFailure() async throws {
        try "[summaries]\nstrict = true\n".write(
            to: directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
        try await ingestExamples()
        let preview = try await run(["preview", "--week", "2026-W47"])
        #expect(preview.status == 70)
        #expect(preview.stderr.contains("summaries.strict"))
        // The digest is still written, with its fallbacks.
        #expect(
            FileManager.default.fileExists(
                atPath: directory.appendingPathComponent("outbox/2026-W47/preview.html").path))
    }

    /// On either backend: the editor's text is kept in the store the commands share.
    @Test(arguments: CommandBackend.allCases)
    func anEditedSummaryWinsInThePreview(_ backend: CommandBackend) async throws {
        let location = try await backend.freshDatabase()
        try "[summaries]\nenabled = false\n\(TestConfig.store(location.map(PostgresCluster.url)))\n".write(
            to: directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
        try await ingestExamples()
        let edit = try await run([
            "summaries", "edit", "2026-W47", "1", "--text", "Inkwell wins the <b>panel</b> & the week.",
        ])
        #expect(edit.status == 0, "\(edit.stderr)")
        let fromStdin = try await run(["summaries", "edit", "2026-W47", "2"], stdin: "Lanternfish, from standard input.\n")
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        let preview = try await run(["preview", "--week", "2026-W47"])
        #expect(preview.status == 0, "\(preview.stderr)")
        #expect(preview.stderr.isEmpty || !preview.stderr.contains("could not run"))
        let html = try String(
            contentsOf: directory.appendingPathComponent("outbox/2026-W47/preview.html"), encoding: .utf8)
        #expect(html.contains("Inkwell wins the &lt;b&gt;panel&lt;/b&gt; &amp; the week."))
        #expect(html.contains("Lanternfish, from standard input."))
        #expect(preview.stdout.contains("[summary: edited]"))

        let missing = try await run(["summaries", "edit", "2026-W47", "99", "--text", "x"])
        #expect(missing.status == 1 && missing.stderr.contains("no comparison #99"))
        let empty = try await run(["summaries", "edit", "2026-W47", "1", "--text", "  "])
        #expect(empty.status == 1 && empty.stderr.contains("empty"))
        if let location {
            #expect(try await PostgresCluster.psql(location, "SELECT count(*) FROM summary_override") == "2")
        }
        let removed = try await run(["summaries", "edit", "2026-W47", "1", "--remove"])
        #expect(removed.status == 0 && removed.stdout.contains("override removed"))
    }

    /// The issue's "done when": the preview made with the runtime the project built and started
    /// itself shows summaries that passed the guard or marked fallbacks; the second preview asks
    /// no model (it starts no server) and gives the same draft.
    @Test(.enabled(if: LlamaRuntime.shouldRun, LlamaRuntime.skipReason))
    func previewWithTheRealRuntimeMarksEachSummaryAndReusesThemTheSecondTime() async throws {
        _ = try #require(LlamaRuntime.paths, "CI is set, but scripts/build-runtime.sh --print-paths failed")
        // A request that times out (a busy machine) leaves its fallback uncached by design, so
        // the second preview would ask again: the test gives the model all the time it needs.
        try "[summaries]\nattempts = 1\nrequest_timeout_seconds = 3600\n".write(
            to: directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
        try await ingestExamples()
        let first = try await run(["preview", "--week", "2026-W47"], realRuntime: true)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(!first.stderr.contains("could not run"))
        let lines = first.stdout.split(separator: "\n").filter { $0.contains("[summary: ") }
        #expect(lines.count == 2)
        for line in lines {
            #expect(
                line.contains("[summary: abstractive by local]")
                    || line.contains("grammar-extractive by local-grammar, fallback")
                    || line.contains("[summary: extractive, fallback]"), "\(line)")
        }
        #expect(first.stderr.contains("msg=\"summary ready\"") && first.stderr.contains("cached=false"))
        let second = try await run(["preview", "--week", "2026-W47"], realRuntime: true)
        #expect(second.status == 0)
        #expect(second.stderr.contains("cached=true") && !second.stderr.contains("cached=false"))
        #expect(!second.stderr.contains("summary attempt") && !second.stderr.contains("rejected"))
        let hash = { (out: String) in
            out.split(whereSeparator: \.isWhitespace).first { $0.count == 12 && $0.allSatisfy(\.isHexDigit) }
        }
        #expect(hash(first.stdout) != nil && hash(first.stdout) == hash(second.stdout))
    }
}
