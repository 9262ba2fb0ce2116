import Foundation
import GRDB
import Synchronization
import Testing

@testable import NewsletterCore

/// Concurrent writes committed together, each caller's own work all or nothing.
struct GroupCommitTests {
    final class Results: Sendable {
        let mutex = Mutex<[Int: Result<Int64, any Error>]>([:])
        func withLock<R: Sendable>(_ body: (inout [Int: Result<Int64, any Error>]) -> R) -> R { mutex.withLock { body(&$0) } }
    }

    @Test func callersWhoArriveDuringACommitShareTheNextOneAndKeepTheirOwnResults() async throws {
        // The waits below block; they run on a thread of their own, not the concurrency pool's.
        try await Blocking.run { try Self.groupedWrites() }
    }

    static func groupedWrites() throws {
        let directory = try TestPaths.temporaryDirectory()
        let store = try AppDatabase.open(path: directory.appendingPathComponent("newsletter.sqlite").path)
        let commits = store.groupCommit
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        let results = Results()
        func writer(_ index: Int, body: @escaping @Sendable (Database) throws -> Int64) {
            finished.enter()
            Thread {
                let result = Result { try commits.write(body) }
                results.withLock { $0[index] = result }
                finished.leave()
            }.start()
        }
        @Sendable func insert(_ email: String, _ db: Database) throws -> Int64 {
            try db.execute(
                sql: "INSERT INTO subscriber (email, status, createdAt) VALUES (?, 'pending', ?)",
                arguments: [email, Date()])
            return db.lastInsertedRowID
        }
        // The first caller leads and holds its transaction open until released.
        let started = DispatchSemaphore(value: 0)
        writer(0) { db in
            started.signal()
            release.wait()
            return try insert("first@example.org", db)
        }
        started.wait()
        for index in 1...5 {
            writer(index) { db in
                if index == 3 {
                    _ = try insert("doomed@example.org", db)
                    throw StoreError(path: "test", reason: "caller 3 fails after writing")
                }
                return try insert("reader\(index)@example.org", db)
            }
        }
        // Those five arrive while the first commit is under way, and wait for the next one.
        while commits.counts.waiting < 5 { usleep(1000) }
        release.signal()
        finished.wait()

        let counts = commits.counts
        #expect(counts.groups == 2 && counts.jobs == 6)
        let outcome = results.withLock { $0 }
        #expect(outcome.count == 6)
        for (index, result) in outcome {
            switch result {
            case .success: #expect(index != 3)
            case .failure(let error): #expect(index == 3, "\(error)")
            }
        }
        // Caller 3's insert was rolled back with its savepoint; everyone else's is in.
        #expect(try store.subscriber(email: "doomed@example.org") == nil)
        for email in ["first@example.org"] + [1, 2, 4, 5].map({ "reader\($0)@example.org" }) {
            #expect(try store.subscriber(email: email) != nil, "\(email)")
        }
    }
}
