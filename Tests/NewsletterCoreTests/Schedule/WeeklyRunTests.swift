import Foundation
import Logging
import NewsletterCore
import Synchronization
import Testing

/// The weekly run's core with the clock in the test's hands: weeks a machine that was off never
/// ran, under both `run.missed` policies, sent through the file transport.
struct WeeklyRunTests {
    func date(_ text: String) -> Date { PublishedDate.parse(text)! }
    func week(_ text: String) -> IssueWeek { try! IssueWeek(parsing: text) }

    func weeklyRun(missed: MissedWeekPolicy, cutoff: RunCutoff? = nil) async throws -> WeeklyRun<
        AppDatabase, CurlFetcher
    > {
        let directory = try TestPaths.temporaryDirectory()
        var configuration = try Configuration.load(path: nil, environment: [:], workingDirectory: directory.path)
        configuration.templatesDirectory = TestPaths.repository.appendingPathComponent("templates").path
        configuration.run.approval = .auto
        configuration.run.missed = missed
        configuration.run.cutoff = cutoff
        let store = try AppDatabase.open(path: configuration.databasePath)
        _ = try await store.addSubscriber(email: "reader@example.org", name: nil, status: .confirmed)
        // One comparison in each of 2026-W45, W46 and W47.
        try await StoreFixtures.store(
            [
                try StoreFixtures.comparison("Forty-five", published: "2026-11-03T10:00:00Z"),
                try StoreFixtures.comparison("Forty-six", published: "2026-11-10T10:00:00Z"),
                try StoreFixtures.comparison("Forty-seven", published: "2026-11-17T10:00:00Z"),
            ], in: store)
        // The last run before the machine went off handled 2026-W44.
        try await store.beginRun(week("2026-W44"), at: date("2026-11-02T06:00:00Z"))
        return WeeklyRun(
            store: store, templates: try TemplateSet.load(directory: configuration.templatesDirectory),
            configuration: configuration, delivery: try configuration.deliverySettings(),
            fetcher: CurlFetcher(maxBytes: 1 << 20, timeoutSeconds: 5, connectTimeoutSeconds: 5, userAgent: "test"),
            logger: Logger(label: "test"))
    }

    @Test func missedWeeksAreSkippedWithTheirReasonAndTheDueWeekIsSent() async throws {
        let run = try await weeklyRun(missed: .skip)
        let report = try await run.run(target: week("2026-W47"), request: .scheduled, now: date("2026-11-23T06:00:00Z"))
        #expect(report.weeks.map(\.week) == [week("2026-W45"), week("2026-W46"), week("2026-W47")])
        for missed in ["2026-W45", "2026-W46"] {
            let issue = try await #require(try run.store.issue(week(missed)))
            #expect(issue.status == .skipped && issue.skipReason?.hasPrefix("missed:") == true, "\(missed)")
        }
        await #expect(try run.store.issue(week("2026-W47"))?.status == .sent)
        #expect(report.exitStatus == .success)
        await #expect(try run.store.lastRunWeek() == week("2026-W47"))

        // The next run has nothing left to catch up on, and sends nothing again.
        let again = try await run.run(target: week("2026-W47"), request: .scheduled, now: date("2026-11-23T07:00:00Z"))
        #expect(again.weeks.count == 1)
        #expect(again.weeks.first?.outcome == .nothingToDo(reason: "already sent"))
        await #expect(try run.store.deliveryCounts(week("2026-W47")) == [.sent: 1])
    }

    @Test func sendLateSendsEachMissedWeekOldestFirst() async throws {
        let run = try await weeklyRun(missed: .sendLate)
        let report = try await run.run(target: week("2026-W47"), request: .scheduled, now: date("2026-11-23T06:00:00Z"))
        #expect(report.weeks.map(\.week) == [week("2026-W45"), week("2026-W46"), week("2026-W47")])
        for sent in ["2026-W45", "2026-W46", "2026-W47"] {
            await #expect(try run.store.issue(week(sent))?.status == .sent, "\(sent)")
            await #expect(try run.store.deliveryCounts(week(sent)) == [.sent: 1], "\(sent)")
        }
        guard case .sent(_, let lateBy) = report.weeks[0].outcome else {
            Issue.record("2026-W45 was not sent: \(report.weeks[0].outcome)")
            return
        }
        #expect(lateBy == date("2026-11-23T06:00:00Z").timeIntervalSince(date("2026-11-09T00:00:00Z")))
    }

    @Test func theCutoffStillAppliesToMissedWeeksSentLate() async throws {
        let run = try await weeklyRun(missed: .sendLate, cutoff: .days(10))
        let report = try await run.run(target: week("2026-W47"), request: .scheduled, now: date("2026-11-23T06:00:00Z"))
        // W45 ended 9 November: more than ten days ago. W46 ended 16 November: within them.
        await #expect(try run.store.issue(week("2026-W45"))?.skipReason?.hasPrefix("not sent by the cutoff") == true)
        await #expect(try run.store.issue(week("2026-W46"))?.status == .sent)
        await #expect(try run.store.issue(week("2026-W47"))?.status == .sent)
        #expect(report.exitStatus == .success)
    }

    @Test func aNamedWeekDoesNotCatchUpOnOthers() async throws {
        let run = try await weeklyRun(missed: .sendLate)
        let report = try await run.run(target: week("2026-W47"), request: .named, now: date("2026-11-23T06:00:00Z"))
        #expect(report.weeks.map(\.week) == [week("2026-W47")])
        await #expect(try run.store.issue(week("2026-W45")) == nil)
    }

    @Test func aWeekCronSkippedAsMissedIsBuiltAndSentWhenAnEditorNamesIt() async throws {
        let run = try await weeklyRun(missed: .skip)
        let months = date("2027-03-01T06:00:00Z")
        let cron = try await run.run(target: week("2027-W09"), request: .scheduled, now: months)
        await #expect(try run.store.issue(week("2026-W47"))?.skipReason?.hasPrefix("missed:") == true)
        #expect(cron.weeks.contains { $0.week == week("2026-W47") })

        let named = try await run.run(target: week("2026-W47"), request: .named, now: months)
        #expect(named.weeks.map(\.week) == [week("2026-W47")])
        guard case .sent(_, let lateBy) = named.weeks[0].outcome else {
            Issue.record("2026-W47 was not sent: \(named.weeks[0].outcome)")
            return
        }
        #expect(lateBy == months.timeIntervalSince(date("2026-11-23T00:00:00Z")))
        await #expect(try run.store.issue(week("2026-W47"))?.status == .sent)
        await #expect(try run.store.deliveryCounts(week("2026-W47")) == [.sent: 1])
        // Named again: nothing goes out twice.
        let again = try await run.run(target: week("2026-W47"), request: .named, now: months)
        #expect(again.weeks.first?.outcome == .nothingToDo(reason: "already sent"))
        await #expect(try run.store.deliveryCounts(week("2026-W47")) == [.sent: 1])
    }
}

extension WeeklyRunTests {
    /// A run lock that its database session lost after `decisions` checks (what a restart of
    /// the server does to a session-level lock; WeekDecisionLockTests shows the real one lost).
    final class LosingHold: WeekLockHold {
        let left: Mutex<Int>
        init(decisions: Int) { left = Mutex(decisions) }
        func ensureHeld() throws {
            let stillHeld = left.withLock { left in
                defer { left -= 1 }
                return left > 0
            }
            if !stillHeld { throw WeekLockLost(week: try IssueWeek(parsing: "2026-W47"), reason: "the test ended it") }
        }
    }

    @Test func aRunThatLostItsLockDecidesNothingMore() async throws {
        var run = try await weeklyRun(missed: .skip)
        run.lockHold = LosingHold(decisions: 0)
        await #expect {
            try await run.run(target: week("2026-W47"), request: .named, now: date("2026-11-23T06:00:00Z"))
        } throws: { error in
            guard case .lockLost(let reason) = error as? RunError else { return false }
            return reason.contains("the lock on 2026-W47's decisions was lost")
        }
        await #expect(try run.store.issue(week("2026-W47")) == nil, "no draft built")
        await #expect(try run.store.deliveryCounts(week("2026-W47")).isEmpty, "nothing sent")

        // Lost between building the draft and approving it: the draft stands, nothing is approved or sent.
        run.lockHold = LosingHold(decisions: 1)
        await #expect(throws: RunError.self) {
            try await run.run(target: week("2026-W47"), request: .named, now: date("2026-11-23T06:00:00Z"))
        }
        let issue = try await #require(try run.store.issue(week("2026-W47")))
        #expect(issue.status == .draft && issue.approvedHash == nil)
        await #expect(try run.store.deliveryCounts(week("2026-W47")).isEmpty)
    }
}
