import Foundation
import NewsletterCore
import Synchronization
import Testing

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
