import Foundation
import Testing

@testable import NewsletterCore

/// Chromium has a login form without its form token refused, logs in to the editor, has an
/// editor form without its form token refused, and, logged in as a viewer, is refused an
/// approval: the real `newsletter` binary serving on loopback, headless Chromium doing what an
/// editor does (scripts/editor_login_flow.py). Screenshots go to artefacts/editor-shots/.
@Suite(.serialized, .enabled(if: EndpointMailFiles.browserAvailable, "Chromium or chromedriver is not installed"))
struct EditorLoginBrowserTests {
    let served: ServedDirectory
    var cli: CommandLineTests { served.cli }
    var shots: URL { TestPaths.repository.appendingPathComponent("artefacts/editor-shots/login") }

    init() throws {
        served = try ServedDirectory()
    }

    @Test func logInHaveAFormWithoutItsTokenRefusedAndAsAViewerBeRefusedTheApproval() async throws {
        #expect(try await cli.run(["ingest", TestPaths.examples.path]).status == 0)
        let preview = try await cli.run(["preview", "--week", "2026-W47"])
        #expect(preview.status == 0, "\(preview.stderr)")
        let store = try AppDatabase.open(
            path: served.directory.appendingPathComponent("subscribers/newsletter.sqlite").path)
        let password = "a long passphrase"
        let hash = try await EditorPassword(cost: 4).hash(password)
        _ = try await store.addEditorUser(email: "ed@example.org", role: .editor, passwordHash: hash, at: Date())
        _ = try await store.addEditorUser(email: "vi@example.org", role: .viewer, passwordHash: hash, at: Date())

        let server = try served.start()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let (status, printed) = try await TestPaths.runPythonScript(
            "scripts/editor_login_flow.py",
            [served.base, "2026-W47", "ed@example.org", "vi@example.org", password, shots.path])
        #expect(status == 0, "\(printed)")
        for step in ["login-csrf", "login", "csrf", "viewer"] {
            #expect(printed.contains("step=\(step) ok"), "\(step): \(printed)")
        }
        let week = try IssueWeek(parsing: "2026-W47")
        #expect(try await store.issue(week)?.approvedHash == nil)
        #expect(try await store.auditEntries(subject: week.description, limit: 10).isEmpty)
    }
}
