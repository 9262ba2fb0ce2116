import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import NewsletterCore

/// Outcomes recorded in groups (issue 16), with the same crash window as one commit per message.
@Suite(.serialized)
struct LedgerCommitterTests {
    let directory: URL
    let store: AppDatabase
    let week = try! IssueWeek(parsing: "2026-W47")

    init() async throws {
        directory = try TestPaths.temporaryDirectory()
        store = try AppDatabase.open(path: directory.appendingPathComponent("newsletter.sqlite").path)
        try await store.saveDraft(
            IssueDraft(
                week: week, subject: "Ship or Skip", html: "<p>%%GREETING%%</p>",
                text: "%%GREETING%%\nUnsubscribe: %%UNSUBSCRIBE_URL%%\n", manifest: "{}", comparisonIDs: [],
                hash: "h1"))
        try await store.approve(week, hash: "h1", at: Date())
    }

    /// A peer that, before taking each message, checks that the ledger already shows every earlier
    /// message of the same connection as recorded (sent or deferred): what a kill at that moment could duplicate is only
    /// the message on the wire.
    final class CheckingTransport: MailTransport {
        let store: AppDatabase
        let week: IssueWeek
        let violations = Mutex<[String]>([])
        let accepted = Mutex(0)
        var name: String { "checking" }

        init(store: AppDatabase, week: IssueWeek) {
            self.store = store
            self.week = week
        }

        func makeSession() throws(TransportUnavailable) -> any MailSession { Session(transport: self) }

        final class Session: MailSession {
            let transport: CheckingTransport
            var earlier: [String] = []
            init(transport: CheckingTransport) { self.transport = transport }

            func send(_ message: [UInt8], from: String, to: String, reference: String) throws(TransportUnavailable)
                -> SendOutcome
            {
                // Read synchronously, as a server would check while the sender waits on it.
                let week = transport.week.description
                let sent = Set(
                    (try? transport.store.reader.read { db in
                        try String.fetchAll(
                            db,
                            sql: """
                                SELECT s.email FROM delivery d JOIN subscriber s ON s.id = d.subscriber_id
                                WHERE d.week = ? AND d.state IN ('sent', 'deferred')
                                """, arguments: [week])
                    }) ?? [])
                let unrecorded = earlier.filter { !sent.contains($0) }
                if !unrecorded.isEmpty {
                    transport.violations.withLock { $0.append("\(to) sent while \(unrecorded) unrecorded") }
                }
                earlier.append(to)
                transport.accepted.withLock { $0 += 1 }
                // Every fifth recipient is deferred, so both kinds of outcome go through the groups.
                return reference.hasSuffix("5") ? .transient(reply: "451 try later") : .sent(reply: "250 ok")
            }

            func close() {}
        }
    }

    @Test func aConnectionSendsItsNextMessageOnlyOnceItsLastOutcomeIsRecorded() async throws {
        for index in 0..<120 {
            _ = try await store.addSubscriber(email: "reader\(index)@example.org", name: nil, status: .confirmed)
        }
        var settings = DeliverySettings(
            from: try MailAddress("digest@shiporskip.example"), listID: "weekly.example", publicURL: "https://n.example"
        )
        settings.concurrency = 4
        settings.batchSize = 5
        settings.retries = 0
        let transport = CheckingTransport(store: store, week: week)
        let summary = try await Mailer(store: store, settings: settings, logger: Logger(label: "tests")).send(
            week, through: transport)
        #expect(transport.violations.withLock { $0 }.isEmpty)
        #expect(transport.accepted.withLock { $0 } == 120)
        let counts = try await store.deliveryCounts(week)
        #expect(summary.sent + summary.deferred == 120)
        #expect(counts[.sent] == summary.sent && counts[.deferred] == summary.deferred)
        #expect(summary.deferred > 0 && counts[.sending] == nil)
    }

    @Test func recordDeliveriesRecordsSentAndDeferredRowsOnlyWhereTheyAreClaimed() async throws {
        for index in 0..<4 {
            _ = try await store.addSubscriber(email: "r\(index)@example.org", name: nil, status: .confirmed)
        }
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        let claims = try await store.claimDeliveries(week, limit: 3, runStarted: Date())
        #expect(claims.count == 3)
        let pending = try #require(try await store.deliveryReplies(week, state: .pending).first)
        let unclaimed = try #require(try await store.subscriber(email: pending.email)?.id)
        let ledger: any DeliveryLedger = store
        try await ledger.recordDeliveries(
            week,
            [
                .sent(subscriberID: claims[0].subscriber.id, messageID: "m0@example", reply: "250 ok"),
                .deferred(subscriberID: claims[1].subscriber.id, reply: "451 later"),
                // Not claimed: nothing changes for it.
                .sent(subscriberID: unclaimed, messageID: "mx@example", reply: "250 ok"),
            ])
        await #expect(try store.deliveryCounts(week) == [.sent: 1, .deferred: 1, .sending: 1, .pending: 1])
        await #expect(try store.deliveryReplies(week, state: .deferred).map(\.reply) == ["451 later"])
    }

    /// A peer that takes every message and remembers, per connection, to whom.
    final class RecordingTransport: MailTransport {
        let connections = Mutex<[[String]]>([])
        var name: String { "recording" }

        func makeSession() throws(TransportUnavailable) -> any MailSession {
            let index = connections.withLock {
                $0.append([]); return $0.count - 1
            }
            return Session(transport: self, index: index)
        }

        var copies: [String: Int] {
            connections.withLock { $0.joined().reduce(into: [:]) { $0[$1, default: 0] += 1 } }
        }

        final class Session: MailSession {
            let transport: RecordingTransport
            let index: Int
            init(transport: RecordingTransport, index: Int) {
                self.transport = transport
                self.index = index
            }

            func send(_ message: [UInt8], from: String, to: String, reference: String) throws(TransportUnavailable)
                -> SendOutcome
            {
                transport.connections.withLock { $0[index].append(to) }
                return .sent(reply: "250 ok")
            }

            func close() {}
        }
    }

    /// The ledger's disk fills in the middle of a send (a real SQLite error, raised by a trigger
    /// once seven deliveries are recorded): the run stops with the reason, counts as sent only
    /// what the ledger holds, leaves each connection's unrecorded message in flight (and sends
    /// nothing after it), and loses nobody: the next run, with room again, sends everyone else,
    /// and only the messages that were in flight twice.
    @Test func aLedgerThatCannotRecordStopsTheSendWithoutCountingOrLosingAMessage() async throws {
        let readers = (0..<60).map { "reader\($0)@example.org" }
        for email in readers { _ = try await store.addSubscriber(email: email, name: nil, status: .confirmed) }
        try LedgerFull.install(in: store, afterSent: 7)
        var settings = DeliverySettings(
            from: try MailAddress("digest@shiporskip.example"), listID: "weekly.example", publicURL: "https://n.example"
        )
        settings.concurrency = 3
        settings.batchSize = 4
        settings.retries = 0
        let time = ManualTime()
        var mailer = Mailer(store: store, settings: settings, logger: Logger(label: "tests"))
        mailer.time = time
        let first = RecordingTransport()

        let error = try await #require(throws: DeliveryError.self) { try await mailer.send(week, through: first) }
        // The store's failure, not the mail server's: said so, with the store's own error and
        // what to do, and the store's exit status.
        guard case .storeFailed(let reason, let summary) = error else {
            Issue.record("expected the run to stop as a store failure, got \(error)")
            return
        }
        #expect(reason.contains("the ledger could not record a delivery"))
        #expect(reason.contains("database or disk is full"))
        #expect(error.description.hasPrefix("the store failed, so the run stopped"))
        #expect(error.description.contains("Free space on the store's disk"))
        #expect(!error.description.contains("mail server"))
        #expect(error.exitStatus == .storeError)
        // The committer retried before giving up (on the injected clock).
        #expect(time.sleeps.count >= LedgerCommitter<AppDatabase>.attempts - 1)

        let sent = Set(try await store.deliveryReplies(week, state: .sent).map(\.email))
        let inFlight = Set(try await store.deliveryReplies(week, state: .sending).map(\.email))
        let pending = Set(try await store.deliveryReplies(week, state: .pending).map(\.email))
        #expect(sent.count <= 7)
        #expect(summary.sent == sent.count)
        #expect(!inFlight.isEmpty && inFlight.count <= settings.concurrency)
        for connection in first.connections.withLock({ $0 }) {
            // A connection sends its next message only once its last is recorded.
            #expect(connection.dropLast().allSatisfy(sent.contains))
        }
        let transmitted = Set(first.copies.keys)
        #expect(transmitted == sent.union(inFlight))
        #expect(pending.isDisjoint(with: transmitted))
        #expect(sent.count + inFlight.count + pending.count == readers.count)

        try LedgerFull.remove(from: store)
        let second = RecordingTransport()
        let again = try await mailer.send(week, through: second)
        #expect(again.complete && again.resumed == inFlight.count)
        await #expect(try store.deliveryCounts(week) == [.sent: readers.count])
        var copies = first.copies
        for (email, count) in second.copies { copies[email, default: 0] += count }
        #expect(Set(copies.keys) == Set(readers))
        #expect(Set(copies.filter { $0.value > 1 }.keys) == inFlight)
        #expect(copies.values.allSatisfy { $0 <= 2 })
    }

    /// A ledger that only keeps what it is asked to record, group by group; given a gate, its
    /// first commit signals `entered` and waits for `release`.
    final class CountingLedger: DeliveryLedger {
        let groups = Mutex<[[Int64]]>([])
        let gate: (entered: DispatchSemaphore, release: DispatchSemaphore)?

        init(gate: (entered: DispatchSemaphore, release: DispatchSemaphore)? = nil) {
            self.gate = gate
        }

        var recorded: [Int64] { groups.withLock { $0.flatMap { $0 } } }

        func recordDeliveries(_ week: IssueWeek, _ records: [DeliveryRecord]) throws {
            if let gate, groups.withLock({ $0.isEmpty }) {
                gate.entered.signal()
                gate.release.wait()
            }
            groups.withLock { $0.append(records.map(\.subscriberID)) }
        }

        func prepareDelivery(_ week: IssueWeek, addSubscribers: Bool) throws -> (added: Int, resumed: Int) { (0, 0) }
        func claimDeliveries(_ week: IssueWeek, limit: Int, runStarted: Date) throws -> [DeliveryClaim] { [] }
        func recordSent(_ week: IssueWeek, subscriberID: Int64, messageID: String, reply: String) throws {}
        func recordDeferred(_ week: IssueWeek, subscriberID: Int64, reply: String) throws {}
        func recordFailed(
            _ week: IssueWeek, subscriberID: Int64, reply: String, refusal: BounceEvidence, rule: BounceRule,
            at time: Date
        ) throws {}
        func releaseClaims(_ week: IssueWeek, subscriberIDs: [Int64]) throws {}
        func recordSkipped(_ week: IssueWeek, subscriberID: Int64, reason: String) throws {}
        func finishDelivery(_ week: IssueWeek) throws {}
        func ensureClaimsHeld(_ week: IssueWeek) throws {}
        func takeSendTokens(_ wanted: Int, limit: ListSendLimit, bucket: String, at time: Date) throws -> Int { wanted }
        func deliveryCounts(_ week: IssueWeek) throws -> [DeliveryState: Int] { [:] }
        var admitsConcurrentSenders: Bool { false }
        func liveSenders(_ week: IssueWeek, at time: Date) throws -> [SenderStatus] { [] }
        func deliveryReplies(_ week: IssueWeek, state: DeliveryState) throws -> [(email: String, reply: String)] { [] }
    }

    /// Eight workers on threads of their own hand over and await 300 outcomes each, with one
    /// committing task: every outcome is recorded exactly once, each before its worker hears so,
    /// and nobody waits for ever.
    @Test func everyOutcomeIsRecordedOnceAndBeforeItsWorkerHears() async throws {
        let ledger = CountingLedger()
        let committer = LedgerCommitter(ledger: ledger, week: week, time: ManualTime())
        let workers = 8
        let perWorker = 300
        let early = Mutex<[Int64]>([])
        async let drained: Void = ThreadExecutor.withOwnThread { await committer.drain() }
        await ThreadExecutor.run(count: workers) { worker in
            var pipeline = OutcomePipeline(committer: committer)
            for index in 0..<perWorker {
                let id = Int64(worker * perWorker + index)
                pipeline.submit(.sent(subscriberID: id, messageID: "m\(id)", reply: "250")) {
                    if !ledger.recorded.contains(id) { early.withLock { $0.append(id) } }
                }
                try? await pipeline.awaitCommitted()
            }
        }
        committer.close()
        await drained
        let recorded = ledger.recorded
        #expect(recorded.count == workers * perWorker)
        #expect(Set(recorded) == Set((0..<Int64(workers * perWorker))))
        #expect(early.withLock { $0 }.isEmpty)
    }

    /// The outcomes three connections hand over while a commit is running go into the ledger
    /// together, in the one transaction after it: the connections do not take turns at the
    /// writer once per message.
    @Test func outcomesHandedOverDuringACommitAreCommittedTogetherNext() async throws {
        let gate = (entered: DispatchSemaphore(value: 0), release: DispatchSemaphore(value: 0))
        let ledger = CountingLedger(gate: gate)
        let committer = LedgerCommitter(ledger: ledger, week: week, time: ManualTime())
        async let drained: Void = ThreadExecutor.withOwnThread { await committer.drain() }
        var pipelines = (0..<4).map { _ in OutcomePipeline(committer: committer) }
        pipelines[0].submit(.sent(subscriberID: 0, messageID: "m0", reply: "250"))
        try await Blocking.run { gate.entered.wait() }
        for index in 1..<4 {
            pipelines[index].submit(.deferred(subscriberID: Int64(index), reply: "451"))
        }
        gate.release.signal()
        for index in 0..<4 { try await pipelines[index].awaitCommitted() }
        committer.close()
        await drained
        #expect(ledger.groups.withLock { $0 } == [[0], [1, 2, 3]])
    }
}

/// A ledger whose disk "fills": a trigger raises SQLite's own full-disk error once `count`
/// deliveries are recorded as sent (a real store error, which a real full disk cannot be made to
/// give on demand).
enum LedgerFull {
    static func install(in store: AppDatabase, afterSent count: Int) throws {
        try store.writer.write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER ledgerFull BEFORE UPDATE OF state ON delivery
                    WHEN NEW.state = 'sent' AND (SELECT COUNT(*) FROM delivery WHERE state = 'sent') >= \(count)
                    BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END
                    """)
        }
    }

    /// The same, in the store a command's data directory holds.
    static func install(atPath path: String, afterSent count: Int) throws {
        try install(in: try AppDatabase.open(path: path), afterSent: count)
    }

    static func remove(from store: AppDatabase) throws {
        try store.writer.write { db in try db.execute(sql: "DROP TRIGGER ledgerFull") }
    }

    static func remove(atPath path: String) throws {
        try remove(from: try AppDatabase.open(path: path))
    }
}
