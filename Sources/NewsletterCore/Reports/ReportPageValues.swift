import Foundation

/// What the editor's report pages show, as values for their Mustache templates (which escape
/// every text; the charts' SVG escaped its own).
extension IssueReport {
    /// Copies accepted per bucket, labelled by the bucket's start (UTC).
    public var progressChart: SVGChart {
        var labels: [String] = []
        if let progress {
            for index in progress.sent.indices {
                let start = progress.start.addingTimeInterval(TimeInterval(index * progress.bucketSeconds))
                labels.append(Self.bucketLabel(start, bucketSeconds: progress.bucketSeconds))
            }
        }
        let per = progress.map { IssueReport.duration($0.bucketSeconds) } ?? "bucket"
        return SVGChart(
            id: "progress", title: "Copies accepted per \(per) (UTC)", labels: labels,
            series: [.init("accepted", (progress?.sent ?? []).map { Double($0) })])
    }

    /// A person's clicks and the scanners' per comparison, most clicked first.
    public var clicksChart: SVGChart {
        SVGChart(
            id: "clicks", title: "Clicks per comparison", labels: clicks.comparisons.map(\.title),
            series: [
                .init("clicks", clicks.comparisons.map { Double($0.clicks) }),
                .init("link scanners (not counted)", clicks.comparisons.map { Double($0.scannerClicks) }),
            ])
    }

    /// `09:05` within a day, `11-23 18:00` across days, `11-23` for buckets of a day or more.
    static func bucketLabel(_ date: Date, bucketSeconds: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.month, .day, .hour, .minute], from: date)
        let day = String(format: "%02d-%02d", parts.month!, parts.day!)
        let time = String(format: "%02d:%02d", parts.hour!, parts.minute!)
        return bucketSeconds >= 86400 ? day : bucketSeconds >= 3600 ? "\(day) \(time)" : time
    }

    public var pageValues: [String: Any] {
        func percent(_ rate: Double?) -> String { rate.map { String(format: "%.2f %%", $0 * 100) } ?? "–" }
        var values: [String: Any] = [
            "week": week.description, "status": status.rawValue,
            "sent": ledger.sent, "deferred": ledger.deferred, "failed": ledger.failed, "skipped": ledger.skipped,
            "waiting": ledger.waiting,
            "hard": bounces.hard, "soft": bounces.soft, "policy": bounces.policy, "bounceRate": percent(bounces.bounceRate),
            "complaints": bounces.complaints, "complaintRate": percent(bounces.complaintRate),
            "complaintRateTooHigh": bounces.complaintRateTooHigh, "delivered": bounces.delivered,
            "warnings": warnings, "hasProgress": progress != nil, "unsubscribeDays": IssueReport.unsubscribeDays,
        ]
        // Left out when absent, so the template's sections skip them.
        if let subject { values["subject"] = subject }
        if let sentAt { values["sentAt"] = sentAt.formatted(.iso8601) }
        if let unsubscribes {
            values["unsubscribes"] = ["count": unsubscribes.count, "rate": percent(unsubscribes.rate)]
        }
        if progress != nil { values["progressChart"] = progressChart.pageValues }
        if !relays.isEmpty {
            values["hasRelays"] = true
            values["relays"] = relays.map { ["line": $0.line, "up": $0.up] as [String: Any] }
        }
        if !clicks.links.isEmpty {
            values["clicks"] = [
                "total": clicks.clicks, "scanners": clicks.scannerClicks, "rate": percent(clicks.clickRate),
                "links": clicks.links.map {
                    [
                        "target": $0.target, "variant": $0.variant, "clicks": $0.clicks, "scanners": $0.scannerClicks,
                        "readers": $0.readers,
                    ] as [String: Any]
                },
                "chart": clicksChart.pageValues,
            ] as [String: Any]
        }
        return values
    }
}
