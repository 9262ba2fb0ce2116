import Foundation
import NewsletterCore
import Synchronization
import Testing

/// Several senders sharing one week's ledger in PostgreSQL: claims under leases, renewals,
/// expiry back to the queue, and no record over a row's new owner. Times are given, not read.
@Suite("Delivery leases (PostgreSQL)")
struct DeliveryLeaseQueueTests {
    let week = try! IssueWeek(parsing: "2026-W48")
    let t0 = Date(timeIntervalSince1970: 1_795_000_000)

    func store(subscribers: Int) async throws -> (PostgresStore, PostgresLocation) {
        let location = try await PostgresCluster.freshDatabase()
        let store = try await Blocking.run { try PostgresStore.open(location) }
        // Many rows in one statement, through psql: the list exists before the senders start.
        try await PostgresCluster.psql(
            location,
            """
            INSERT INTO subscriber (email, status, created_at)
            SELECT 'reader' || n || '@example.org', 'confirmed', now() FROM generate_series(1, \(subscribers)) AS n
            """)
        return (store, location)
    }

    @Test func onlyEligibleSubscribersAreQueuedAndOnlyOnce() async throws {
        let (store, location) = try await store(subscribers: 5)
        try await PostgresCluster.psql(location, "UPDATE subscriber SET status = 'unsubscribed' WHERE id = 2")
        try await PostgresCluster.psql(location, "UPDATE subscriber SET status = 'pending' WHERE id = 3")
        try await PostgresCluster.psql(location, "UPDATE subscriber SET paused = true WHERE id = 4")
        #expect(try store.enqueueEligible(week, at: t0) == 2)
        #expect(try store.enqueueEligible(week, at: t0) == 0)
        let ids = try await PostgresCluster.psql(
            location, "SELECT string_agg(subscriber_id::text, ',' ORDER BY subscriber_id) FROM delivery")
        #expect(ids == "1,5")
    }

    @Test func whoeverLeftOrPausedAfterTheWeekWasQueuedIsSkippedNotClaimed() async throws {
        let (store, location) = try await store(subscribers: 6)
        #expect(try store.enqueueEligible(week, at: t0) == 6)
        // Between queueing and sending: two unsubscribe, one pauses, one bounces.
        try await PostgresCluster.psql(location, "UPDATE subscriber SET status = 'unsubscribed' WHERE id IN (1, 2)")
        try await PostgresCluster.psql(location, "UPDATE subscriber SET paused = true WHERE id = 3")
        try await PostgresCluster.psql(location, "UPDATE subscriber SET status = 'bounced' WHERE id = 5")
        let sender = SenderIdentity(host: "host-a", pid: 1)
        try store.registerSender(sender, week: week, at: t0, lease: 60)
        // A first batch of two finds only people who left: the claim goes on rather than
        // answering "nothing left".
        let first = try store.claim(week, sender: sender, limit: 2, at: t0, lease: 60)
        #expect(first.map(\.subscriberID) == [4])
        let second = try store.claim(week, sender: sender, limit: 2, at: t0, lease: 60)
        #expect(second.map(\.subscriberID) == [6])
        #expect(try store.claim(week, sender: sender, limit: 2, at: t0, lease: 60).isEmpty)
        let states = try await PostgresCluster.psql(
            location, "SELECT string_agg(subscriber_id || ':' || state || ':' || attempts, ',' ORDER BY subscriber_id) FROM delivery")
        #expect(states == "1:skipped:0,2:skipped:0,3:skipped:0,4:sending:1,5:skipped:0,6:sending:1")
        #expect(try store.liveSenders(week, at: t0).first?.claimed == 2)
    }

    @Test func threeSendersClaimingAtOnceNeverShareARow() async throws {
        let (store, location) = try await store(subscribers: 900)
        #expect(try store.enqueueEligible(week, at: t0) == 900)
        let second = try await Blocking.run { try PostgresStore.open(location) }
        let third = try await Blocking.run { try PostgresStore.open(location) }
        let stores = [store, second, third]
        let week = self.week
        let t0 = self.t0
        // Three threads, each with its own connections, claiming small batches until none is left.
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for store in stores {
                group.addTask {
                    try await Blocking.run {
                        let sender = SenderIdentity()
                        try store.registerSender(sender, week: week, at: t0, lease: 60)
                        var mine: [Int64] = []
                        while true {
                            let batch = try store.claim(week, sender: sender, limit: 25, at: t0, lease: 60)
                            if batch.isEmpty { break }
                            mine += batch.map(\.subscriberID)
                            for row in batch {
                                _ = try store.recordSent(
                                    week, subscriberID: row.subscriberID, sender: sender, messageID: "<\(row.subscriberID)@t>",
                                    reply: "250 ok", at: t0)
                            }
                        }
                        return mine
                    }
                }
            }
            var all: [[Int64]] = []
            for try await mine in group { all.append(mine) }
            return all
        }
        let everyone = claimed.flatMap { $0 }
        #expect(everyone.count == 900, "each row claimed exactly once")
        #expect(Set(everyone).count == 900)
        let sent = try await PostgresCluster.psql(location, "SELECT count(*) FROM delivery WHERE state = 'sent' AND attempts = 1")
        #expect(sent == "900")
    }

    @Test func aLeaseThatRanOutGoesBackAndTheStalledSenderRecordsNothingOverTheNewOwner() async throws {
        let (store, location) = try await store(subscribers: 10)
        _ = try store.enqueueEligible(week, at: t0)
        let stalled = SenderIdentity(host: "host-a", pid: 100)
        let successor = SenderIdentity(host: "host-b", pid: 200)
        try store.registerSender(stalled, week: week, at: t0, lease: 60)
        let first = try store.claim(week, sender: stalled, limit: 4, at: t0, lease: 60)
        #expect(first.map(\.subscriberID) == [1, 2, 3, 4] && first.allSatisfy { $0.attempt == 1 })
        #expect(try store.recordSent(week, subscriberID: 1, sender: stalled, messageID: "<1@a>", reply: "250", at: t0))

        // Before the deadline the rows stay the stalled sender's.
        try store.registerSender(successor, week: week, at: t0.addingTimeInterval(30), lease: 60)
        let early = try store.claim(week, sender: successor, limit: 3, at: t0.addingTimeInterval(30), lease: 60)
        #expect(early.map(\.subscriberID) == [5, 6, 7])
        // After it, they are claimed again (a second attempt), the first unsent ones first.
        let later = t0.addingTimeInterval(61)
        let taken = try store.claim(week, sender: successor, limit: 3, at: later, lease: 60)
        #expect(taken.map(\.subscriberID) == [2, 3, 4])
        #expect(taken.allSatisfy { $0.attempt == 2 })
        // The stalled sender wakes up (SIGCONT) and tries to record what it had in flight.
        #expect(try !store.recordSent(week, subscriberID: 2, sender: stalled, messageID: "<2@a>", reply: "250", at: later))
        #expect(try store.recordSent(week, subscriberID: 2, sender: successor, messageID: "<2@b>", reply: "250", at: later))
        let owner = try await PostgresCluster.psql(location, "SELECT message_id FROM delivery WHERE subscriber_id = 2")
        #expect(owner == "<2@b>")
        // And its renewal holds nothing any more.
        #expect(try store.renewLease(week, sender: stalled, at: later, lease: 60) == 0)
    }

    @Test func aRenewedLeaseKeepsItsRowsAndACleanStopGivesThemBack() async throws {
        let (store, _) = try await store(subscribers: 6)
        _ = try store.enqueueEligible(week, at: t0)
        let a = SenderIdentity(host: "host-a", pid: 1)
        let b = SenderIdentity(host: "host-b", pid: 2)
        try store.registerSender(a, week: week, at: t0, lease: 60)
        try store.registerSender(b, week: week, at: t0, lease: 60)
        #expect(try store.claim(week, sender: a, limit: 6, at: t0, lease: 60).count == 6)
        #expect(try store.renewLease(week, sender: a, at: t0.addingTimeInterval(50), lease: 60) == 6)
        #expect(try store.claim(week, sender: b, limit: 6, at: t0.addingTimeInterval(70), lease: 60).isEmpty)
        #expect(try store.releaseSender(a, week: week, at: t0.addingTimeInterval(80)) == 6)
        let again = try store.claim(week, sender: b, limit: 6, at: t0.addingTimeInterval(80), lease: 60)
        #expect(again.count == 6 && again.allSatisfy { $0.attempt == 1 }, "a released row was not an attempt")
    }

    @Test func liveSendersShowWhatEachClaimedAndSentUntilTheirLeaseEnds() async throws {
        let (store, _) = try await store(subscribers: 5)
        _ = try store.enqueueEligible(week, at: t0)
        let a = SenderIdentity(host: "host-a", pid: 11)
        let b = SenderIdentity(host: "host-b", pid: 22)
        try store.registerSender(a, week: week, at: t0, lease: 60)
        try store.registerSender(b, week: week, at: t0.addingTimeInterval(1), lease: 30)
        let batch = try store.claim(week, sender: a, limit: 3, at: t0, lease: 60)
        _ = try store.recordSent(week, subscriberID: batch[0].subscriberID, sender: a, messageID: "<m>", reply: "250", at: t0)
        let live = try store.liveSenders(week, at: t0.addingTimeInterval(10))
        #expect(live.map(\.sender) == [a, b])
        #expect(live[0].claimed == 3 && live[0].sent == 1)
        #expect(abs(live[0].leaseDeadline.timeIntervalSince(t0.addingTimeInterval(60))) < 0.001)
        #expect(try store.liveSenders(week, at: t0.addingTimeInterval(45)).map(\.sender) == [a])
        #expect(try store.liveSenders(week, at: t0.addingTimeInterval(61)).isEmpty)
    }
}

/// `run` on two hosts at once: the week's decisions under a database lock.
@Suite("Week decision lock (PostgreSQL)")
struct WeekDecisionLockTests {
    let week = try! IssueWeek(parsing: "2026-W48")

    @Test func aSecondProcessIsToldTheWeekIsTakenAndGetsItOnceItIsFree() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let first = try await Blocking.run { try PostgresStore.open(location) }
        let second = try await Blocking.run { try PostgresStore.open(location) }
        let week = self.week
        let other = try IssueWeek(parsing: "2026-W49")
        let inside: Int?? = try await Blocking.run {
            try first.withWeekLock(week) { hold in
                try hold.ensureHeld()
                // While the first holds it: the second is refused this week, not another one.
                #expect(try second.withWeekLock(other) { _ in 1 } == 1)
                let refused = try second.withWeekLock(week) { _ in 2 }
                try hold.ensureHeld()
                return refused
            }
        }
        #expect(inside == .some(nil), "the second run was refused while the first decided")
        let after = try await Blocking.run { try second.withWeekLock(week) { _ in 3 } }
        #expect(after == 3)
    }

    @Test func aHolderWhoseSessionDiedNoLongerHoldsTheWeek() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let first = try await Blocking.run { try PostgresStore.open(location) }
        let second = try await Blocking.run { try PostgresStore.open(location) }
        let week = self.week
        let server = try await PostgresCluster.serverURL()
        let result: Int?? = try await Blocking.run {
            try first.withWeekLock(week) { hold in
                // The holder's database sessions end (its host died, a restart): the lock goes with them.
                let semaphore = DispatchSemaphore(value: 0)
                Task {
                    _ = try? await PostgresCluster.psql(
                        server,
                        """
                        SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
                        AND database = (SELECT oid FROM pg_database WHERE datname = '\(location.database)')
                        """)
                    semaphore.signal()
                }
                semaphore.wait()
                // The holder is told before its next decision, not left deciding beside the new holder.
                #expect(throws: WeekLockLost.self) { try hold.ensureHeld() }
                return try second.withWeekLock(week) { _ in 4 }
            }
        }
        #expect(result == .some(4))
    }
}
