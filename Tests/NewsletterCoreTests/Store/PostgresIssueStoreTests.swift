import Foundation
import Testing

@testable import NewsletterCore

/// What only the shared database adds to the issues: two hosts working one week at once, and a
/// refusal inside a transaction.
@Suite("PostgreSQL issues", .runningStores)
struct PostgresIssueStoreTests {
    let week = try! IssueWeek(parsing: "2026-W48")

    func draft(_ number: Int) -> IssueDraft {
        IssueDraft(
            week: week, subject: "S\(number)", html: "<p>\(number)</p>", text: "\(number)", manifest: "{}",
            comparisonIDs: [], hash: "h\(number)")
    }

    /// One host rebuilds the draft over and over while another approves whatever it last read.
    /// Each approval checks the hash and writes under the week's lock, so none can land on a
    /// draft that changed between its check and its write: an approved issue always approves
    /// its own bytes.
    @Test func anApprovalNeverLandsOnADraftRebuiltByAnotherHostMeanwhile() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let builder = try await PostgresStore.openRunning(location)
        let editor = try await PostgresStore.openRunning(location)
        try await builder.saveDraft(draft(0))
        let rounds = 40
        async let built: Void = {
            for number in 1...rounds { try await builder.saveDraft(draft(number)) }
        }()
        // What the editor saw approved with other bytes than its draft's (checked here, on the
        // test's task: an expectation on a bare thread is not the test's).
        async let mismatches: [String] = {
            var seen: [String] = []
            for _ in 0..<rounds {
                guard let hash = try await editor.issue(week)?.draftHash else { continue }
                do {
                    try await editor.approve(week, hash: hash, at: Date())
                } catch IssueStoreError.draftChanged {
                    // Rebuilt since it was read: refused, as it must be.
                }
                if let stored = try await editor.issue(week), stored.status == .approved,
                    stored.approvedHash != stored.draftHash
                {
                    seen.append("approved \(stored.approvedHash ?? "-") over draft \(stored.draftHash ?? "-")")
                }
            }
            return seen
        }()
        try await built
        #expect(try await mismatches == [])
        let final = try #require(try await builder.issue(week))
        #expect(final.draftHash == "h\(rounds)")
        #expect(final.status == .draft || final.approvedHash == final.draftHash)
        let row = try await PostgresCluster.psql(
            location, "SELECT status || ':' || draft_hash || ':' || coalesce(approved_hash, '-') FROM issue")
        #expect(row == "\(final.status.rawValue):\(final.draftHash!):\(final.approvedHash ?? "-")")
    }

    /// A refusal after the body wrote undoes the write (its savepoint) and reaches the caller as
    /// the refusal, not as a store failure; the store goes on working.
    @Test func aRefusalInsideATransactionUndoesItsWritesAndComesOutAsItself() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let store = try await PostgresStore.openRunning(location)
        try await store.saveDraft(draft(1))
        await #expect(throws: IssueStoreError.alreadySent(week)) {
            try await store.transaction(refusing: IssueStoreError.self) { connection in
                try await connection.run("UPDATE issue SET subject = 'changed' WHERE week = \(week.description)")
                throw IssueStoreError.alreadySent(week)
            }
        }
        #expect(try await store.issue(week)?.subject == "S1")
        // Any other error still fails the whole transaction as a store error.
        await #expect(throws: PostgresStoreError.self) {
            try await store.transaction(refusing: IssueStoreError.self) { connection in
                try await connection.run("UPDATE issue SET subject = 'changed' WHERE week = \(week.description)")
                try await connection.run("SELECT no_such_column FROM issue")
            }
        }
        #expect(try await store.issue(week)?.subject == "S1")
        try await store.saveDraft(draft(2))
        #expect(try await store.issue(week)?.draftHash == "h2")
    }
}
