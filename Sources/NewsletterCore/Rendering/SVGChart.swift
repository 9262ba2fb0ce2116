import Foundation

/// A small chart drawn as inline SVG on the server: bars or lines over labelled categories (weeks,
/// issues, time buckets), with an optional threshold line (the 0.3 % complaint limit). No script,
/// no external resource; every text escaped. It scales to its container (a `viewBox`, no fixed
/// width), so a phone gets it narrower, not cut. The page puts a table of the same numbers below
/// it as its text alternative (`table`).
public struct SVGChart: Sendable {
    public enum Mark: Sendable { case bars, line }

    public struct Series: Sendable {
        public var name: String
        public var values: [Double]
        public var mark: Mark

        public init(_ name: String, _ values: [Double], mark: Mark = .bars) {
            self.name = name
            self.values = values
            self.mark = mark
        }
    }

    /// How the values read: counts, or rates shown as percentages.
    public enum Unit: Sendable {
        case count, rate

        func format(_ value: Double) -> String {
            switch self {
            case .count: value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
            case .rate: String(format: "%.2f %%", value * 100)
            }
        }
    }

    /// A horizontal line across the plot (a limit), with its label.
    public struct Threshold: Sendable {
        public var value: Double
        public var label: String

        public init(_ value: Double, label: String) {
            self.value = value
            self.label = label
        }
    }

    /// Unique on the page: the `<title>`'s id, which `aria-labelledby` names.
    public var id: String
    public var title: String
    public var labels: [String]
    public var series: [Series]
    public var unit: Unit
    public var threshold: Threshold?

    public init(
        id: String, title: String, labels: [String], series: [Series], unit: Unit = .count,
        threshold: Threshold? = nil
    ) {
        self.id = String(id.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }.map(Character.init))
        self.title = title
        self.labels = labels
        self.series = series
        self.unit = unit
        self.threshold = threshold
    }

    static let width = 640.0
    static let height = 260.0
    static let plot = (left: 56.0, right: 16.0, top: 28.0, bottom: 44.0)
    /// Distinguishable in light and dark schemes, and by people who do not see red from green.
    static let colours = ["#2563a8", "#d97706", "#7c3aed", "#059669"]
    static let limitColour = "#b91c1c"

    /// Nothing to draw: no categories yet (a zero is a value, and is drawn).
    var isEmpty: Bool { labels.isEmpty || series.isEmpty }

    /// The top of the value axis: the largest value (or the threshold) rounded up to 1, 2 or 5
    /// times a power of ten, so the ticks read as round numbers.
    var scaleMaximum: Double {
        let largest = max(series.flatMap(\.values).max() ?? 0, threshold?.value ?? 0)
        // Nothing but zeros: an axis to 1 (a count) or 1 % (a rate), not to 100 %.
        guard largest > 0 else { return unit == .rate ? 0.01 : 1 }
        let magnitude = pow(10, (log10(largest)).rounded(.down))
        for step in [1.0, 2, 5, 10] where step * magnitude >= largest { return step * magnitude }
        return 10 * magnitude
    }

    /// The chart as an `<svg>` element, ready to be put into a page as it is.
    public var svg: String {
        let (w, h, p) = (Self.width, Self.height, Self.plot)
        let plotWidth = w - p.left - p.right
        let plotHeight = h - p.top - p.bottom
        var out =
            #"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(Int(w)) \#(Int(h))" role="img" aria-labelledby="\#(id)-title">"#
        out += #"<title id="\#(id)-title">\#(HTML.escape(title))</title>"#
        guard !isEmpty else {
            out += #"<text x="\#(Int(w / 2))" y="\#(Int(h / 2))" text-anchor="middle" class="empty">No data yet</text></svg>"#
            return out
        }
        let top = scaleMaximum
        func y(_ value: Double) -> Double { p.top + plotHeight * (1 - min(max(value, 0), top) / top) }
        func number(_ value: Double) -> String { String(format: "%.1f", value) }
        // Axis and ticks at 0, half and the top.
        for tick in [0, top / 2, top] {
            out +=
                #"<line x1="\#(number(p.left))" x2="\#(number(w - p.right))" y1="\#(number(y(tick)))" y2="\#(number(y(tick)))" class="grid"/>"#
            out +=
                #"<text x="\#(number(p.left - 6))" y="\#(number(y(tick) + 4))" text-anchor="end" class="tick">\#(HTML.escape(unit.format(tick)))</text>"#
        }
        let slot = plotWidth / Double(labels.count)
        let bars = series.enumerated().filter { $0.element.mark == .bars }
        let barWidth = slot * 0.8 / Double(max(bars.count, 1))
        for (position, (index, bar)) in bars.enumerated() {
            let colour = Self.colours[index % Self.colours.count]
            for (slotIndex, value) in bar.values.prefix(labels.count).enumerated() where value > 0 {
                let x = p.left + slot * Double(slotIndex) + slot * 0.1 + barWidth * Double(position)
                out +=
                    #"<rect x="\#(number(x))" y="\#(number(y(value)))" width="\#(number(max(barWidth - 1, 0.5)))" height="\#(number(y(0) - y(value)))" fill="\#(colour)"><title>\#(HTML.escape("\(bar.name), \(labels[slotIndex]): \(unit.format(value))"))</title></rect>"#
            }
        }
        for (index, line) in series.enumerated() where line.mark == .line {
            let colour = Self.colours[index % Self.colours.count]
            let points = line.values.prefix(labels.count).enumerated().map { slotIndex, value in
                "\(number(p.left + slot * (Double(slotIndex) + 0.5))),\(number(y(value)))"
            }
            out +=
                #"<polyline points="\#(points.joined(separator: " "))" fill="none" stroke="\#(colour)" stroke-width="2.5"><title>\#(HTML.escape(line.name))</title></polyline>"#
        }
        if let threshold {
            let ty = number(y(threshold.value))
            out +=
                #"<line x1="\#(number(p.left))" x2="\#(number(w - p.right))" y1="\#(ty)" y2="\#(ty)" class="threshold" stroke="\#(Self.limitColour)" stroke-dasharray="6 4" stroke-width="2"/>"#
            out +=
                #"<text x="\#(number(w - p.right))" y="\#(number(y(threshold.value) - 5))" text-anchor="end" class="threshold-label" fill="\#(Self.limitColour)">\#(HTML.escape(threshold.label))</text>"#
        }
        // Category labels: at most about ten, evenly spaced, each cut to the room it has (about
        // 9 units a character: the page enlarges the text on a phone), so they never overlap;
        // the table below has them whole.
        let every = max(1, Int((Double(labels.count) / 10).rounded(.up)))
        let room = max(3, Int(slot * Double(every) / 9))
        for (slotIndex, label) in labels.enumerated() where slotIndex % every == 0 {
            let shown = label.count > room ? label.prefix(room - 1) + "…" : label
            out +=
                #"<text x="\#(number(p.left + slot * (Double(slotIndex) + 0.5)))" y="\#(number(h - p.bottom + 16))" text-anchor="middle" class="label">\#(HTML.escape(shown))</text>"#
        }
        // The legend, when there is more than one series.
        if series.count > 1 || threshold != nil {
            var x = p.left
            for (index, entry) in series.enumerated() {
                out +=
                    #"<rect x="\#(number(x))" y="\#(number(h - 16))" width="10" height="10" fill="\#(Self.colours[index % Self.colours.count])"/><text x="\#(number(x + 14))" y="\#(number(h - 7))" class="legend">\#(HTML.escape(entry.name))</text>"#
                x += 14 + Double(entry.name.count) * 7 + 16
            }
        }
        return out + "</svg>"
    }

    /// The same numbers as rows, for the table below the chart: a header (the category, then one
    /// column per series) and one row per label, formatted as the chart's ticks are.
    public var table: (header: [String], rows: [[String]]) {
        let header = [""] + series.map(\.name)
        let rows = labels.enumerated().map { index, label in
            [label] + series.map { index < $0.values.count ? unit.format($0.values[index]) : "" }
        }
        return (header, rows)
    }

    /// What a Mustache page needs: the SVG (inserted unescaped: it escaped its own text), the
    /// heading, and the table's cells (escaped by the template).
    public var pageValues: [String: Any] {
        let table = self.table
        return [
            "id": id, "title": title, "svg": svg, "empty": isEmpty,
            "header": table.header.map { ["cell": $0] },
            "rows": table.rows.map { row in ["label": row[0], "cells": row.dropFirst().map { ["cell": $0] }] },
        ]
    }
}
