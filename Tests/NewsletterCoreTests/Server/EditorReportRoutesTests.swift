import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// `/editor/issues/WEEK/report` and `/editor/reports`: behind the editor token, every text
/// escaped, each chart titled with its numbers in a table, bad input refused saying what.
struct EditorReportRoutesTests {
    let base: EditorRoutesTests
    var week: IssueWeek { base.week }

    init() async throws {
        base = try await EditorRoutesTests()
        // Two copies out and accepted, one refused: something to report and to chart.
        for name in ["ada", "bob", "cy"] {
            _ = try await base.store.addSubscriber(email: "\(name)@example.org", name: nil, status: .confirmed)
        }
        _ = try await base.store.prepareDelivery(week, addSubscribers: true)
        let claims = try await base.store.claimDeliveries(week, limit: 10, runStarted: Date())
        for claim in claims.prefix(2) {
            try await base.store.recordSent(
                week, subscriberID: claim.subscriber.id, messageID: "<\(claim.subscriber.id)@x>", reply: "250 ok")
        }
        try await base.store.recordFailed(
            week, subscriberID: claims[2].subscriber.id, reply: "550 5.1.1 unknown",
            refusal: BounceEvidence(smtpReply: "550 5.1.1 unknown"), rule: BounceRule(), at: Date())
        try await base.store.markSent(week, at: Date())
    }

    @Test func theReportNeedsTheTokenAndShowsTheIssueEscapedWithItsChartAndTable() async throws {
        try await base.app().test(.router) { client in
            try await client.execute(uri: "/editor/issues/2026-W47/report", method: .get) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/editor/issues/2026-W47/report", method: .get, headers: EditorRoutesTests.bearer) {
                response in
                #expect(response.status == .ok)
                let body = String(buffer: response.body)
                #expect(body.contains("“Week 47: &quot;ship&quot; &amp; skip”"))
                #expect(!body.contains("\"ship\" & skip"))
                #expect(body.contains("<th scope=\"row\">Sent</th><td class=\"number\">2</td>"))
                #expect(body.contains("<th scope=\"row\">Hard bounces</th><td class=\"number\">1</td>"))
                #expect(body.contains("<title id=\"progress-title\">Copies accepted per 1 min (UTC)</title>"))
                #expect(body.contains("<table class=\"chart-data\"><caption>Copies accepted per 1 min (UTC): the numbers"))
                #expect(body.contains("<a href=\"/editor/reports\">Charts over time</a>"))
                #expect(body.contains("No tracked links in this issue"))
                #expect(!body.contains("<script"))
                #expect(response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'none'") == true)
            }
        }
    }

    @Test func aWeekWithoutAnIssueIs404AndAMalformedWeek400() async throws {
        try await base.app().test(.router) { client in
            try await client.execute(uri: "/editor/issues/2026-W40/report", method: .get, headers: EditorRoutesTests.bearer) {
                #expect($0.status == .notFound)
                #expect(String(buffer: $0.body).contains("2026-W40 has no issue to report on"))
            }
            try await client.execute(uri: "/editor/issues/2026-W99/report", method: .get, headers: EditorRoutesTests.bearer) {
                #expect($0.status == .badRequest)
            }
        }
    }

    @Test func theChartsPageHasSixTitledChartsEachWithItsTable() async throws {
        try await base.app().test(.router) { client in
            try await client.execute(uri: "/editor/reports", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/editor/reports?weeks=4", method: .get, headers: EditorRoutesTests.bearer) {
                response in
                #expect(response.status == .ok)
                let body = String(buffer: response.body)
                for id in ["confirmed", "movements", "click-rate", "top-comparisons", "complaints", "bounces"] {
                    #expect(body.contains("<h2 id=\"chart-\(id)-heading\">"), "\(id)")
                    #expect(body.contains("<title id=\"\(id)-title\">"), "\(id)")
                }
                #expect(body.components(separatedBy: "<table class=\"chart-data\">").count - 1 == 6)
                #expect(body.contains("0.3 %: Gmail’s and Yahoo’s limit"))
                // The sent issue's hard bounce: one of two delivered copies.
                #expect(body.contains("<th scope=\"row\">2026-W47</th><td class=\"number\">50.00 %</td><td class=\"number\">0.00 %</td>"))
                #expect(!body.contains("<script"))
            }
        }
    }

    @Test(arguments: ["0", "105", "abc", "-3", "12%20"])
    func aNumberOfWeeksOutOfRangeIsRefusedNamingTheField(_ weeks: String) async throws {
        try await base.app().test(.router) { client in
            try await client.execute(uri: "/editor/reports?weeks=\(weeks)", method: .get, headers: EditorRoutesTests.bearer) {
                #expect($0.status == .unprocessableContent)
                #expect(String(buffer: $0.body).contains("weeks must be a whole number from 1 to 104"))
            }
        }
    }

    @Test func theIssuePageLinksItsReportAndTheChartsAndShowsPreviewsBesideTheSummaries() async throws {
        try await base.app().test(.router) { client in
            try await client.execute(uri: "/editor/issues/2026-W47", method: .get, headers: EditorRoutesTests.bearer) {
                let body = String(buffer: $0.body)
                #expect(body.contains("<a href=\"/editor/issues/2026-W47/report\">Report</a>"))
                #expect(body.contains("<a href=\"/editor/issues/2026-W47\" aria-current=\"page\">Draft</a>"))
                let draft = try #require(body.range(of: "<div class=\"draft\">"))
                let summaries = try #require(body.range(of: "<section class=\"summaries-column\""))
                let previews = try #require(body.range(of: "<section class=\"previews\""))
                #expect(draft.upperBound <= summaries.lowerBound && summaries.upperBound <= previews.lowerBound)
            }
        }
    }
}
