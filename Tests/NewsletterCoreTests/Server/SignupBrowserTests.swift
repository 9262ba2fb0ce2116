import Foundation
import Testing

@testable import NewsletterCore

private let browserAvailable =
    FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")

/// A person subscribes, confirms, receives the digest and leaves with one click: the real
/// `newsletter` binary serving on loopback, headless Chromium pressing the buttons, and the
/// mail (file transport) read back for the links. Screenshots go to artefacts/signup-shots/.
@Suite(.serialized, .enabled(if: browserAvailable, "Chromium or chromedriver is not installed"))
struct SignupBrowserTests {
    let cli: CommandLineTests
    let port: Int
    var directory: URL { cli.directory }
    var shots: URL { TestPaths.repository.appendingPathComponent("artefacts/signup-shots") }

    init() throws {
        cli = try CommandLineTests()
        port = try SMTPSink.freePort()
        try """
        templates_dir = "\(TestPaths.repository.appendingPathComponent("templates").path)"
        [server]
        public_url = "http://127.0.0.1:\(port)"
        [summaries]
        enabled = false
        """.write(to: cli.directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
    }

    func browser(_ arguments: [String]) throws -> String {
        let (status, printed) = try TestPaths.runPythonScript("scripts/signup_flow.py", arguments + [shots.path])
        #expect(status == 0, "\(arguments[0]): \(printed)")
        return printed
    }

    /// The first `.eml` under `folder` whose name starts with `prefix`, waiting for the queue
    /// (for as long as a busy machine may need: the wait ends as soon as the mail is there).
    func mail(in folder: String, named prefix: String) throws -> String {
        let path = directory.appendingPathComponent(folder).path
        for _ in 0..<1200 {
            if let name = try? FileManager.default.contentsOfDirectory(atPath: path).sorted().first(where: {
                $0.hasPrefix(prefix) && $0.hasSuffix(".eml")
            }) {
                // Quoted-printable soft line breaks would split a long link.
                return try String(contentsOfFile: path + "/" + name, encoding: .utf8)
                    .replacingOccurrences(of: "=\r\n", with: "")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw MailNotFound(folder: folder, prefix: prefix)
    }

    struct MailNotFound: Error {
        var folder: String
        var prefix: String
    }

    @Test func subscribeConfirmReceiveTheDigestAndLeaveWithOneClick() throws {
        #expect(try cli.run(["ingest", TestPaths.examples.path]).status == 0)
        #expect(try cli.run(["preview", "--week", "2026-W47"]).status == 0)
        #expect(try cli.run(["approve", "--week", "2026-W47"]).status == 0)

        let server = Process()
        server.executableURL = CommandLineTests.executable
        server.arguments = ["serve", "--port", "\(port)"]
        server.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["NEWSLETTER_EDITOR_TOKEN"] = "editor-secret"
        server.environment = environment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        try SMTPSink.waitForListener(port: port)
        let base = "http://127.0.0.1:\(port)"

        #expect(try browser(["signup", base, "reader@example.org", "Rea <Der>"]).contains("step=signup ok"))
        let confirmation = try mail(in: "outbox/endpoint-mail", named: "confirmation-")
        let confirmURL = try #require(confirmation.firstMatch(of: /http:\/\/127\.0\.0\.1:\d+\/confirm\/[A-Za-z0-9_-]{43}/))
        #expect(try browser(["confirm", String(confirmURL.0)]).contains("step=confirm ok"))
        _ = try mail(in: "outbox/endpoint-mail", named: "welcome-")

        let send = try cli.run(["send", "--week", "2026-W47"])
        #expect(send.status == 0, "\(send.stderr)")
        let digest = try mail(in: "outbox/2026-W47/messages", named: "")
        #expect(digest.contains("To: \"Rea <Der>\" <reader@example.org>") || digest.contains("<reader@example.org>"))
        let unfolded = digest.replacingOccurrences(of: "\r\n ", with: " ")
        let unsubscribeURL = try #require(
            unfolded.firstMatch(of: /List-Unsubscribe: <(http:\/\/127\.0\.0\.1:\d+\/unsubscribe\/[A-Za-z0-9_-]{43})>/))
        #expect(try browser(["unsubscribe", String(unsubscribeURL.1)]).contains("step=unsubscribe ok"))

        let editor = try browser(["editor", "http://editor:editor-secret@127.0.0.1:\(port)/editor/issues/2026-W47"])
        #expect(editor.contains("step=editor ok widths=[375, 640]"))

        let store = try AppDatabase.open(path: directory.appendingPathComponent("subscribers/newsletter.sqlite").path)
        let reader = try #require(try store.subscriber(email: "reader@example.org"))
        #expect(reader.status == .unsubscribed && reader.name == "Rea <Der>")
        #expect(try store.consentRecords(subscriberID: reader.id).map(\.event) == ["signup", "confirm", "unsubscribe"])
        #expect(try store.consentRecords(subscriberID: reader.id).first?.clientAddress == "127.0.0.1")
        #expect(try store.consentRecords(subscriberID: reader.id).first?.userAgent?.contains("Chrome") == true)
    }
}
