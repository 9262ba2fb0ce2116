import Foundation
import NewsletterCore
import Synchronization
import Testing

/// The ledger as `send` and `run` use it (`DeliveryLedger`), with several senders on one
/// PostgreSQL database: each `PostgresStore` is one sender, its lease renewed while it works,
/// and a sender whose lease ran out records nothing over the sender that took its rows. The
/// senders share one manual clock, so leases run out when the test says.
@Suite("PostgreSQL ledger, several senders", .runningStores)
struct PostgresLedgerSendersTests {
    let week = try! IssueWeek(parsing: "2026-W48")

    func senders(_ count: Int, subscribers: Int, lease: Int = 60, clock: ManualTime) async throws -> [PostgresStore] {
        var leased = try await PostgresCluster.freshDatabase()
        leased.leaseSeconds = lease
        let location = leased
        let first = try await PostgresStore.openRunning(location, clock: clock)
        try await PostgresCluster.psql(
            location,
            """
            INSERT INTO subscriber (email, status, created_at)
            SELECT 'reader' || n || '@example.org', 'confirmed', now() FROM generate_series(1, \(subscribers)) AS n
            """)
        var stores = [first]
        for _ in 1..<count {
            stores.append(try await PostgresStore.openRunning(location, clock: clock))
        }
        return stores
    }

    @Test func concurrentSendersNeverClaimTheSameRowAndTogetherClaimEveryone() async throws {
        let clock = ManualTime()
        let stores = try await senders(3, subscribers: 300, clock: clock)
        for store in stores { _ = try await store.prepareDelivery(week, addSubscribers: true) }
        let claimed = ClaimCounts()
        let runStarted = clock.now()
        let week = self.week
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores {
                group.addTask {
                    while true {
                        let claims = try await store.claimDeliveries(week, limit: 7, runStarted: runStarted)
                        if claims.isEmpty { return }
                        claimed.counts.withLock { for claim in claims { $0[claim.subscriber.id, default: 0] += 1 } }
                        try await store.recordDeliveries(
                            week,
                            claims.map {
                                .sent(
                                    subscriberID: $0.subscriber.id, messageID: "<\($0.subscriber.id)@x>", reply: "250")
                            })
                    }
                }
            }
            try await group.waitForAll()
        }
        let counts = claimed.counts.withLock { $0 }
        #expect(counts.count == 300)
        #expect(counts.values.allSatisfy { $0 == 1 }, "no row claimed twice")
        #expect(try await stores[0].deliveryCounts(week) == [.sent: 300])
        let live = try await stores[0].liveSenders(week, at: clock.now())
        #expect(live.count == 3)
        #expect(live.map(\.sent).reduce(0, +) == 300)
        #expect(live.map(\.claimed).reduce(0, +) == 300)
    }

    @Test func aSenderPastItsLeaseRecordsNothingOverTheSenderThatTookItsRows() async throws {
        let clock = ManualTime()
        let stores = try await senders(2, subscribers: 4, lease: 60, clock: clock)
        let (stalled, other) = (stores[0], stores[1])
        _ = try await stalled.prepareDelivery(week, addSubscribers: true)
        let runStarted = clock.now()
        let held = try await stalled.claimDeliveries(week, limit: 4, runStarted: runStarted)
        #expect(held.count == 4)
        // While the lease holds, the other sender finds nothing to do.
        _ = try await other.prepareDelivery(week, addSubscribers: true)
        #expect(try await other.claimDeliveries(week, limit: 10, runStarted: runStarted).isEmpty)

        // The first one stops (SIGSTOP, a stalled connection) past its lease; the other's next
        // send takes its rows.
        clock.advance(by: .seconds(61))
        #expect(try await other.prepareDelivery(week, addSubscribers: true) == (0, 4))
        let taken = try await other.claimDeliveries(week, limit: 10, runStarted: runStarted)
        #expect(Set(taken.map(\.subscriber.id)) == Set(held.map(\.subscriber.id)))
        #expect(taken.allSatisfy { $0.attempt == 2 })
        try await other.recordDeliveries(
            week,
            taken.map { .sent(subscriberID: $0.subscriber.id, messageID: "<new-\($0.subscriber.id)@x>", reply: "250") })

        // It wakes and records what it had sent: nothing changes, the new owner's record stands.
        try await stalled.recordDeliveries(
            week,
            held.map { .sent(subscriberID: $0.subscriber.id, messageID: "<old-\($0.subscriber.id)@x>", reply: "250") })
        try await stalled.recordFailed(
            week, subscriberID: held[0].subscriber.id, reply: "550 no", refusal: BounceEvidence(smtpReply: "550 no"),
            rule: BounceRule(), at: clock.now())
        try await stalled.releaseClaims(week, subscriberIDs: held.map(\.subscriber.id))
        #expect(try await other.deliveryCounts(week) == [.sent: 4])
        for claim in held {
            #expect(
                try await other.delivery(messageID: "<new-\(claim.subscriber.id)@x>")?.subscriberID
                    == claim.subscriber.id)
            #expect(try await other.delivery(messageID: "<old-\(claim.subscriber.id)@x>") == nil)
        }
        #expect(
            try await other.subscriber(id: held[0].subscriber.id)?.status == .confirmed,
            "no bounce from the stale refusal")
    }

    @Test func aSenderThatKeepsWorkingKeepsItsRows() async throws {
        let clock = ManualTime()
        let stores = try await senders(2, subscribers: 3, lease: 60, clock: clock)
        let (working, other) = (stores[0], stores[1])
        _ = try await working.prepareDelivery(week, addSubscribers: true)
        let runStarted = clock.now()
        let held = try await working.claimDeliveries(week, limit: 3, runStarted: runStarted)
        // Slow sending (a relay's rate limit): each record past half the lease renews it.
        for claim in held {
            clock.advance(by: .seconds(40))
            #expect(try await other.claimDeliveries(week, limit: 10, runStarted: runStarted).isEmpty)
            try await working.recordSent(
                week, subscriberID: claim.subscriber.id, messageID: "<\(claim.subscriber.id)@x>", reply: "250")
        }
        #expect(try await working.deliveryCounts(week) == [.sent: 3])
    }

    /// Each held row's lease deadline, seconds after `start`, by subscriber.
    func leaseDeadlines(_ store: PostgresStore, since start: Date) async throws -> [Int64: Int] {
        let rows = try await PostgresCluster.psql(
            store.location,
            """
            SELECT subscriber_id || ' ' || round(extract(epoch FROM lease_deadline) - \(start.timeIntervalSince1970))
            FROM delivery WHERE week = '\(week)' AND state = 'sending'
            """)
        var deadlines: [Int64: Int] = [:]
        for line in rows.split(separator: "\n") {
            let fields = line.split(separator: " ")
            deadlines[Int64(fields[0])!] = Int(fields[1])!
        }
        return deadlines
    }

    /// A claim renews the rows the sender already holds only once half the lease has passed
    /// (as a record does): claiming in a loop does not rewrite every held row each time.
    @Test func aClaimRenewsTheHeldRowsOnlyOnceHalfTheLeaseHasPassed() async throws {
        let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let clock = ManualTime(start)
        let sender = try await senders(1, subscribers: 6, lease: 60, clock: clock)[0]
        _ = try await sender.prepareDelivery(week, addSubscribers: true)
        let first = try await sender.claimDeliveries(week, limit: 2, runStarted: start).map(\.subscriber.id)
        clock.advance(by: .seconds(20))
        let second = try await sender.claimDeliveries(week, limit: 2, runStarted: start).map(\.subscriber.id)
        var deadlines = try await leaseDeadlines(sender, since: start)
        #expect(first.map { deadlines[$0] } == [60, 60], "the first claim's rows untouched 20 s in")
        #expect(second.map { deadlines[$0] } == [80, 80])

        clock.advance(by: .seconds(11))  // 31 s since the lease was taken: past half of it
        let third = try await sender.claimDeliveries(week, limit: 2, runStarted: start).map(\.subscriber.id)
        deadlines = try await leaseDeadlines(sender, since: start)
        #expect((first + second + third).map { deadlines[$0] } == Array(repeating: 91, count: 6))
        // Renewed: the silence is counted from this claim, not from the start.
        clock.advance(by: .seconds(40))
        try await sender.ensureClaimsHeld(week)
    }

    @Test func aSenderThatDiedLosesNoOneAndAFinishedOneIsNoLongerLive() async throws {
        let clock = ManualTime()
        let stores = try await senders(2, subscribers: 5, lease: 60, clock: clock)
        let (dead, next) = (stores[0], stores[1])
        _ = try await dead.prepareDelivery(week, addSubscribers: true)
        _ = try await dead.claimDeliveries(week, limit: 2, runStarted: clock.now())
        #expect(try await next.liveSenders(week, at: clock.now()).map(\.sender) == [dead.sender])
        clock.advance(by: .seconds(120))
        #expect(try await next.liveSenders(week, at: clock.now()).isEmpty)
        // The next send of the week puts the dead sender's rows back in the queue, and sends everyone.
        #expect(try await next.prepareDelivery(week, addSubscribers: true) == (0, 2))
        var sent = 0
        while true {
            let claims = try await next.claimDeliveries(week, limit: 2, runStarted: clock.now())
            if claims.isEmpty { break }
            try await next.recordDeliveries(
                week,
                claims.map { .sent(subscriberID: $0.subscriber.id, messageID: "<\($0.subscriber.id)@x>", reply: "250") }
            )
            sent += claims.count
        }
        #expect(sent == 5)
        #expect(try await next.liveSenders(week, at: clock.now()).map(\.sent) == [5])
        try await next.finishDelivery(week)
        #expect(try await next.liveSenders(week, at: clock.now()).isEmpty)
        #expect(try await next.deliveryCounts(week) == [.sent: 5])
    }

    /// Woken after a stop longer than (most of) its lease, a sender sends nothing more before it
    /// has renewed: its recipients may be another's now. Working, it renews and goes on.
    @Test func aSenderThatWasStoppedPastItsLeaseStopsBeforeTheNextMessage() async throws {
        let clock = ManualTime()
        let stores = try await senders(1, subscribers: 3, lease: 60, clock: clock)
        let sender = stores[0]
        _ = try await sender.prepareDelivery(week, addSubscribers: true)
        let claims = try await sender.claimDeliveries(week, limit: 3, runStarted: clock.now())
        try await sender.ensureClaimsHeld(week)
        clock.advance(by: .seconds(40))
        try await sender.ensureClaimsHeld(week)
        try await sender.recordSent(week, subscriberID: claims[0].subscriber.id, messageID: "<a@x>", reply: "250")
        clock.advance(by: .seconds(40))  // 40 s since the renewal at the record: still its own
        try await sender.ensureClaimsHeld(week)
        clock.advance(by: .seconds(10))  // 50 s of the 60: too close to the end to send another
        await #expect(throws: LeaseExpired.self) { try await sender.ensureClaimsHeld(week) }
        // Recording what was on the wire renews the lease, but does not make the claims its own again.
        try await sender.recordSent(week, subscriberID: claims[1].subscriber.id, messageID: "<b@x>", reply: "250")
        await #expect(throws: LeaseExpired.self) { try await sender.ensureClaimsHeld(week) }
        await #expect(throws: LeaseExpired.self) {
            try await sender.claimDeliveries(week, limit: 1, runStarted: clock.now())
        }
        // The next send of the week starts afresh.
        _ = try await sender.prepareDelivery(week, addSubscribers: true)
        try await sender.ensureClaimsHeld(week)
        #expect(
            try await sender.claimDeliveries(week, limit: 5, runStarted: clock.now()).map(\.subscriber.id) == [
                claims[2].subscriber.id
            ])
    }

    /// Another sender's claim caught between locking the week's last pending rows and
    /// committing: a claim meanwhile waits for it rather than come back empty. (On that empty
    /// claim a sender stopped, read the rows as still pending and exited 1, the week
    /// unfinished as far as it could tell.) The rows are then the other's, if its claim commits,
    /// or this sender's, if it fails.
    @Test(arguments: [true, false])
    func aClaimThatFindsOnlyRowsAnotherClaimHoldsWaitsForThatClaim(otherCommits: Bool) async throws {
        let clock = ManualTime()
        let store = try await senders(1, subscribers: 5, clock: clock)[0]
        let week = self.week
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        let other = try await HeldTransaction.begin(
            store.location, "SELECT subscriber_id FROM delivery WHERE week = '\(week)' AND state = 'pending' FOR UPDATE"
        )
        let returned = Flag()
        let runStarted = clock.now()
        let claim = Task {
            defer { returned.raised.withLock { $0 = true } }
            let claims = try await store.claimDeliveries(week, limit: 10, runStarted: runStarted)
            // What a sender reads next when its claims come back empty.
            return (claims.count, try await store.deliveryCounts(week))
        }
        try await PostgresCluster.until("the claim waits or has returned") {
            try await PostgresCluster.lockWaits(store.location) > 0 || returned.raised.withLock { $0 }
        }
        let claimedByOther = """
            UPDATE delivery SET state = 'sending', lease_owner = gen_random_uuid(), lease_deadline = 'infinity'
            WHERE week = '\(week)'; COMMIT;
            """
        try await other.end(otherCommits ? claimedByOther : "ROLLBACK;")
        let (claimed, ledger) = try await claim.value
        #expect(claimed == (otherCommits ? 0 : 5))
        #expect(ledger == [.sending: 5], "no row left pending when the claim returned")
    }

    final class ClaimCounts: Sendable {
        let counts = Mutex<[Int64: Int]>([:])
    }

    final class Flag: Sendable {
        let raised = Mutex(false)
    }
}
