import Foundation
import Testing

@testable import NewsletterCore

/// The editor replaces a summary in the page, rebuilds the draft, sees the text in the previews,
/// goes back to the generated summary and sees it again: the real `newsletter` binary serving on
/// loopback, headless Chromium pressing the buttons (scripts/editor_flow.py), no model (the
/// summaries are the stored draft's). Screenshots go to artefacts/editor-shots/.
@Suite(.serialized, .enabled(if: EndpointMailFiles.browserAvailable, "Chromium or chromedriver is not installed"))
struct EditorBrowserTests {
    let served: ServedDirectory
    var cli: CommandLineTests { served.cli }
    var directory: URL { served.directory }
    var shots: URL { TestPaths.repository.appendingPathComponent("artefacts/editor-shots") }

    init() throws {
        served = try ServedDirectory()
    }

    @Test func replaceASummaryRebuildSeeItThenGoBackToTheGeneratedOne() async throws {
        #expect(try await cli.run(["ingest", TestPaths.examples.path]).status == 0)
        let preview = try await cli.run(["preview", "--week", "2026-W47"])
        #expect(preview.status == 0, "\(preview.stderr)")
        #expect(try await cli.run(["approve", "--week", "2026-W47"]).status == 0)
        let store = try AppDatabase.open(path: directory.appendingPathComponent("subscribers/newsletter.sqlite").path)
        let week = try IssueWeek(parsing: "2026-W47")
        let approved = try await #require(try store.issue(week))

        let server = try served.start(environment: ["NEWSLETTER_EDITOR_TOKEN": "editor-secret"])
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let mine = "The editor's <b>own</b> pick & summary: both tools ship."
        let (status, printed) = try await TestPaths.runPythonScript(
            "scripts/editor_flow.py",
            ["http://editor:editor-secret@127.0.0.1:\(served.port)/editor/issues/2026-W47", mine, shots.path])
        #expect(status == 0, "\(printed)")
        for step in ["open", "replace", "rebuild", "revert"] {
            #expect(printed.contains("step=\(step) ok"), "\(step): \(printed)")
        }

        // Back where it started: no text of the editor's, the same bytes as the approved draft;
        // but the approval went when the draft changed, and a rebuild does not bring it back.
        let issue = try await #require(try store.issue(week))
        #expect(issue.draftHash == approved.draftHash)
        #expect(issue.status == .draft && issue.approvedHash == nil)
        for id in issue.comparisonIDs { await #expect(try store.summaryOverride(week: week, comparisonID: id) == nil) }
        let send = try await cli.run(["send", "--week", "2026-W47"])
        #expect(send.status == 4, "\(send.stdout)\(send.stderr)")
    }
}
