import Foundation
import Logging
import Testing

@testable import NewsletterCore

/// A send's tasks each hold one pooled connection for the whole send (`withConnectionHeld`):
/// taken and given back per statement, every return left two pool timers alive for 30 and 60 s,
/// and one sender's memory grew by 60 MB at 1,500 messages a second. A held connection is lent
/// to one call at a time, and a lost one is replaced from the pool.
@Suite(.serialized, .runningStores)
struct PostgresHeldConnectionTests {
    let week = try! IssueWeek(parsing: "2026-W47")

    /// How many connections a send of an approved issue to `subscribers` took from the pool.
    func poolLeasesOfASend(to subscribers: Int) async throws -> Int {
        let store = try await PostgresStore.openRunning(try await PostgresCluster.freshDatabase())
        try await store.approveSendableIssue(week)
        try await store.addConfirmedReaders(subscribers)
        var settings = DeliverySettings(
            from: try MailAddress("digest@shiporskip.example"), listID: "weekly.shiporskip.example",
            publicURL: "https://news.example.org")
        settings.concurrency = 3
        settings.batchSize = 4
        settings.retries = 0
        let sink = try SMTPSink()
        let before = store.poolLeases.load(ordering: .relaxed)
        let summary = try await Mailer(store: store, settings: settings, logger: Logger(label: "tests")).send(
            week, through: SMTPTransport(settings: SMTPTransport.Settings(url: sink.url, allowPlaintext: true)))
        #expect(summary.sent == subscribers && summary.complete)
        return store.poolLeases.load(ordering: .relaxed) - before
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func aSendTakesAsManyPoolConnectionsForNinetyRecipientsAsForSix() async throws {
        let few = try await poolLeasesOfASend(to: 6)
        let many = try await poolLeasesOfASend(to: 90)
        // Per statement, 90 recipients in claims of 4 took well over a hundred.
        #expect(many == few, "\(few) pool leases for 6 recipients, \(many) for 90")
    }

    @Test func twoCallsAtOnceUnderOneHeldConnectionNeverShareIt() async throws {
        let store = try await PostgresStore.openRunning(try await PostgresCluster.freshDatabase())
        let (opened, open) = AsyncStream.makeStream(of: Int.self)
        let (finished, finish) = AsyncStream.makeStream(of: Void.self)
        try await store.withConnectionHeld {
            // A child task inherits the held connection; it has it while its transaction is open.
            async let first: Int = store.transaction { connection in
                let pid = try await connection.rows("SELECT pg_backend_pid()")[0].decode(Int.self)
                open.yield(pid)
                for await _ in finished { break }
                return pid
            }
            var pids = opened.makeAsyncIterator()
            let firstPID = try #require(await pids.next())
            let second = try await store.read { try await $0.rows("SELECT pg_backend_pid()")[0].decode(Int.self) }
            finish.yield()
            #expect(try await first == firstPID)
            #expect(second != firstPID, "the read ran on the connection of an open transaction")
            // Once the transaction is over, the held connection serves the next call again.
            let third = try await store.read { try await $0.rows("SELECT pg_backend_pid()")[0].decode(Int.self) }
            #expect(third == firstPID)
        }
    }

    @Test func aHeldConnectionTheServerEndedIsReplacedFromThePool() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let store = try await PostgresStore.openRunning(location)
        let pid: @Sendable (PostgresSession) async throws -> Int = {
            try await $0.rows("SELECT pg_backend_pid()")[0].decode(Int.self)
        }
        try await store.withConnectionHeld {
            let held = try await store.read(pid)
            #expect(try await store.read(pid) == held)
            _ = try await PostgresCluster.psql(location, "SELECT pg_terminate_backend(\(held))")
            // A read is run again on another connection; a write after it goes to the pool too.
            #expect(try await store.read(pid) != held)
            #expect(try await store.single(pid) != held)
        }
    }
}
