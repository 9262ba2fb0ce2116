import Foundation
import Testing

@testable import NewsletterCore

/// `make demo`'s own steps (`scripts/demo.sh`) with the built binary, the system clock moved
/// months past the week the examples are published in: the main job on the embedded defaults
/// must show its draft, with the week's summaries, whatever the date.
@Suite(.serialized, .enabled(if: CommandLineTests.faketimeAvailable, "faketime (Debian) is not installed"))
struct DemoTests {
    static let week = "2026-W47"

    /// The configuration the demo's summaries were measured on (docs/benchmarks.md, issue 12):
    /// llama-server at its default of one thread (two cores) on a CPU with AVX-512, which
    /// `GGML_NATIVE` builds for. llama.cpp's words at temperature 0 depend on the thread count and
    /// the CPU's kernels, so there the test requires what was measured, both summaries the
    /// model's own; on other hardware the words are others that nobody has read, and it requires
    /// only that the bundled model made them or that a fallback says why it shipped.
    static var isTheMeasuredConfiguration: Bool {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flags = cpu.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ") ?? []
        return LlamaServerSupervisor.Settings(serverPath: "", modelPath: "").threads == 1 && flags.contains("avx512f")
    }

    /// The one setting the test adds to the embedded defaults on the measured configuration: a
    /// request time limit no busy machine reaches. The words do not depend on it (temperature 0,
    /// a fixed seed); without it, a loaded machine's timeout would ship the fallback, and the
    /// test could not tell that from the model failing.
    static let patientModel = "[summaries]\nrequest_timeout_seconds = 3600\n"

    /// A directory laid out like a clone (examples/, templates/), with nothing configured.
    func clone() throws -> URL {
        let directory = try TestPaths.temporaryDirectory()
        for name in ["examples", "templates"] {
            try FileManager.default.copyItem(
                at: TestPaths.repository.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        return directory
    }

    func demo(in directory: URL, clock: String) throws -> CommandLineTests.Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/faketime")
        process.arguments = [
            clock, "bash", TestPaths.repository.appendingPathComponent("scripts/demo.sh").path,
            CommandLineTests.executable.path, Self.week,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
        environment["TZ"] = "UTC"
        process.environment = environment
        process.currentDirectoryURL = directory
        return try CommandLineTests.collect(process)
    }

    @Test func theDemoEndsWithADraftAndItsSummariesMonthsAfterTheExamplesWeek() async throws {
        let directory = try clone()
        defer { try? FileManager.default.removeItem(at: directory) }
        if LlamaRuntime.shouldRun && Self.isTheMeasuredConfiguration {
            try Self.patientModel.write(
                to: directory.appendingPathComponent(Configuration.defaultFileName), atomically: true, encoding: .utf8)
        }
        let run = try await Blocking.run { try demo(in: directory, clock: "2027-06-14 07:00:00") }
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("waiting for approval"), "\(run.stdout)")
        #expect(!run.stdout.contains("\(Self.week) skipped"), "\(run.stdout)")
        // status: the frozen draft, not approved, and the two example comparisons in it.
        #expect(run.stdout.contains("\(Self.week)  draft"), "\(run.stdout)")
        #expect(run.stdout.contains("NOT approved"))
        #expect(run.stdout.contains("after the send, `newsletter report --week \(Self.week)`"), "\(run.stdout)")

        let outbox = directory.appendingPathComponent("outbox/\(Self.week)")
        for file in ["preview.html", "preview.txt", "issue.json"] {
            #expect(FileManager.default.fileExists(atPath: outbox.appendingPathComponent(file).path), "\(file)")
        }
        let manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: outbox.appendingPathComponent("issue.json")))
                as? [String: Any])
        let comparisons = try #require(manifest["comparisons"] as? [[String: Any]])
        #expect(comparisons.count == 2)
        // Words, whatever the wrapping of the text part.
        func words(_ text: String) -> [Substring] { text.split(whereSeparator: \.isWhitespace) }
        let preview = words(try String(contentsOf: outbox.appendingPathComponent("preview.txt"), encoding: .utf8))
            .joined(separator: " ")
        for item in comparisons {
            let summary = try #require(item["summary"] as? [String: Any])
            let text = try #require(summary["text"] as? String)
            #expect(text.count > 40 && preview.contains(words(text).prefix(6).joined(separator: " ")), "\(text)")
            if LlamaRuntime.shouldRun && Self.isTheMeasuredConfiguration {
                // Issue 12's done-when: the default model wrote it and the guard accepted it (the
                // time limit is out of reach: `patientModel`).
                #expect(summary["provider"] as? String == "local", "\(summary)")
                #expect(summary["kind"] as? String == "abstractive", "\(summary)")
                #expect((summary["model"] as? String)?.hasPrefix("qwen2.5-coder-1.5b") == true, "\(summary)")
                #expect(summary["note"] == nil || summary["note"] is NSNull, "\(summary)")
            } else if LlamaRuntime.shouldRun {
                // Elsewhere the bundled model still made it (written or picked by it), or a
                // fallback says why it shipped.
                #expect((summary["provider"] as? String)?.hasPrefix("local") == true, "\(summary)")
                if summary["kind"] as? String == "abstractive" {
                    #expect((summary["model"] as? String)?.hasPrefix("qwen2.5-coder-1.5b") == true, "\(summary)")
                } else {
                    #expect(summary["note"] is String, "a fallback says why it shipped: \(summary)")
                }
            }
        }
    }
}
