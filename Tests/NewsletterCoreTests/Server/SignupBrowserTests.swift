import Foundation
import Testing

@testable import NewsletterCore

/// A person subscribes, confirms, receives the digest and leaves with one click: the real
/// `newsletter` binary serving on loopback, headless Chromium pressing the buttons, and the
/// mail (file transport) read back for the links. Screenshots go to artefacts/signup-shots/.
@Suite(.serialized, .enabled(if: EndpointMailFiles.browserAvailable, "Chromium or chromedriver is not installed"))
struct SignupBrowserTests {
    let served: ServedDirectory
    var cli: CommandLineTests { served.cli }
    var port: Int { served.port }
    var directory: URL { served.directory }
    var shots: URL { TestPaths.repository.appendingPathComponent("artefacts/signup-shots") }

    init() throws {
        served = try ServedDirectory()
    }

    func browser(_ arguments: [String]) async throws -> String {
        let (status, printed) = try await TestPaths.runPythonScript("scripts/signup_flow.py", arguments + [shots.path])
        #expect(status == 0, "\(arguments[0]): \(printed)")
        return printed
    }

    func mail(in folder: String, named prefix: String) throws -> String {
        try EndpointMailFiles.first(in: directory.appendingPathComponent(folder), named: prefix)
    }

    @Test func subscribeConfirmReceiveTheDigestAndLeaveWithOneClick() async throws {
        #expect(try await cli.run(["ingest", TestPaths.examples.path]).status == 0)
        #expect(try await cli.run(["preview", "--week", "2026-W47"]).status == 0)
        #expect(try await cli.run(["approve", "--week", "2026-W47"]).status == 0)

        let server = try served.start(environment: ["NEWSLETTER_EDITOR_TOKEN": "editor-secret"])
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let base = served.base

        #expect(try await browser(["signup", base, "reader@example.org", "Rea <Der>"]).contains("step=signup ok"))
        let confirmation = try mail(in: "outbox/endpoint-mail", named: "confirmation-")
        let confirmURL = try #require(
            confirmation.firstMatch(of: /http:\/\/127\.0\.0\.1:\d+\/confirm\/[A-Za-z0-9_-]{43}/))
        #expect(try await browser(["confirm", String(confirmURL.0)]).contains("step=confirm ok"))
        _ = try mail(in: "outbox/endpoint-mail", named: "welcome-")

        let send = try await cli.run(["send", "--week", "2026-W47"])
        #expect(send.status == 0, "\(send.stderr)")
        let digest = try mail(in: "outbox/2026-W47/messages", named: "")
        let unfolded = digest.replacingOccurrences(of: "\r\n ", with: " ")
        // The name typed in the form, quoted (its "<" and ">" are specials), before the address.
        let to = unfolded.components(separatedBy: "\r\n").first { $0.hasPrefix("To: ") }
        #expect(to == "To: \"Rea <Der>\" <reader@example.org>", "\(digest)")
        let unsubscribeURL = try #require(
            unfolded.firstMatch(of: /List-Unsubscribe: <(http:\/\/127\.0\.0\.1:\d+\/unsubscribe\/[A-Za-z0-9_-]{43})>/))
        #expect(try await browser(["unsubscribe", String(unsubscribeURL.1)]).contains("step=unsubscribe ok"))

        let editor = try await browser([
            "editor", "http://editor:editor-secret@127.0.0.1:\(port)/editor/issues/2026-W47",
        ])
        #expect(editor.contains("step=editor ok widths=[375, 640]"))

        let store = try AppDatabase.open(path: directory.appendingPathComponent("subscribers/newsletter.sqlite").path)
        let reader = try await #require(try store.subscriber(email: "reader@example.org"))
        #expect(reader.status == .unsubscribed && reader.name == "Rea <Der>")
        await #expect(
            try store.consentRecords(subscriberID: reader.id).map(\.event) == ["signup", "confirm", "unsubscribe"])
        await #expect(try store.consentRecords(subscriberID: reader.id).first?.clientAddress == "127.0.0.1")
        await #expect(try store.consentRecords(subscriberID: reader.id).first?.userAgent?.contains("Chrome") == true)
    }
}
