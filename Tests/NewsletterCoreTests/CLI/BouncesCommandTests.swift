import Foundation
import Testing

/// `newsletter bounces import|fetch|list`, `status` and `config` as an editor runs them.
@Suite(
    .serialized,
    .enabled(if: SMTPSink.available && DovecotServer.available, "smtp-sink or Dovecot (Debian) is not installed"))
struct BouncesCommandTests {
    @Test func importFetchListStatusAndConfig() async throws {
        let scenario = try await BounceScenario(subscribers: 10)
        let dovecot = try DovecotServer()
        let files = try scenario.corpusFiles()
        try """
        store.path = "newsletter.sqlite"
        [mail]
        bounce_address = "\(BounceScenario.bounceAddress)"
        [bounces]
        mailbox_url = "\(dovecot.imapURL)"
        username = "\(DovecotServer.user)"
        password = "\(DovecotServer.password)"
        ca_file = "\(dovecot.caFile)"
        """.write(
            to: scenario.directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)

        // Half the corpus from files, the other half through the mailbox.
        let (fromFiles, fromMailbox) = (files.prefix(6), files.dropFirst(6))
        let imported = try await CommandLineTests.run(["bounces", "import"] + fromFiles.map(\.path), in: scenario.directory)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("6 messages"))
        for (_, path) in fromMailbox { try dovecot.deliver(TestPaths.bytes(URL(fileURLWithPath: path))) }
        let fetched = try await CommandLineTests.run(["bounces", "fetch"], in: scenario.directory)
        #expect(fetched.status == 1, "\(fetched.stdout) \(fetched.stderr)")  // two refused
        #expect(fetched.stderr.contains("malformed multipart") && fetched.stderr.contains("not on the list"))

        let list = try await CommandLineTests.run(["bounces", "list", "--week", "2026-W47"], in: scenario.directory)
        #expect(list.status == 0)
        #expect(list.stdout.contains("3 hard, 2 soft, 1 policy, 2 auto-replies ignored, 1 complaint"), "\(list.stdout)")
        #expect(list.stdout.contains("10.00 % of 10 delivered"))
        #expect(list.stdout.contains("warning: complaint rate"))
        #expect(list.stdout.contains("warning: 1 policy refusal"))

        let status = try await CommandLineTests.run(["status", "--week", "2026-W47"], in: scenario.directory)
        #expect(status.stdout.contains("bounces: 3 hard, 2 soft"), "\(status.stdout)")

        let config = try await CommandLineTests.run(["config"], in: scenario.directory)
        #expect(config.stdout.contains("bounces.password:        (set)"))
        #expect(!config.stdout.contains(DovecotServer.password))
        #expect(!fetched.stdout.contains(DovecotServer.password) && !fetched.stderr.contains(DovecotServer.password))

        let missing = try await CommandLineTests.run(["bounces", "import", "/nonexistent.eml"], in: scenario.directory)
        #expect(missing.status == 1 && missing.stderr.contains("/nonexistent.eml: cannot be read"))
    }

    @Test func runFetchesBouncesBeforeItSendsAndAnUnreachableMailboxDoesNotStopIt() async throws {
        let directory = try TestPaths.temporaryDirectory()
        let sink = try SMTPSink()
        let dovecot = try DovecotServer()
        try dovecot.deliver(
            Array(
                "To: bounces@shiporskip.example\r\nFrom: reader0@example.org\r\nSubject: Out of office\r\nMessage-ID: <ooo-run@example.org>\r\nAuto-Submitted: auto-replied\r\n\r\nAway.\r\n"
                    .utf8))
        func configure(mailbox: String) async throws {
            try """
            templates_dir = "\(TestPaths.repository.appendingPathComponent("templates").path)"
            [ingest]
            sources = ["\(TestPaths.examples.path)"]
            [run]
            missed = "send-late"
            approval = "auto"
            [mail]
            from = "digest@shiporskip.example"
            bounce_address = "\(BounceScenario.bounceAddress)"
            [smtp]
            url = "\(sink.url)"
            allow_plaintext = true
            [summaries]
            enabled = false
            [bounces]
            mailbox_url = "\(mailbox)"
            username = "\(DovecotServer.user)"
            password = "\(DovecotServer.password)"
            ca_file = "\(dovecot.caFile)"
            connect_timeout_seconds = 2
            """.write(to: directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
        }
        try await configure(mailbox: dovecot.imapURL)
        for index in 0..<2 {
            #expect(
                try await CommandLineTests.run(["subscribers", "add", "reader\(index)@example.org"], in: directory).status
                    == 0)
        }
        let run = try await CommandLineTests.run(["run", "--week", "2026-W47"], in: directory)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        let fetched = try #require(
            lines.firstIndex { $0.hasPrefix("bounces: 1 message: 1 autoReply") }, "\(run.stdout)")
        let summary = try #require(lines.firstIndex { $0.hasPrefix("newsletter run: ok") })
        #expect(fetched < summary)
        #expect(try dovecot.messageCount() == 0)
        #expect(try sink.recipients().count == 2)

        // A mailbox that cannot be reached is reported; the run goes on (nothing left to send).
        try await configure(mailbox: "imap://127.0.0.1:\(try SMTPSink.freePort())/INBOX")
        let again = try await CommandLineTests.run(["run", "--week", "2026-W47"], in: directory)
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(again.stderr.contains("bounces not fetched"), "\(again.stderr)")
    }
}
