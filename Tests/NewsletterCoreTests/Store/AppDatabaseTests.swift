import Foundation
import NewsletterCore
import Testing

struct AppDatabaseTests {
    func sample() throws -> Comparison {
        try ComparisonPageReader().read(
            try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), source: "/pages/a.txt")
    }

    @Test func aComparisonReadsBackAsItWasStored() throws {
        let store = try AppDatabase.inMemory()
        let comparison = try sample()
        let outcome = try store.saveComparison(comparison)
        #expect(outcome == .inserted(id: 1))
        let stored = try #require(try store.comparison(id: 1))
        #expect(stored.comparison == comparison)
        #expect(try store.comparison(id: 2) == nil)
        let summary = try #require(try store.listComparisons().first)
        #expect(summary.title == comparison.title && summary.takeCount == comparison.takes.count)
    }

    @Test func theFileStoreUsesWALAndSurvivesReopening() throws {
        let directory = try TestPaths.temporaryDirectory()
        let path = directory.appendingPathComponent("nested/dir/newsletter.sqlite").path
        do {
            let store = try AppDatabase.open(path: path)
            _ = try store.saveComparison(try sample())
            #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        }
        let reopened = try AppDatabase.open(path: path)  // migrations run again: nothing to do
        #expect(try reopened.listComparisons().count == 1)
        #expect(try reopened.saveComparison(try sample()) == .unchanged(id: 1))
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

    @Test func anUpdateReplacesEveryChildRow() throws {
        let store = try AppDatabase.inMemory()
        var comparison = try sample()
        _ = try store.saveComparison(comparison)
        comparison.contentHash = "changed"
        comparison.takes.removeLast(3)
        comparison.missingTakes = []
        _ = try store.saveComparison(comparison)
        let stored = try #require(try store.comparison(id: 1))
        #expect(stored.comparison.takes == comparison.takes)
        #expect(stored.comparison.missingTakes.isEmpty)
    }

    /// A save that fails half-way (here: a score the schema refuses, on the last take) leaves
    /// the store exactly as it was, for a new record and for an update alike.
    @Test func aFailedSaveLeavesNothingHalfWritten() throws {
        let store = try AppDatabase.inMemory()
        var broken = try sample()
        broken.takes[broken.takes.count - 1].score = 150
        #expect(throws: (any Error).self) { try store.saveComparison(broken) }
        #expect(try store.listComparisons().isEmpty)

        let good = try sample()
        _ = try store.saveComparison(good)
        broken.contentHash = "changed"
        broken.title = "Changed title"
        #expect(throws: (any Error).self) { try store.saveComparison(broken) }
        #expect(try store.comparison(id: 1)?.comparison == good)
    }
}
