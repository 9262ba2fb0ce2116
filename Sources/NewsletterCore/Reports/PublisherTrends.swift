import Foundation

/// The list and its issues over time, for `/editor/reports`: who joined and left each week, how
/// many were confirmed at its end, and each sent issue's bounce and complaint rates.
public struct PublisherTrends: Sendable {
    public struct Week: Sendable, Equatable {
        public var week: IssueWeek
        public var movement: SubscriberMovement
        /// Confirmed at the week's end, counted back from today's number (so an address that
        /// left without a consent record, e.g. removed, shows in today's number only).
        public var confirmed: Int
    }

    public struct Issue: Sendable, Equatable {
        public var week: IssueWeek
        public var bounces: IssueReport.Bounces
        public var clicks: IssueClicks
    }

    public var weeks: [Week]
    public var issues: [Issue]

    /// The `weeks` ISO weeks up to the one holding `now`, and the last `weeks` sent issues.
    public static func make(
        store: some IssueReportStore, weeks count: Int, now: Date, timeZone: TimeZone
    ) async throws -> PublisherTrends {
        var week = IssueWeek.containing(now, in: timeZone)
        var recent = [week]
        while recent.count < count, week.year > 1 || week.week > 1 {
            week = week.previous
            recent.insert(week, at: 0)
        }
        let (movements, confirmedNow) = try await store.subscriberMovements(
            in: recent.map { $0.window(in: timeZone) })
        var confirmed = confirmedNow
        var weeks: [Week] = []
        for (week, movement) in zip(recent, movements).reversed() {
            weeks.insert(Week(week: week, movement: movement, confirmed: confirmed), at: 0)
            confirmed = max(0, confirmed - movement.joined + movement.unsubscribed + movement.bounced)
        }
        var issues: [Issue] = []
        for issue in try await store.listIssues().filter({ $0.status == .sent }).sorted(by: { $0.week < $1.week })
            .suffix(count)
        {
            let tally = try await store.bounceTally(issue.week)
            let clicks = IssueClicks(
                try await store.linkClicks(issue.week), manifest: issue.manifest, delivered: tally.delivered)
            issues.append(Issue(week: issue.week, bounces: IssueReport.Bounces(tally), clicks: clicks))
        }
        return PublisherTrends(weeks: weeks, issues: issues)
    }

    /// The comparisons a person clicked most over these issues (their links' clicks added up),
    /// at most `limit`, most clicked first.
    public func mostClickedComparisons(limit: Int = 10) -> [IssueClicks.Comparison] {
        var total: [Int64: IssueClicks.Comparison] = [:]
        for comparison in issues.flatMap(\.clicks.comparisons) {
            var entry = total[comparison.id] ?? IssueClicks.Comparison(
                id: comparison.id, title: comparison.title, clicks: 0, scannerClicks: 0)
            entry.clicks += comparison.clicks
            entry.scannerClicks += comparison.scannerClicks
            total[comparison.id] = entry
        }
        return Array(
            total.values.filter { $0.clicks > 0 }.sorted { ($0.clicks, $1.id) > ($1.clicks, $0.id) }.prefix(limit))
    }

    /// The charts, in the page's order.
    public var charts: [SVGChart] {
        let weekLabels = weeks.map { $0.week.description }
        let issueLabels = issues.map { $0.week.description }
        let top = mostClickedComparisons()
        let limit = SVGChart.Threshold(BounceRule.complaintRateThreshold, label: "0.3 %: Gmail\u{2019}s and Yahoo\u{2019}s limit")
        return [
            SVGChart(
                id: "confirmed", title: "Confirmed subscribers at the end of each week", labels: weekLabels,
                series: [.init("confirmed", weeks.map { Double($0.confirmed) }, mark: .line)]),
            SVGChart(
                id: "movements", title: "Signups, unsubscribes and bounces per week", labels: weekLabels,
                series: [
                    .init("joined", weeks.map { Double($0.movement.joined) }),
                    .init("unsubscribed", weeks.map { Double($0.movement.unsubscribed) }),
                    .init("bounced", weeks.map { Double($0.movement.bounced) }),
                ]),
            SVGChart(
                id: "click-rate", title: "Click rate per issue (a person's clicks per delivered copy)",
                labels: issueLabels, series: [.init("clicks per copy", issues.map { $0.clicks.clickRate ?? 0 })],
                unit: .rate),
            SVGChart(
                id: "top-comparisons", title: "The comparisons that drew the most clicks, over the last \(issues.count) sent issue\(issues.count == 1 ? "" : "s")",
                labels: top.map(\.title),
                series: [
                    .init("clicks", top.map { Double($0.clicks) }),
                    .init("link scanners (not counted)", top.map { Double($0.scannerClicks) }),
                ]),
            SVGChart(
                id: "complaints", title: "Complaint rate per issue", labels: issueLabels,
                series: [.init("complaints per delivered copy", issues.map { $0.bounces.complaintRate ?? 0 })],
                unit: .rate, threshold: limit),
            SVGChart(
                id: "bounces", title: "Bounce rate per issue (hard and soft)", labels: issueLabels,
                series: [
                    .init("hard", issues.map { rate($0.bounces.hard, $0.bounces.delivered) }),
                    .init("soft", issues.map { rate($0.bounces.soft, $0.bounces.delivered) }),
                ], unit: .rate),
        ]
    }

    private func rate(_ count: Int, _ delivered: Int) -> Double { IssueReport.rate(count, of: delivered) ?? 0 }
}
