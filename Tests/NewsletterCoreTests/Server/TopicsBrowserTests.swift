import Foundation
import Testing

@testable import NewsletterCore

/// A reader signs up with two topics ticked, confirms, changes the topics on the preferences
/// page and finds the choice kept; the week is sent in variants and the archive shows it. The
/// real binary serving on loopback, headless Chromium, screenshots in artefacts/topics-shots/.
@Suite(.serialized, .enabled(if: EndpointMailFiles.browserAvailable, "Chromium or chromedriver is not installed"))
struct TopicsBrowserTests {
    let served: ServedDirectory
    var cli: CommandLineTests { served.cli }
    var port: Int { served.port }
    var directory: URL { served.directory }
    var shots: URL { TestPaths.repository.appendingPathComponent("artefacts/topics-shots") }

    init() throws {
        served = try ServedDirectory()
    }

    func browser(_ arguments: [String]) async throws -> String {
        let (status, printed) = try await TestPaths.runPythonScript("scripts/topics_flow.py", arguments + [shots.path])
        #expect(status == 0, "\(arguments[0]): \(printed)")
        return printed
    }

    func mail(named prefix: String) throws -> String {
        try EndpointMailFiles.first(in: directory.appendingPathComponent("outbox/endpoint-mail"), named: prefix)
    }

    @Test func chooseTopicsChangeThemAndReadTheArchive() async throws {
        #expect(try await cli.run(["ingest", TestPaths.examples.path]).status == 0)
        let server = try served.start()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let base = served.base

        #expect(
            try await browser(["signup", base, "reader@example.org", "Documentation", "Developer Tools"]).contains(
                "step=signup ok"))
        let confirmation = try mail(named: "confirmation-")
        let confirmURL = try #require(
            confirmation.firstMatch(of: /http:\/\/127\.0\.0\.1:\d+\/confirm\/[A-Za-z0-9_-]{43}/))
        let (status, confirmed) = try await TestPaths.runPythonScript(
            "scripts/signup_flow.py", ["confirm", String(confirmURL.0), shots.path])
        #expect(status == 0 && confirmed.contains("step=confirm ok"), "\(confirmed)")
        let welcome = try mail(named: "welcome-")
        let preferencesURL = try #require(
            welcome.firstMatch(of: /http:\/\/127\.0\.0\.1:\d+\/preferences\/[A-Za-z0-9_-]{43}/))

        let changed = try await browser([
            "preferences", String(preferencesURL.0), "Developer Tools", "Data & Analytics",
        ])
        #expect(changed.contains(#"before=["Developer Tools", "Documentation"]"#), "\(changed)")
        #expect(changed.contains(#"after=["Data & Analytics", "Documentation"]"#), "\(changed)")

        let store = try AppDatabase.open(path: directory.appendingPathComponent("subscribers/newsletter.sqlite").path)
        let reader = try await #require(try store.subscriber(email: "reader@example.org"))
        await #expect(
            try store.topicChoice(subscriberID: reader.id) == TopicChoice(["Data & Analytics", "Documentation"]))
        await #expect(
            try store.consentRecords(subscriberID: reader.id).map(\.event) == [
                "signup", "topics", "confirm", "preferences", "topics",
            ])

        // The week goes out in variants; the archive then has it.
        #expect(try await cli.run(["preview", "--week", "2026-W47"]).status == 0)
        #expect(try await cli.run(["approve", "--week", "2026-W47"]).status == 0)
        let send = try await cli.run(["send", "--week", "2026-W47"])
        #expect(send.status == 0, "\(send.stderr)")
        await #expect(try store.deliveryCounts(try IssueWeek(parsing: "2026-W47")) == [.sent: 1])

        #expect(try await browser(["pages", "\(base)/archive", "archive"]).contains("step=pages ok"))
        #expect(try await browser(["pages", "\(base)/archive/2026-W47", "archive-issue"]).contains("step=pages ok"))
    }
}
