import Foundation
import Testing

/// `newsletter send` end to end: the examples previewed, approved and sent through smtp-sink,
/// and a real `kill -9` in the middle of a run.
@Suite(.serialized, .enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
struct SendCommandTests {
    let directory: URL

    init() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    func configure(_ sink: SMTPSink, concurrency: Int = 2) async throws {
        try """
        templates_dir = "\(TestPaths.repository.appendingPathComponent("templates").path)"
        \(TestConfig.delivery(to: sink, concurrency: concurrency))
        # Delivery is under test here, not the model (SummariesCommandTests runs it).
        [summaries]
        enabled = false
        """.write(to: directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
    }

    func newsletter(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let run = try await CommandLineTests.run(arguments, in: directory)
        return (run.status, run.stdout, run.stderr)
    }

    func prepareIssue(subscribers: Int) async throws {
        #expect(try await newsletter(["ingest", TestPaths.examples.path]).status == 0)
        #expect(try await newsletter(["send", "--week", "2026-W47"]).status == 4)  // no draft yet
        #expect(try await newsletter(["preview", "--week", "2026-W47"]).status == 0)
        #expect(try await newsletter(["send", "--week", "2026-W47"]).status == 4)  // not approved
        #expect(try await newsletter(["approve", "--week", "2026-W47"]).status == 0)
        for index in 0..<subscribers {
            #expect(try await newsletter(["subscribers", "add", "reader\(index)@example.org"]).status == 0)
        }
    }

    @Test func sendDeliversTheApprovedIssueOnceAndASecondRunSendsNothing() async throws {
        let sink = try SMTPSink()
        try await configure(sink)
        try await prepareIssue(subscribers: 5)
        let first = try await newsletter(["send", "--week", "2026-W47"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("5 sent") && first.stdout.contains("complete"))
        let second = try await newsletter(["send", "--week", "2026-W47"])
        #expect(second.status == 0 && second.stdout.contains("0 sent"))
        #expect(try sink.recipients().count == 5)
        let dump = try #require(try sink.messages().first)
        #expect(dump.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"))
        #expect(dump.contains("Inkwell"))
    }

    @Test func aServerThatIsDownGivesExitStatus69() async throws {
        let sink = try SMTPSink()
        try await configure(sink)
        try await prepareIssue(subscribers: 2)
        kill(sink.process.processIdentifier, SIGKILL)
        sink.process.waitUntilExit()
        let run = try await newsletter(["send", "--week", "2026-W47"])
        #expect(run.status == 69)
        #expect(run.stderr.contains("mail server failed"))
    }

    /// The ledger stops recording mid-send (its disk full): the send says the store failed,
    /// with the store's error, and exits 74, not the mail server's 69; the next send, with room
    /// again, sends everyone else.
    @Test func aLedgerThatCannotRecordGivesTheStoresExitStatus74() async throws {
        let sink = try SMTPSink()
        try await configure(sink)
        try await prepareIssue(subscribers: 6)
        let storePath = directory.appendingPathComponent("subscribers/newsletter.sqlite").path
        try LedgerFull.install(atPath: storePath, afterSent: 2)
        let run = try await newsletter(["send", "--week", "2026-W47"])
        #expect(run.status == 74, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("the store failed, so the run stopped"), "\(run.stderr)")
        #expect(run.stderr.contains("the ledger could not record a delivery (SQLite error 19: database or disk is full"))
        #expect(!run.stderr.contains("mail server failed"))

        try LedgerFull.remove(atPath: storePath)
        let again = try await newsletter(["send", "--week", "2026-W47"])
        #expect(again.status == 0, "\(again.stderr)")
        let all = try sink.recipients()
        #expect(Set(all) == Set((0..<6).map { "reader\($0)@example.org" }), "nobody missing")
        #expect(all.count - Set(all).count <= 2, "only the in-flight message of each connection twice")
    }

    /// `kill -9` mid-run, then a new run: nobody is missing, and only messages that were in
    /// flight (at most one per connection) can arrive twice.
    @Test func aKilledRunResumesWithoutLosingAnyone() async throws {
        let slow = try SMTPSink(faults: ["-w", "1"])  // one second before each DATA reply
        try await configure(slow, concurrency: 2)
        let count = 12
        try await prepareIssue(subscribers: count)
        let killed = try CommandLineTests.runKilled(["send", "--week", "2026-W47"], in: directory) {
            try slow.recipients().count >= 2
        }
        #expect(killed, "the send ended before it could be killed")
        let beforeKill = try slow.recipients()
        #expect(beforeKill.count < count, "the run should have been interrupted")

        let fast = try SMTPSink()
        try await configure(fast, concurrency: 2)
        let resumed = try await newsletter(["send", "--week", "2026-W47"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("resumed after an interrupted run") || beforeKill.isEmpty)
        let all = beforeKill + (try fast.recipients())
        let expected = Set((0..<count).map { "reader\($0)@example.org" })
        #expect(Set(all) == expected, "nobody missing")
        let duplicates = all.count - Set(all).count
        #expect(duplicates <= 2, "at most one in-flight message per connection: \(duplicates)")
    }
}

extension SendCommandTests {
    @Test func aSecondSendWhileOneIsRunningIsRefused() async throws {
        let sink = try SMTPSink()
        try await configure(sink)
        try await prepareIssue(subscribers: 2)
        var holder: RunLockHolder? = try RunLockHolder(
            path: directory.appendingPathComponent("subscribers/send.lock").path)
        let run = try await newsletter(["send", "--week", "2026-W47"])
        #expect(run.status == 75 && run.stderr.contains("another run holds"))
        #expect(holder != nil)
        holder = nil  // the other run ends
        #expect(try await newsletter(["send", "--week", "2026-W47"]).status == 0)
    }
}

import NewsletterCore

/// Holds the send lock as a concurrent run would, released when dropped.
final class RunLockHolder {
    let lock: RunLock
    init(path: String) throws { lock = try RunLock(path: path) }
}
