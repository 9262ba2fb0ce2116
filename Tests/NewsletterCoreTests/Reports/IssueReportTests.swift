import Foundation
@testable import NewsletterCore
import Testing

/// `IssueReport` over each store: what the ledger, the bounces and the consent trail say about
/// one sent issue, with the ledger's times from an injected clock.
@Suite("IssueReport", .runningStores)
struct IssueReportTests {
    let week = try! IssueWeek(parsing: "2026-W47")
    /// 2026-11-23 09:00:30 UTC: half a minute into a minute bucket.
    let t0 = Date(timeIntervalSince1970: 1_795_424_430)

    static let backends: [(String, @Sendable (ManualTime) async throws -> any NewsletterStore)] = [
        ("SQLite", { try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("s.sqlite").path, clock: $0) }),
        ("PostgreSQL", { try await PostgresStore.openRunning(try await PostgresCluster.freshDatabase(), clock: $0) }),
    ]

    /// Ada and Bob accepted ten minutes apart, Cy deferred, Di refused (5.1.1); Bob complains
    /// two days later (and so unsubscribes), Ada unsubscribes after eight days.
    func sentWeek(_ store: some NewsletterStore, clock: ManualTime) async throws {
        var draft = IssueDraft(
            week: week, subject: "Inkwell <vs> Quill", html: "<p>x</p>", text: "x",
            manifest: #"{"comparisons": [{"id": 7, "title": "Inkwell vs Quill"}, {"id": 8, "title": "Tally vs Hoist"}]}"#,
            comparisonIDs: [], hash: "h1")
        // Two links to comparison 7 (HTML and text), one to 8, one to the site.
        draft.links = [
            TrackedLink(id: "aaaaaaaaaaa1", week: week, variant: "all", comparisonID: 7, target: "https://x.example/7"),
            TrackedLink(id: "aaaaaaaaaaa2", week: week, variant: "all", comparisonID: 7, target: "https://x.example/7#t"),
            TrackedLink(id: "aaaaaaaaaaa3", week: week, variant: "all", comparisonID: 8, target: "https://x.example/8"),
            TrackedLink(id: "aaaaaaaaaaa4", week: week, variant: "all", comparisonID: nil, target: "https://x.example/"),
        ]
        try await store.saveDraft(draft)
        var ids: [String: Int64] = [:]
        for name in ["ada", "bob", "cy", "di"] {
            ids[name] = try await store.addSubscriber(email: "\(name)@example.org", name: nil, status: .confirmed).id
        }
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        _ = try await store.claimDeliveries(week, limit: 10, runStarted: clock.now())
        try await store.recordSent(week, subscriberID: ids["ada"]!, messageID: "<a@x>", reply: "250 ok")
        clock.advance(by: .seconds(600))
        try await store.recordSent(week, subscriberID: ids["bob"]!, messageID: "<b@x>", reply: "250 ok")
        try await store.recordDeferred(week, subscriberID: ids["cy"]!, reply: "451 try later")
        try await store.recordFailed(
            week, subscriberID: ids["di"]!, reply: "550 5.1.1 unknown",
            refusal: BounceEvidence(smtpReply: "550 5.1.1 unknown"), rule: BounceRule(), at: clock.now())
        _ = try await store.recordBounce(
            BounceRecord(
                key: "arf-1", subscriberID: ids["bob"]!, week: week, kind: .complaint,
                evidence: BounceEvidence(isComplaint: true), source: .mailbox,
                receivedAt: t0.addingTimeInterval(2 * 86400)), rule: BounceRule())
        try await store.recordClicks([
            ClickCount(linkID: "aaaaaaaaaaa1", clicks: 2, scannerClicks: 5),
            ClickCount(linkID: "aaaaaaaaaaa2", clicks: 1, scannerClicks: 0),
            ClickCount(linkID: "aaaaaaaaaaa3", clicks: 4, scannerClicks: 1),
        ])
        let token = try await store.newUnsubscribeToken(subscriberID: ids["ada"]!, at: t0)
        _ = try await store.unsubscribe(token: token, client: .commandLine, at: t0.addingTimeInterval(8 * 86400))
    }

    @Test(arguments: [0, 1])
    func aSentIssueReportsItsLedgerBouncesComplaintsUnsubscribesAndProgress(_ backend: Int) async throws {
        let clock = ManualTime(t0)
        let store = try await Self.backends[backend].1(clock)
        try await sentWeek(store, clock: clock)

        let report = try await IssueReport.make(week, store: store, at: clock.now())
        #expect(report.subject == "Inkwell <vs> Quill")
        #expect(report.ledger == IssueReport.Ledger(sent: 2, deferred: 1, failed: 1, skipped: 0, waiting: 0))
        #expect(report.bounces.hard == 1 && report.bounces.soft == 0 && report.bounces.delivered == 2)
        #expect(report.bounces.bounceRate == 0.5)
        #expect(report.bounces.complaints == 1 && report.bounces.complaintRate == 0.5)
        #expect(report.bounces.complaintRateTooHigh)
        // Bob's complaint (day 2) counts; Ada's unsubscribe on day 8 is past the week after the send.
        #expect(report.unsubscribes == IssueReport.Unsubscribes(days: 7, count: 1, rate: 0.5))
        // One-minute buckets from 09:00:00: Ada's copy in the first, Bob's ten minutes on.
        let progress = try #require(report.progress)
        #expect(progress.bucketSeconds == 60)
        #expect(progress.start == Date(timeIntervalSince1970: 1_795_424_400))
        #expect(progress.sent == [1] + Array(repeating: 0, count: 9) + [1])
        // Clicks: a person's per comparison and per link, the scanners' apart and not in the rate.
        #expect(report.clicks.clicks == 7 && report.clicks.scannerClicks == 6)
        #expect(report.clicks.clickRate == 3.5)
        #expect(report.clicks.comparisons.map(\.title) == ["Tally vs Hoist", "Inkwell vs Quill"])
        #expect(report.clicks.comparisons.map(\.clicks) == [4, 3])
        #expect(report.clicks.comparisons.map(\.scannerClicks) == [1, 5])
        #expect(report.clicks.links.map(\.id) == ["aaaaaaaaaaa3", "aaaaaaaaaaa1", "aaaaaaaaaaa2", "aaaaaaaaaaa4"])
        #expect(report.warnings.contains { $0.contains("0.3 %") })
        #expect(report.text.contains("unsubscribes within 7 days of the send: 1 (50.00 % of 2 delivered)"))
    }

    @Test(arguments: [0, 1])
    func aDraftNotYetSentHasNoProgressAndAWeekWithoutAnIssueIsAClearError(_ backend: Int) async throws {
        let clock = ManualTime(t0)
        let store = try await Self.backends[backend].1(clock)
        try await store.saveDraft(
            IssueDraft(week: week, subject: "S", html: "h", text: "t", manifest: "{}", comparisonIDs: [], hash: "h"))
        let report = try await IssueReport.make(week, store: store, at: clock.now())
        #expect(report.progress == nil && report.unsubscribes == nil && report.bounces.complaintRate == nil)
        #expect(report.text.contains("progress: nothing sent yet"))
        let other = try IssueWeek(parsing: "2026-W46")
        await #expect(throws: ReportError.noIssue(other)) { try await IssueReport.make(other, store: store, at: clock.now()) }
        #expect("\(ReportError.noIssue(other))".contains("2026-W46 has no issue"))
    }
}

/// The bucket widths, with no store.
@Suite struct SendProgressBucketTests {
    @Test func aSendOverDaysGetsBucketsOfHoursAlignedToTheirWidth() {
        let first: Int64 = 1_795_424_400
        let buckets = SendProgress.buckets(first: first, last: first + 3 * 86400)
        #expect(buckets.width == 7200)
        #expect(buckets.start % 7200 == 0 && buckets.start <= first)
        #expect(buckets.count <= 48)
    }

    @Test func minutesAddUpIntoTheirBucketsWithEmptyOnesBetween() throws {
        // 09:00, 09:04 and 09:40: 41 one-minute buckets fit in 48, the empty minutes zero.
        let nine: Int64 = 1_795_424_400
        let progress = try #require(SendProgress(perMinute: [nine: 3, nine + 240: 2, nine + 2400: 1]))
        #expect(progress.bucketSeconds == 60 && progress.sent.count == 41)
        #expect(progress.sent[0] == 3 && progress.sent[4] == 2 && progress.sent[40] == 1)
        #expect(progress.sent.reduce(0, +) == 6)
        // Over an hour: five-minute buckets.
        let wider = try #require(SendProgress(perMinute: [nine: 3, nine + 240: 2, nine + 3600: 1]))
        #expect(wider.bucketSeconds == 300 && wider.sent == [5] + Array(repeating: 0, count: 11) + [1])
        #expect(SendProgress(perMinute: [:]) == nil)
    }
}
