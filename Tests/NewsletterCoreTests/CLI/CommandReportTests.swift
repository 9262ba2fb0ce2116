import Foundation
import Testing

@testable import NewsletterCore

/// What the commands print, now made in the core: `preview`'s report, `issues`' lines,
/// `send`'s summary and dry run, `ingest`'s line per page and `benchmark-encode`'s row.
struct CommandReportTests {
    let week = try! IssueWeek(parsing: "2026-W47")

    @Test func thePreviewReportNamesEachComparisonTheFilesAndHowToApprove() async throws {
        let fixture = try IssuePreviewTests()
        try await fixture.ingestWeek()
        let result = try await fixture.preview().preview(week)
        let lines = result.text(week)
        let hash = String(result.draft.hash.prefix(12))
        #expect(lines.first == "2026-W47: 3 comparisons, draft \(hash)")
        let first = result.items[0].stored
        #expect(lines[1] == "  1. #\(first.id) \(first.comparison.title)  [summary: extractive, fallback]")
        #expect(lines.contains("  HTML \(result.draft.html.utf8.count / 1024) KB"))
        #expect(lines.filter { $0.hasPrefix("  wrote ") }.count == 3)
        #expect(lines.last == "Approve it with: newsletter approve --week 2026-W47 --hash \(hash)")
        #expect(result.unavailableProviders.isEmpty)

        try await fixture.store.approve(week, hash: result.draft.hash, at: Date())
        let again = try await fixture.preview().preview(week).text(week)
        #expect(again.first == "2026-W47: 3 comparisons, draft \(hash) (unchanged, still approved)")
        #expect(!again.contains { $0.hasPrefix("Approve it with") })
    }

    @Test func providersThatCouldNotRunAreGroupedByReasonEachOnce() async throws {
        let fixture = try IssuePreviewTests()
        try await fixture.ingestWeek()
        var result = try await fixture.preview().preview(week)
        result.summaryOutcomes[0].unavailable = [("llama", "no runtime"), ("qwen", "no runtime")]
        result.summaryOutcomes[1].unavailable = [("llama", "no runtime"), ("api", "no key")]
        let grouped = result.unavailableProviders.map { "\($0.reason): \($0.providers.joined(separator: ","))" }
        #expect(grouped == ["no key: api", "no runtime: llama,qwen"])
    }

    @Test func anIssueLineSaysWhatEachWeekIsAndCountsItsSummaryKinds() {
        let manifest =
            #"{"comparisons": [{"summary": {"kind": "extractive"}}, {"summary": {"kind": "abstractive"}}, {"summary": {"kind": "extractive"}}]}"#
        var draft = IssueRecord(
            week: week, status: .draft, subject: "Ship or skip", manifest: manifest, comparisonIDs: [1, 2, 3],
            updatedAt: Date())
        #expect(draft.summaryKinds == ["extractive": 2, "abstractive": 1])
        #expect(draft.listLine == "2026-W47  draft     Ship or skip  [summaries: 1 abstractive, 2 extractive]")
        // A draft from before summaries had kinds counts none, even next to one that has a kind.
        draft.manifest = #"{"comparisons": [{"summary": {"kind": "edited"}}, {"summary": {"text": "old"}}]}"#
        #expect(draft.summaryKinds == nil)
        let skipped = IssueRecord(
            week: week.next, status: .skipped, skipReason: "only one comparison", comparisonIDs: [], updatedAt: Date())
        #expect(skipped.listLine == "2026-W48  skipped   only one comparison")
    }

    @Test func theSendLineSaysWhoseTheRestIs() {
        var summary = DeliverySummary(sent: 3, deferred: 1, ledger: [.sent: 3, .deferred: 1])
        #expect(summary.line(week) == "2026-W47: 3 sent, 1 deferred, 0 failed, 0 skipped; ledger: 3 sent, 1 deferred")
        summary = DeliverySummary(sent: 2, resumed: 1, ledger: [.sent: 2, .sending: 2], otherSenders: 2)
        #expect(
            summary.line(week)
                == "2026-W47: 2 sent, 0 deferred, 0 failed, 0 skipped, 1 resumed after an interrupted run; ledger: 2 sending, 2 sent — the rest is being sent by 2 other sender(s)"
        )
        summary = DeliverySummary(sent: 4, ledger: [.sent: 4], complete: true)
        #expect(summary.line(week).hasSuffix("ledger: 4 sent — complete"))
        #expect(DeliveryState.describe([:]) == "empty")
    }

    @Test func aDryRunSaysWhetherTheDraftIsApprovedAsItStands() async throws {
        let store = try AppDatabase.inMemory()
        _ = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        _ = try await store.addSubscriber(email: "bo@example.org", name: nil, status: .pending)
        await #expect(
            try store.sendDryRun(week, transport: "smtp")
                == "2026-W47: NOT approved (no draft), transport smtp, 1 confirmed subscriber(s); ledger: empty")
        try await store.saveDraft(
            IssueDraft(
                week: week, subject: "S", html: "<p>h</p>", text: "t", manifest: "{}", comparisonIDs: [], hash: "h1"))
        await #expect(
            try store.sendDryRun(week, transport: "outbox").hasPrefix(
                "2026-W47: NOT approved (draft), transport outbox"))
        try await store.approve(week, hash: "h1", at: Date())
        await #expect(try store.sendDryRun(week, transport: "smtp").hasPrefix("2026-W47: approved, transport smtp"))
    }

    @Test func anIngestLineSaysWhatHappenedToThePage() throws {
        var comparison = try StoreFixtures.comparison("A vs B", published: "2026-11-17T10:00:00Z")
        comparison.contentHash = "0123456789abcdef"
        let title = comparison.title, source = comparison.source
        #expect(SaveOutcome.inserted(id: 7).line(comparison) == "new        #7 \(title)  \(source)")
        #expect(SaveOutcome.unchanged(id: 7).line(comparison) == "unchanged  #7 \(title)  \(source)")
        #expect(
            SaveOutcome.updated(id: 7, previousHash: "fedcba9876543210").line(comparison)
                == "updated    #7 \(title)  (content changed: fedcba987654 → 0123456789ab)")
        #expect(
            SaveOutcome.duplicate(of: 7, source: "/pages/a.txt").line(comparison)
                == "duplicate  of #7 \(title)  \(source) (same comparison as /pages/a.txt)")
    }

    @Test func theEncodeBenchmarkSplicesTheBytesTheReferenceEncoderWrites() async throws {
        let draft = try await IssueEncoderTests.realDraft()
        let delivery = DeliverySettings(
            from: try MailAddress("news@example.org", displayName: "News"), listID: "news.example.org",
            publicURL: "https://news.example.org")
        let benchmark = EncodeBenchmark(subject: draft.subject, html: draft.html, text: draft.text, delivery: delivery)
        let spliced = try benchmark.run(count: 5, reference: false)
        let reference = try benchmark.run(count: 5, reference: true)
        #expect(spliced.messages == 5 && reference.messages == 5)
        #expect(spliced.bytes == reference.bytes && spliced.bytes > 5 * draft.html.utf8.count)
        #expect(spliced.line.hasPrefix("messages=5 seconds="))
        #expect(spliced.line.hasSuffix(" average_bytes=\(spliced.bytes / 5)"))
    }
}
