import Foundation
import Testing

@testable import NewsletterCore

/// Issue 23's labelled set (Fixtures/labelled-summaries.json): hand-written sentences about the
/// sample and example pages, each faithful or one kind of wrong. These tests keep the set usable:
/// big enough, every kind present, a held-out part, every row about a tool its page has.
struct LabelledSummariesTests {
    static let file = TestPaths.fixture("labelled-summaries.json")

    /// The page a row is about, read as `ingest` reads it; nil when the sample pages are absent.
    static func comparison(_ row: LabelledSummaries.Row) throws -> Comparison? {
        let folder: URL
        switch row.folder {
        case "examples": folder = TestPaths.examples
        case "sample":
            guard let samples = TestPaths.samplePages else { return nil }
            folder = samples
        default: throw LabelledSetError.unknownFolder(row.folder)
        }
        let url = folder.appendingPathComponent(row.page)
        return try ComparisonPageReader().read(try TestPaths.bytes(url), source: url.path)
    }

    enum LabelledSetError: Error { case unknownFolder(String) }

    @Test func theSetIsBigEnoughWithEveryKindAndAHeldOutPart() throws {
        let set = try LabelledSummaries(contentsOf: Self.file)
        #expect(set.rows.count >= 100)
        for kind in LabelledSummaries.Kind.allCases {
            let rows = set.rows.filter { $0.kind == kind }
            #expect(rows.count >= (kind == .faithful ? 40 : 12), "\(kind.rawValue): \(rows.count) rows")
            // Each kind has rows in both parts, so both parts' numbers mean something.
            #expect(rows.contains { $0.heldOut } && rows.contains { !$0.heldOut }, "\(kind.rawValue)")
        }
        let heldOut = set.rows.filter(\.heldOut).count * 100 / set.rows.count
        #expect((25...35).contains(heldOut), "held out: \(heldOut) %")
        #expect(Set(set.rows.map(\.sentence)).count == set.rows.count, "a sentence is labelled twice")
    }

    @Test func everyRowIsAboutAToolItsPageHasAndNamesIt() throws {
        let set = try LabelledSummaries(contentsOf: Self.file)
        var pages: [String: Comparison] = [:]
        for row in set.rows {
            let key = row.folder + "/" + row.page
            guard let comparison = try pages[key] ?? Self.comparison(row) else { continue }
            pages[key] = comparison
            #expect(comparison.tools.map(\.name).contains(row.tool), "\(row.page) has no tool \(row.tool)")
            let source = GuardSource(comparison, instructions: "")
            #expect(SummaryGuard.toolsNamed(in: row.sentence, source: source).contains(row.tool), "\(row.sentence)")
        }
        #expect(pages.count == (TestPaths.samplePages == nil ? 2 : 7))
    }

    /// The sentences are the project's own words: none copies ten words in a row from its page.
    @Test func noSentenceCopiesItsPage() throws {
        let set = try LabelledSummaries(contentsOf: Self.file)
        for row in set.rows {
            guard let comparison = try Self.comparison(row) else { continue }
            let page = ([comparison.title] + comparison.tools.flatMap { [$0.tagline, $0.description] }
                + comparison.takes.map(\.text)).joined(separator: "\n")
            #expect(SummaryGuard.copiedRun(row.sentence, from: page) == nil, "\(row.sentence)")
        }
    }
}

/// The guard measured on the labelled set (issue 23's aims: faithful accepted ≥ 80 %, every wrong
/// kind refused ≥ 90 %). The aims hold on the whole set; the held-out part, not looked at while
/// the checks were tuned, is held to today's numbers as a floor (docs/benchmarks.md, "Issue 23").
struct LabelledSetMeasurementTests {
    @Test func theGuardMeetsTheAimsOnTheWholeSetAndTodaysFloorOnTheHeldOutPart() throws {
        guard TestPaths.samplePages != nil else { return }
        let set = try LabelledSummaries(contentsOf: LabelledSummariesTests.file)
        let measurement = try set.measure { row in try #require(try LabelledSummariesTests.comparison(row)) }
        print(measurement.table())
        for kind in LabelledSummaries.Kind.allCases {
            #expect(measurement.rightPercent(kind) >= (kind == .faithful ? 80 : 90), "\(kind.rawValue)")
            #expect(measurement.rightPercent(kind, heldOut: true) >= 75, "\(kind.rawValue), held out")
        }
    }
}
