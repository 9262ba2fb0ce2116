import Foundation
import Hummingbird

/// The editor's report pages, behind the same check as every editor page:
///
/// - `GET /editor/issues/WEEK/report`: what became of the week's issue (`IssueReport`).
/// - `GET /editor/reports[?weeks=N]`: the list and the issues over the last N weeks (12 by
///   default, at most 104), as charts with their numbers in tables.
extension EditorRoutes {
    static var chartWeeks: ClosedRange<Int> { 1...104 }

    func registerReports<Context: EditorRequestContext>(on editor: RouterGroup<Context>) {
        editor.get("issues/:week/report") { request, context in
            let week = try weekParameter(context)
            let report: IssueReport
            do {
                report = try await IssueReport.make(week, store: store, at: time.now())
            } catch let error as ReportError {
                return pages.failure(BadRequest(status: 404, error.description), json: false)
            }
            var values = report.pageValues
            values["title"] = "Report \(week)"
            values["onReport"] = true
            return editorPage("editor-report", values.merging(try await navigation(current: week, context)) { $1 })
        }
        editor.get("reports") { request, context in
            let weeks: Int
            if let text = request.uri.queryParameters.get("weeks") {
                guard let number = Int(text), Self.chartWeeks.contains(number) else {
                    return pages.failure(
                        BadRequest(
                            status: 422,
                            "weeks must be a whole number from \(Self.chartWeeks.lowerBound) to \(Self.chartWeeks.upperBound)"),
                        json: false)
                }
                weeks = number
            } else {
                weeks = 12
            }
            let trends = try await PublisherTrends.make(
                store: store, weeks: weeks, now: time.now(), timeZone: pages.settings.timeZone)
            var values: [String: Any] = [
                "title": "Charts", "weeks": weeks, "charts": trends.charts.map(\.pageValues), "onCharts": true,
            ]
            values.merge(try await navigation(current: nil, context)) { $1 }
            return editorPage("editor-reports", values)
        }
    }

    /// The editor pages' navigation: the latest issues (the current one marked), the week before
    /// and after the current one, the current week's draft and report, and who is logged in
    /// (with the log-out form, and the users page for an owner).
    func navigation(current: IssueWeek?, _ context: some EditorRequestContext) async throws -> [String: Any] {
        let weeks = try await store.listIssues().map(\.week).sorted(by: >)
        var values: [String: Any] = [
            "navIssues": weeks.prefix(8).map { ["week": $0.description, "current": $0 == current] },
            "navMore": weeks.count > 8,
        ]
        if let editor = context.editor {
            values["navActor"] = editor.actor
            values["navRole"] = editor.role.rawValue
            values["navOwner"] = editor.role.allows(.owner)
            values["navSession"] = editor.sessionTokenHash != nil
            values["accountFormToken"] = editor.forms.make(subject: EditorFormToken.accountScope, at: time.now())
        }
        if let current {
            values["navWeek"] = current.description
            if let newer = weeks.last(where: { $0 > current }) { values["navNewer"] = newer.description }
            if let older = weeks.first(where: { $0 < current }) { values["navOlder"] = older.description }
        }
        return values.merging(try await disabledWebhookBanner()) { $1 }
    }
}
