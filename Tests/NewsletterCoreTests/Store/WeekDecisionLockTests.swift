import Foundation
import NewsletterCore
import Synchronization
import Testing

/// `run` on two hosts at once: the week's decisions under a database lock.
@Suite("Week decision lock (PostgreSQL)", .runningStores)
struct WeekDecisionLockTests {
    let week = try! IssueWeek(parsing: "2026-W48")

    @Test func aSecondProcessIsToldTheWeekIsTakenAndGetsItOnceItIsFree() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let first = try await PostgresStore.openRunning(location)
        let second = try await PostgresStore.openRunning(location)
        let week = self.week
        let other = try IssueWeek(parsing: "2026-W49")
        let inside: Int?? = try await first.withWeekLock(week) { hold in
            try await hold.ensureHeld()
            // While the first holds it: the second is refused this week, not another one.
            #expect(try await second.withWeekLock(other) { _ in 1 } == 1)
            let refused = try await second.withWeekLock(week) { _ in 2 }
            try await hold.ensureHeld()
            return refused
        }
        #expect(inside == .some(nil), "the second run was refused while the first decided")
        let after = try await second.withWeekLock(week) { _ in 3 }
        #expect(after == 3)
    }

    @Test func aHolderWhoseSessionDiedNoLongerHoldsTheWeek() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let first = try await PostgresStore.openRunning(location)
        let second = try await PostgresStore.openRunning(location)
        let week = self.week
        let server = try await PostgresCluster.serverURL()
        let result: Int?? = try await first.withWeekLock(week) { hold in
            // The holder's database sessions end (its host died, a restart): the lock goes with them.
            try await PostgresCluster.psql(
                server,
                """
                SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
                AND database = (SELECT oid FROM pg_database WHERE datname = '\(location.database)')
                """)
            // The holder is told before its next decision, not left deciding beside the new holder.
            await #expect(throws: WeekLockLost.self) { try await hold.ensureHeld() }
            return try await second.withWeekLock(week) { _ in 4 }
        }
        #expect(result == .some(4))
    }
}
