import Foundation
import Logging
import NewsletterCore
import Testing

/// The list-wide send limit: the core's bucket arithmetic, each store's shared bucket (written
/// once, run against both backends), several PostgreSQL senders drawing from one bucket, and a
/// send paced by it. Times are given or come from a manual clock.
@Suite("List-wide send limit", .runningStores)
struct ListSendLimitTests {
    let t0 = Date(timeIntervalSince1970: 1_795_000_000)

    @Test func aFreshBucketGrantsItsBurstThenRefillsAtTheRate() {
        let limit = ListSendLimit(perSecond: 300)
        #expect(limit.burst == 15 && limit.refillPerSecond == 286)
        let first = limit.take(100, stored: nil, now: t0)
        #expect(first.granted == 15 && first.tokens == 0)
        let same = limit.take(100, stored: (first.tokens, first.updated), now: t0)
        #expect(same.granted == 0)
        let later = limit.take(100, stored: (0, t0), now: t0.addingTimeInterval(0.05))
        #expect(later.granted == 14, "a twentieth of a second at 286/s")
        let wantsLess = limit.take(4, stored: (0, t0), now: t0.addingTimeInterval(10))
        #expect(wantsLess.granted == 4 && wantsLess.tokens == 11, "never more than the burst saved up")
        // A clock that stepped back adds nothing and does not move the bucket's time back.
        let back = limit.take(10, stored: (0, t0), now: t0.addingTimeInterval(-5))
        #expect(back.granted == 0 && back.updated == t0)
        #expect(ListSendLimit(perSecond: 5).burst == 1)
        #expect(limit.retryDelay == .seconds(1.0 / 286))
    }

    /// Takers who ask for all they can every `step` microseconds for ten seconds: no one-second
    /// window (wherever it starts) holds more grants than the limit, and over the run those who
    /// ask every millisecond get at least nine tenths of it. A step just under a token's time (49,975 µs at 20/s) is where
    /// the rounding tolerance would add up if it were forgiven rather than owed.
    @Test(arguments: [(1.0, 1000), (5, 1000), (20, 1000), (20, 49_975), (300, 1000), (300, 3_490), (1000, 1000)])
    func noSecondHoldsMoreThanTheLimit(_ perSecond: Double, _ step: Int) {
        let limit = ListSendLimit(perSecond: perSecond)
        var stored: (tokens: Double, updated: Date)?
        // Grants per millisecond of the ten seconds.
        var grants = [Int](repeating: 0, count: 10_000)
        for micro in stride(from: 0, to: 10_000_000, by: step) {
            let now = t0.addingTimeInterval(Double(micro) / 1_000_000)
            let taken = limit.take(Int(limit.burst), stored: stored, now: now)
            stored = (taken.tokens, taken.updated)
            grants[micro / 1000] += taken.granted
        }
        var inWindow = grants[0..<1000].reduce(0, +)
        var busiest = inWindow
        for start in 1...9_000 {
            inWindow += grants[start + 999] - grants[start - 1]
            busiest = max(busiest, inWindow)
        }
        #expect(busiest <= Int(perSecond), "busiest second: \(busiest) at \(perSecond)/s")
        // Throughput only for takers who ask often: one who asks just faster than a token's time
        // finds the bucket a hair short every third time, by design (a sender that gets nothing
        // waits a whole token's time, so it asks slower, not faster).
        guard step == 1000 else { return }
        let total = grants.reduce(0, +)
        #expect(Double(total) >= 0.9 * perSecond * 10, "\(total) in 10 s at \(perSecond)/s")
    }

    @Test(arguments: StoreBackend.all)
    func theStoresBucketGrantsWhatTheLimitAllows(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let limit = ListSendLimit(perSecond: 100)
        // A burst of 5, refilled at 96/s.
        await #expect(try store.takeListSendTokens(50, limit: limit, at: t0) == 5)
        await #expect(try store.takeListSendTokens(50, limit: limit, at: t0) == 0)
        await #expect(try store.takeListSendTokens(0, limit: limit, at: t0.addingTimeInterval(1)) == 0)
        await #expect(try store.takeListSendTokens(3, limit: limit, at: t0.addingTimeInterval(0.05)) == 3)
        await #expect(try store.takeListSendTokens(50, limit: limit, at: t0.addingTimeInterval(0.05)) == 1)
    }

    /// Three senders on one database, taking in turns faster than the bucket refills: together
    /// they get the burst and the rate, not three times either.
    @Test func senderSharingOneDatabaseShareOneBucket() async throws {
        let location = try await PostgresCluster.freshDatabase()
        var senders: [PostgresStore] = []
        for _ in 0..<3 { senders.append(try await PostgresStore.openRunning(location)) }
        let limit = ListSendLimit(perSecond: 200)
        var granted = 0
        var now = t0
        for step in 0..<300 {
            granted += try await senders[step % 3].takeListSendTokens(20, limit: limit, at: now)
            now = now.addingTimeInterval(0.01)
        }
        // 3 s of refills, plus the burst the bucket started with.
        let allowed = Int(limit.burst) + Int(3 * limit.refillPerSecond)
        #expect(granted <= allowed)
        #expect(granted >= allowed - 20, "\(granted) of \(allowed): the senders did get what the limit allows")
    }

    @Test func aSendPacedByTheListLimitTakesAsLongAsTheLimitSays() async throws {
        let directory = try TestPaths.temporaryDirectory()
        let store = try AppDatabase.open(path: directory.appendingPathComponent("newsletter.sqlite").path)
        let week = try IssueWeek(parsing: "2026-W47")
        try await store.saveDraft(
            IssueDraft(
                week: week, subject: "Ship or Skip", html: "<p>%%GREETING%%</p><a href=\"%%UNSUBSCRIBE_URL%%\">x</a>",
                text: "%%GREETING%%\n%%UNSUBSCRIBE_URL%%\n", manifest: "{}", comparisonIDs: [], hash: "h1"))
        try await store.approve(week, hash: "h1", at: Date())
        for index in 0..<45 {
            _ = try await store.addSubscriber(email: "reader\(index)@example.org", name: nil, status: .confirmed)
        }
        var settings = DeliverySettings(
            from: try MailAddress("digest@shiporskip.example"), listID: "weekly.shiporskip.example",
            publicURL: "https://news.example.org")
        settings.concurrency = 1
        settings.listLimit = ListSendLimit(perSecond: 20)  // a burst of 1, refilled at 20/s
        let clock = ManualTime()
        var mailer = Mailer(store: store, settings: settings, logger: Logger(label: "tests"))
        mailer.time = clock
        let summary = try await mailer.send(
            week, through: FileTransport(directory: directory.appendingPathComponent("out").path))
        #expect(summary.sent == 45 && summary.complete)
        // 45 messages at 20/s with 1 to start with: at least 44 / 20 s of waiting.
        let waited = clock.sleeps.reduce(Duration.zero, +).seconds
        #expect(waited >= 44.0 / 20 - 1e-6, "waited \(waited) s")
        #expect(waited <= 45.0 / 20 + 0.5, "waited \(waited) s")
    }
}
