import Foundation
import Testing

/// `newsletter summaries check` through the built executable: a faithful sentence accepted, a
/// wrong one refused with the check and the words named, bad input refused with a clear message.
struct SummariesCheckCommandTests {
    let directory: URL
    let page = TestPaths.examples.appendingPathComponent("lanternfish-vs-quillmark.txt").path

    init() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    /// Runs `newsletter` with `stdin` written to its standard input and closed.
    func run(_ arguments: [String], stdin: String = "") async throws -> CommandLineTests.Run {
        let process = Process()
        process.executableURL = CommandLineTests.executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let input = Pipe()
        process.standardInput = input
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        return try await Blocking.run { [process] in try CommandLineTests.collect(process) }
    }

    @Test func aFaithfulSentenceAboutAToolIsAccepted() async throws {
        let run = try await run([
            "summaries", "check", page, "--tool", "quillmark", "--text",
            "Every reviewer ships Quillmark, whose signing call fits in one line of a generation pipeline and whose manifests can be verified offline.",
        ])
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("accepted as Quillmark's sentence"))
    }

    @Test func aTaglineIsRefusedNamingTheCheckAndTheWords() async throws {
        let run = try await run(
            ["summaries", "check", page, "--tool", "Quillmark"],
            stdin: "Quillmark stamps AI-generated text and images with provenance through a single API.\n")
        #expect(run.status == 1)
        #expect(run.stdout.contains("tagline-only: says what Quillmark is (stamps"), "\(run.stdout)")
    }

    @Test func aWholeSummaryIsCheckedAsOneAndPrintedAsJSON() async throws {
        let run = try await run([
            "summaries", "check", page, "--json", "--text",
            "Lanternfish ships with every reviewer thanks to its on-device index, and the panel likes its passages.",
        ])
        #expect(run.status == 1)
        let verdict = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(verdict?["accepted"] as? Bool == false)
        let checks = (verdict?["reasons"] as? [[String: Any]] ?? []).compactMap { $0["check"] as? String }
        #expect(checks.contains("off-topic"), "\(run.stdout)")
        #expect(checks.contains("verdict-mismatch"), "\(run.stdout)")
    }

    @Test func anUnknownToolNamesTheToolsThePageHas() async throws {
        let run = try await run(["summaries", "check", page, "--tool", "Lanternfin", "--text", "Lanternfin is good."])
        #expect(run.status == 64)
        #expect(run.stderr.contains("has no tool \"Lanternfin\"; its tools are \"Lanternfish\" and \"Quillmark\""), "\(run.stderr)")
    }

    @Test func anUnreadablePageOrNoTextIsBadInput() async throws {
        let missing = directory.appendingPathComponent("no-such-page.txt").path
        let unreadable = try await run(["summaries", "check", missing, "--text", "Lanternfish is good."])
        #expect(unreadable.status == 64)
        #expect(unreadable.stderr.contains("cannot read the page \(missing)"), "\(unreadable.stderr)")
        let empty = try await run(["summaries", "check", page, "--tool", "Lanternfish"], stdin: "  \n")
        #expect(empty.status == 64)
        #expect(empty.stderr.contains("there is no text to check"), "\(empty.stderr)")
    }
}
