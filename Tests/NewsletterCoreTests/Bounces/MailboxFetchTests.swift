import Foundation
import Logging
import NewsletterCore
import Testing

/// `bounces fetch` against a real Dovecot over IMAP and POP3 with STARTTLS: the corpus becomes
/// the expected subscriber states, only what was stored leaves the mailbox, and nothing is
/// counted twice.
@Suite(
    .serialized,
    .enabled(if: SMTPSink.available && DovecotServer.available, "smtp-sink or Dovecot (Debian) is not installed"))
struct MailboxFetchTests {
    let logger = Logger(label: "tests")

    func client(_ dovecot: DovecotServer, _ kind: MailboxClient.Kind, password: String = DovecotServer.password)
        -> MailboxClient
    {
        var settings = MailboxClient.Settings(
            url: kind == .imap ? dovecot.imapURL : dovecot.pop3URL, username: DovecotServer.user, password: password)
        settings.caFile = dovecot.caFile
        return MailboxClient(settings: settings)
    }

    @Test(arguments: [MailboxClient.Kind.imap, .pop3])
    func fetchTurnsTheCorpusIntoTheExpectedStates(kind: MailboxClient.Kind) async throws {
        let scenario = try await BounceScenario(subscribers: 10)
        let dovecot = try DovecotServer()
        let files = try scenario.corpusFiles()
        for (_, path) in files { try dovecot.deliver(TestPaths.bytes(URL(fileURLWithPath: path))) }
        try dovecot.deliver(scenario.largeBounce(subscriber: 9, megabytes: 10))

        let summary = try scenario.processor().fetch(from: client(dovecot, kind), logger: logger)
        #expect(summary.messages == files.count + 1, "\(summary.refused) \(dovecot.log)")
        #expect(summary.learnt[.hard] == 4 && summary.learnt[.soft] == 2 && summary.learnt[.policy] == 1)
        #expect(summary.learnt[.autoReply] == 2 && summary.learnt[.complaint] == 1)
        #expect(summary.refused.count == 2)
        #expect(summary.refused.contains { $0.contains("malformed multipart") })
        #expect(summary.refused.contains { $0.contains("not on the list") })
        for (expectation, _) in files {
            if let index = expectation.subscriber, let state = expectation.state {
                #expect(try scenario.status(index) == state, "\(expectation.file): reader\(index)")
            }
        }
        #expect(try scenario.status(9) == .bounced)
        // Only the two refused messages are left.
        #expect(try dovecot.messageCount() == 2)

        // The next fetch sees only those two, and counts nothing again.
        let tally = try scenario.store.bounceTally(scenario.week)
        let again = try scenario.processor().fetch(from: client(dovecot, kind), logger: logger)
        #expect(again.messages == 2 && again.learnt.isEmpty && again.refused.count == 2)
        // The same two messages, read and refused for what they are (IMAP UIDs, not sequence
        // numbers: these two are no longer the first in the mailbox).
        #expect(again.refused.contains { $0.contains("malformed multipart") }, "\(again.refused)")
        #expect(again.refused.contains { $0.contains("not on the list") }, "\(again.refused)")
        #expect(try scenario.store.bounceTally(scenario.week) == tally)
    }

    /// A mailbox with hundreds of messages is read and emptied in one fetch: libcurl holds one
    /// transfer's response lines to 300 kB, which a single EXPUNGE of 700 messages passed ("Too
    /// large response headers"), so the session expunges by UID in groups.
    @Test(arguments: [MailboxClient.Kind.imap, .pop3])
    func aMailboxOfManyMessagesIsReadInOneSession(kind: MailboxClient.Kind) throws {
        let dovecot = try DovecotServer()
        let count = 700
        for index in 0..<count {
            try dovecot.deliver(
                Array(
                    "From: someone@example.net\r\nTo: bounces@example.org\r\nSubject: note \(index)\r\nMessage-ID: <note-\(index)@example.net>\r\n\r\nhello \(index)\r\n"
                        .utf8))
        }
        let session = try client(dovecot, kind).connect()
        let messages = try session.list()
        #expect(messages.count == count)
        for (index, message) in messages.enumerated() {
            do {
                #expect(String(decoding: try session.retrieve(message), as: UTF8.self).contains("hello "))
            } catch { Issue.record("retrieve \(index): \(error)"); return }
            do { try session.delete(message) } catch { Issue.record("delete \(index): \(error)"); return }
        }
        do { try session.finish() } catch { Issue.record("finish: \(error)") }
    }

    @Test(arguments: [MailboxClient.Kind.imap, .pop3])
    func messagesStoredBeforeACrashAreDeletedNotCountedAgain(kind: MailboxClient.Kind) async throws {
        let scenario = try await BounceScenario(subscribers: 10)
        let dovecot = try DovecotServer()
        let files = try scenario.corpusFiles().filter { !$0.expectation.outcome.hasPrefix("refused") }
        for (_, path) in files { try dovecot.deliver(TestPaths.bytes(URL(fileURLWithPath: path))) }
        // As if a fetch had stored these and died before deleting them.
        _ = try scenario.processor().importFiles(files.map(\.path))
        let tally = try scenario.store.bounceTally(scenario.week)
        // ... and one of them deleted by a session that ended without finish(): IMAP leaves it
        // flagged \Deleted, not expunged (the fetch skips and expunges it); POP3's QUIT at the
        // handle's end removes it.
        do {
            let session = try client(dovecot, kind).connect()
            try session.delete(try #require(try session.list().first))
        }
        let flagged = 1

        let summary = try scenario.processor().fetch(from: client(dovecot, kind), logger: logger)
        #expect(summary.duplicates == files.count - flagged && summary.learnt.isEmpty)
        #expect(summary.deleted == files.count - flagged)
        #expect(try dovecot.messageCount() == 0)
        #expect(try scenario.store.bounceTally(scenario.week) == tally)
    }

    @Test func theServersCertificateIsVerifiedAndAWrongPasswordNamesTheMailboxNotThePassword() throws {
        let dovecot = try DovecotServer()
        var untrusted = client(dovecot, .imap).settings
        untrusted.caFile = nil  // a self-signed certificate the system does not trust
        #expect(throws: MailboxError.self) { try MailboxClient(settings: untrusted).connect().list() }

        do {
            _ = try client(dovecot, .pop3, password: "wrong-password-xyz").connect().list()
            Issue.record("a wrong password was accepted")
        } catch {
            #expect(error.description.contains("127.0.0.1:\(dovecot.pop3Port)"))
            #expect(!error.description.contains("wrong-password-xyz"))
        }
        // The right one works, over STARTTLS.
        #expect(try client(dovecot, .imap).connect().list().isEmpty)
    }
}
