import Foundation
import Testing

/// `newsletter bounces import|fetch|list`, `status` and `config` as an editor runs them.
@Suite(
    .serialized,
    .enabled(if: SMTPSink.available && DovecotServer.available, "smtp-sink or Dovecot (Debian) is not installed"))
struct BouncesCommandTests {
    @Test func importFetchListStatusAndConfig() throws {
        let scenario = try BounceScenario(subscribers: 10)
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
        let imported = try CommandLineTests.run(["bounces", "import"] + fromFiles.map(\.path), in: scenario.directory)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("6 messages"))
        for (_, path) in fromMailbox { try dovecot.deliver(TestPaths.bytes(URL(fileURLWithPath: path))) }
        let fetched = try CommandLineTests.run(["bounces", "fetch"], in: scenario.directory)
        #expect(fetched.status == 1, "\(fetched.stdout) \(fetched.stderr)")  // two refused
        #expect(fetched.stderr.contains("malformed multipart") && fetched.stderr.contains("not on the list"))

        let list = try CommandLineTests.run(["bounces", "list", "--week", "2026-W47"], in: scenario.directory)
        #expect(list.status == 0)
        #expect(list.stdout.contains("3 hard, 2 soft, 1 policy, 2 auto-replies ignored, 1 complaint"), "\(list.stdout)")
        #expect(list.stdout.contains("10.00 % of 10 delivered"))
        #expect(list.stdout.contains("warning: complaint rate"))
        #expect(list.stdout.contains("warning: 1 policy refusal"))

        let status = try CommandLineTests.run(["status", "--week", "2026-W47"], in: scenario.directory)
        #expect(status.stdout.contains("bounces: 3 hard, 2 soft"), "\(status.stdout)")

        let config = try CommandLineTests.run(["config"], in: scenario.directory)
        #expect(config.stdout.contains("bounces.password:        (set)"))
        #expect(!config.stdout.contains(DovecotServer.password))
        #expect(!fetched.stdout.contains(DovecotServer.password) && !fetched.stderr.contains(DovecotServer.password))

        let missing = try CommandLineTests.run(["bounces", "import", "/nonexistent.eml"], in: scenario.directory)
        #expect(missing.status == 1 && missing.stderr.contains("/nonexistent.eml: cannot be read"))
    }
}
