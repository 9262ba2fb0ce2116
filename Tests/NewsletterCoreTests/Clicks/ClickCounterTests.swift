import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import NewsletterCore

/// The click counter's batching: what reaches the store, when, and what a crash can lose.
struct ClickCounterTests {
    /// Records each batch it is given (or refuses, while `failing`).
    final class RecordingStore: ClickStore {
        let batches = Mutex<[[ClickCount]]>([])
        let failing = Mutex(false)

        struct Refused: Error {}

        func trackedLinks(_ week: IssueWeek) async throws -> [TrackedLink] { [] }
        func sentLink(id: String) async throws -> TrackedLink? { nil }
        func linkClicks(_ week: IssueWeek) async throws -> [LinkClicks] { [] }
        func recordClicks(_ counts: [ClickCount]) async throws {
            if failing.withLock({ $0 }) { throw Refused() }
            batches.withLock { $0.append(counts) }
        }

        /// Person's and scanner's clicks written so far, per link.
        var totals: [String: (Int64, Int64)] {
            batches.withLock { batches in
                var totals: [String: (Int64, Int64)] = [:]
                for count in batches.joined() {
                    let old = totals[count.linkID] ?? (0, 0)
                    totals[count.linkID] = (old.0 + count.clicks, old.1 + count.scannerClicks)
                }
                return totals
            }
        }
        var written: Int64 { totals.values.reduce(0) { $0 + $1.0 + $1.1 } }
    }

    let store = RecordingStore()
    let time = ManualTime()
    var counter: ClickCounter {
        ClickCounter(store: store, interval: .seconds(5), time: time, logger: Logger(label: "test"))
    }

    @Test func countsReachTheStoreOnceAnIntervalHasPassed() async {
        let counter = self.counter
        counter.count(linkID: "a", subscriberID: nil, message: "m1", scanner: false)
        time.advance(by: .seconds(4))
        #expect(await counter.flushIfDue() == false)
        #expect(store.written == 0)
        time.advance(by: .seconds(1))
        #expect(await counter.flushIfDue())
        #expect(store.written == 1)
    }

    /// One client hitting a link thousands of times within the burst window (all one "message"
    /// under aggregate tracking): each click's work stays bounded, and every click is counted.
    @Test func aFloodFromOneMessageKeepsItsBurstWindowBounded() async {
        let counter = self.counter
        for _ in 0..<5_000 {
            counter.count(linkID: "a", subscriberID: nil, message: "one client", scanner: false)
        }
        #expect(counter.recentClicks(of: "one client") == ClickCounter.maxRecentClicksPerMessage)
        await counter.flush()
        #expect(store.totals["a"]?.0 == 5_000)
    }

    /// A `kill -9` loses what was counted since the last flush: never more than one interval's
    /// clicks, whatever the pace, when the flusher runs each interval.
    @Test func aCrashLosesAtMostTheClicksOfOneInterval() async {
        let counter = self.counter
        var counted: Int64 = 0
        var countedSinceFlush: Int64 = 0
        var countedInLastInterval: Int64 = 0
        for second in 0..<23 {
            for click in 0..<(second % 4 + 1) {
                counter.count(linkID: "l\(click)", subscriberID: nil, message: "m\(second)-\(click)", scanner: false)
                counted += 1
                countedSinceFlush += 1
            }
            time.advance(by: .seconds(1))
            if await counter.flushIfDue() {
                countedInLastInterval = countedSinceFlush
                countedSinceFlush = 0
            }
        }
        // The process dies here, before its next flush: the counter is dropped unflushed.
        let lost = counted - store.written
        #expect(lost == countedSinceFlush)
        #expect(lost > 0 && lost <= max(countedInLastInterval, countedSinceFlush))
        #expect(time.uptime() - .seconds(1000) < .seconds(23 + 1))
    }

    @Test func aCleanStopFlushesEverything() async throws {
        let counter = ClickCounter(store: store, interval: .seconds(3600), logger: Logger(label: "test"))
        for index in 0..<100_000 {
            counter.count(linkID: "l\(index % 7)", subscriberID: nil, message: "m\(index)", scanner: false)
        }
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: counter)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // As SIGTERM does: the group asks each service to stop.
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(store.written == 100_000)
        #expect(counter.pendingCount == 0)
    }

    @Test func countsAStoreRefusedAreKeptForTheNextFlush() async {
        let counter = self.counter
        counter.count(linkID: "a", subscriberID: nil, message: "m", scanner: false)
        store.failing.withLock { $0 = true }
        await counter.flush()
        #expect(store.written == 0)
        store.failing.withLock { $0 = false }
        await counter.flush()
        #expect(store.written == 1)
    }

    @Test func everyLinkOfOneMessageHitWithinASecondIsAScanners() async {
        let counter = self.counter
        // A person: two links, seconds apart.
        counter.count(linkID: "a", subscriberID: nil, message: "person", scanner: false)
        time.advance(by: .seconds(2))
        counter.count(linkID: "b", subscriberID: nil, message: "person", scanner: false)
        // A scanner: three links of one message in well under a second, the first two counted
        // as a person's until the third shows the burst.
        for link in ["a", "b", "c"] {
            counter.count(linkID: link, subscriberID: nil, message: "gateway", scanner: false)
            time.advance(by: .milliseconds(100))
        }
        await counter.flush()
        let totals = store.totals
        #expect(totals["a"]! == (1, 1) && totals["b"]! == (1, 1) && totals["c"]! == (0, 1))
    }
}
