import Foundation
import NewsletterCore
import Testing

/// What only the SQLite store does; ComparisonStoreContractTests has what both stores do.
struct AppDatabaseTests {
    func sample() throws -> Comparison {
        try ComparisonPageReader().read(
            try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), source: "/pages/a.txt")
    }

    @Test func theFileStoreUsesWALAndSurvivesReopening() async throws {
        let directory = try TestPaths.temporaryDirectory()
        let path = directory.appendingPathComponent("nested/dir/newsletter.sqlite").path
        do {
            let store = try AppDatabase.open(path: path)
            _ = try await store.saveComparison(try sample())
            #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        }
        let reopened = try AppDatabase.open(path: path)  // migrations run again: nothing to do
        await #expect(try reopened.listComparisons().count == 1)
        await #expect(try reopened.saveComparison(try sample()) == .unchanged(id: 1))
    }

    @Test func anUnwritableLocationIsAClearError() throws {
        let directory = try TestPaths.temporaryDirectory()
        let blocker = directory.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        #expect {
            _ = try AppDatabase.open(path: blocker.appendingPathComponent("newsletter.sqlite").path)
        } throws: { error in
            "\(error)".contains(blocker.path) && "\(error)".contains("store.path")
        }
    }
}
