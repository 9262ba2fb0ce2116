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
            issues.append(
                Issue(week: issue.week, bounces: IssueReport.Bounces(try await store.bounceTally(issue.week))))
        }
        return PublisherTrends(weeks: weeks, issues: issues)
    }

    /// The charts, in the page's order.
    public var charts: [SVGChart] {
        let weekLabels = weeks.map { $0.week.description }
        let issueLabels = issues.map { $0.week.description }
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
