import Foundation
import Testing

@testable import NewsletterCore

/// The SVG chart writer's output: its scale, its escaping, and what it draws with no data.
struct SVGChartTests {
    @Test(arguments: [(7.0, 10.0), (120, 200), (0.0034, 0.005), (1, 1), (0, 1), (450, 500)])
    func theValueAxisEndsAtTheNextOneTwoOrFiveTimesAPowerOfTen(_ largest: Double, _ top: Double) {
        let chart = SVGChart(id: "c", title: "t", labels: ["a"], series: [.init("s", [largest])])
        #expect(abs(chart.scaleMaximum - top) < top * 1e-9)
    }

    @Test func aRateChartOfZerosEndsItsAxisAtOnePercent() {
        let chart = SVGChart(id: "c", title: "t", labels: ["a"], series: [.init("s", [0])], unit: .rate)
        #expect(chart.scaleMaximum == 0.01)
        #expect(chart.svg.contains(">1.00 %<") && !chart.svg.contains("100.00 %"))
    }

    @Test func aThresholdAboveTheDataRaisesTheAxisAndIsDrawnWhereItsValueIs() throws {
        let chart = SVGChart(
            id: "rates", title: "Complaint rate", labels: ["2026-W46", "2026-W47"],
            series: [.init("complaints", [0.001, 0.002])], unit: .rate, threshold: .init(0.003, label: "0.3 % limit"))
        #expect(abs(chart.scaleMaximum - 0.005) < 1e-12)
        // The plot runs from y = 28 (the top, 0.5 %) to y = 216 (zero): 0.3 % is 60 % of the way up.
        let expectedY = String(format: "%.1f", 28 + 188 * (1 - 0.003 / 0.005))
        #expect(chart.svg.contains(#"y1="\#(expectedY)" y2="\#(expectedY)" class="threshold""#))
        #expect(chart.svg.contains("0.3 % limit"))
        // A bar as tall as its share of the axis: 0.2 % of 0.5 % is 40 % of 188.
        #expect(chart.svg.contains(#"height="\#(String(format: "%.1f", 188 * 0.4))""#))
        #expect(chart.svg.contains("0.50 %"), "the top tick reads as a percentage")
    }

    @Test func everyTextIsEscapedAndTheIdKeepsOnlySafeCharacters() {
        let chart = SVGChart(
            id: "x\" onload=\"alert(1)", title: "<script>alert(1)</script> & co",
            labels: ["\"Quill\" <vs> 'Ink'"], series: [.init("a</title><script>", [3])])
        let svg = chart.svg
        #expect(!svg.contains("<script"))
        #expect(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"))
        #expect(svg.contains("&quot;Quill&quot; &lt;vs&gt; &#39;Ink&#39;"))
        #expect(svg.contains(#"aria-labelledby="xonloadalert1-title""#))
        #expect(!svg.contains("onload="))
    }

    @Test func noCategoriesDrawsATitledEmptyChartAndAnEmptyTable() {
        let chart = SVGChart(id: "empty", title: "Signups per week", labels: [], series: [.init("signups", [])])
        #expect(chart.svg.contains("<title id=\"empty-title\">Signups per week</title>"))
        #expect(chart.svg.contains("No data yet"))
        #expect(!chart.svg.contains("<rect"))
        #expect(chart.table.rows.isEmpty)
    }

    @Test func theTableHoldsTheSameNumbersAsTheChart() {
        let chart = SVGChart(
            id: "t", title: "Subscribers", labels: ["W1", "W2"],
            series: [.init("joined", [3, 0]), .init("confirmed", [10, 9], mark: .line)])
        #expect(chart.table.header == ["", "joined", "confirmed"])
        #expect(chart.table.rows == [["W1", "3", "10"], ["W2", "0", "9"]])
        #expect(chart.svg.contains("<polyline"))
        // A zero draws no bar; the other one does.
        #expect(chart.svg.components(separatedBy: "<rect x=").count - 1 == 1 + 2, "one bar and two legend keys")
    }

    @Test func aLongLabelIsCutUnderTheChartAndKeptWholeInTheTable() {
        let title = "Inkwell, the long-named writing tool vs Quill"
        let chart = SVGChart(
            id: "t", title: "Clicks", labels: (1...8).map { "\($0). \(title)" }, series: [.init("c", Array(repeating: 1, count: 8))])
        #expect(!chart.svg.contains("class=\"label\">1. \(title)"))
        #expect(chart.svg.contains("<title>c, 1. \(title): 1</title>"), "the bar's tooltip has it whole")
        #expect(chart.svg.contains(">1. Ink…<"), "room for 7 characters in a slot of 71 units")
        #expect(chart.table.rows[0][0] == "1. \(title)")
    }
}
