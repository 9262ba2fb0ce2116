import Foundation
import NewsletterCore
import Testing

/// The two text layouts, read from the project's own fixture pages.
struct LayoutTests {
    let reader = ComparisonPageReader()

    func read(_ name: String) throws -> Comparison {
        try reader.read(try TestPaths.bytes(TestPaths.fixture(name)), source: name)
    }

    @Test func labelledPageGivesToolsVotesPricingAndScoredTakes() throws {
        let firstSeen = Date(timeIntervalSince1970: 1_795_000_000)
        let comparison = try reader.read(
            try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), source: "labelled-basic.txt",
            firstSeen: firstSeen)
        #expect(comparison.layout == .labelled && comparison.markup == .text)
        #expect(comparison.title == "Driftnote vs Cobaltline")
        #expect(comparison.tools.map(\.name) == ["Driftnote", "Cobaltline"])
        #expect(comparison.tools.map(\.panelShipPercent) == [75, 25])
        #expect(comparison.tools.map(\.panelVerdict) == [.ship, .skip])
        #expect(comparison.tools.map(\.shipVotes) == [3, 1])
        #expect(comparison.tools.map(\.skipVotes) == [1, 3])
        #expect(comparison.tools.allSatisfy { $0.pricing != nil && $0.entry != nil && $0.category != nil })
        #expect(comparison.tools.allSatisfy { !$0.description.isEmpty && !$0.tagline.isEmpty })
        #expect(comparison.takes.count == 8)
        #expect(
            comparison.takes.allSatisfy { $0.score != nil && $0.verdict != nil && !$0.roleInferred && !$0.toolInferred }
        )
        // "No panel take" after Futurist's first take belongs to the second tool; right after
        // the PM heading, to the first.
        #expect(
            comparison.missingTakes == [
                TakeSlot(tool: "Cobaltline", role: .futurist), TakeSlot(tool: "Driftnote", role: .pm),
            ])
        let pm = try #require(comparison.takes.first { $0.role == .pm })
        #expect(pm.tool == "Cobaltline")
        #expect(comparison.takes.contains { $0.verdict == .skip })
        // The text page gives no date (nor does a feed here): it was published when first seen.
        #expect(comparison.publishedFrom == .firstSeen && comparison.published == firstSeen)
    }

    @Test func takesKeepTheirSourceLines() throws {
        let text = String(decoding: try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for take in try read("labelled-basic.txt").takes {
            let line = try #require(take.line)
            // The line a take points at is its score line.
            #expect(lines[line - 1].hasPrefix("\(take.score!)/100"))
        }
    }

    @Test(arguments: ["quoted-basic", "quoted-hard"])
    func quotedTakesAreAttributedToTheRightReviewerAndTool(name: String) throws {
        let comparison = try read("\(name).txt")
        #expect(comparison.layout == .quoted)
        let expected = try JSONDecoder().decode(
            [TakeSlot].self, from: Data(contentsOf: TestPaths.fixture("\(name).expected.json")))
        #expect(comparison.takes.map { TakeSlot(tool: $0.tool, role: $0.role) } == expected)
        #expect(comparison.takes.allSatisfy { $0.roleInferred && $0.toolInferred && $0.score == nil })
        #expect(comparison.missingTakes.isEmpty)
        #expect(comparison.tools.allSatisfy { $0.shipVotes == nil && $0.pricing == nil && $0.entry != nil })
    }

    /// The voice and the subject decide; the order only breaks ties. Reversing the takes must
    /// not change who wrote what about which tool.
    @Test func attributionDoesNotDependOnTakeOrder() throws {
        let text = String(decoding: try TestPaths.bytes(TestPaths.fixture("quoted-hard.txt")), as: UTF8.self)
        var lines = text.split(separator: "\n").map(String.init)
        let quoteIndices = lines.indices.filter { lines[$0].hasPrefix("“") }
        let reversedQuotes = quoteIndices.map { lines[$0] }.reversed()
        for (index, quote) in zip(quoteIndices, reversedQuotes) { lines[index] = quote }
        let shuffled = try reader.read(Array(lines.joined(separator: "\n").utf8), source: "reversed")
        let original = try read("quoted-hard.txt")
        let byText = Dictionary(
            uniqueKeysWithValues: original.takes.map { ($0.text, TakeSlot(tool: $0.tool, role: $0.role)) })
        for take in shuffled.takes {
            #expect(byText[take.text] == TakeSlot(tool: take.tool, role: take.role), "\(take.text.prefix(40))")
        }
    }

    @Test func moreQuotesThanSlotsAreAllKept() throws {
        let text = String(decoding: try TestPaths.bytes(TestPaths.fixture("quoted-hard.txt")), as: UTF8.self)
        var lines = text.split(separator: "\n").map(String.init)
        let firstQuote = try #require(lines.firstIndex { $0.hasPrefix("“") })
        lines.insert("“An eleventh reviewer says the primitive is fine and the DX bet is sound.”", at: firstQuote)
        let comparison = try reader.read(Array(lines.joined(separator: "\n").utf8), source: "eleven")
        #expect(comparison.takes.count == 11)
        #expect(
            comparison.takes.first?.text == "An eleventh reviewer says the primitive is fine and the DX bet is sound.")
    }

    @Test func publishedLineInTheHeaderIsRead() throws {
        let comparison = try reader.read(
            try TestPaths.bytes(TestPaths.examples.appendingPathComponent("lanternfish-vs-quillmark.txt")), source: "x")
        #expect(comparison.publishedFrom == .page)
        #expect(comparison.published == PublishedDate.parse("2026-11-18"))
    }

    @Test func publishedTimePrefersPageThenFeedThenOptionThenFirstSeen() throws {
        let bytes = try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt"))  // gives no date
        let feed = PublishedDate.parse("2026-11-17T08:00:00Z")!
        let option = PublishedDate.parse("2026-11-01")!
        let seen = PublishedDate.parse("2026-11-25T12:00:00Z")!
        let withOption = ComparisonPageReader(publishedFallback: option)
        #expect(try withOption.read(bytes, source: "a", feedPublished: feed, firstSeen: seen).published == feed)
        #expect(try withOption.read(bytes, source: "a", firstSeen: seen).published == option)
        #expect(try withOption.read(bytes, source: "a", firstSeen: seen).publishedFrom == .option)
        let plain = try reader.read(bytes, source: "a", firstSeen: seen)
        #expect(plain.published == seen && plain.publishedFrom == .firstSeen)
    }

    @Test func formatOverrideForcesTheLayout() throws {
        let bytes = try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt"))
        #expect(throws: PageError.self) { try ComparisonPageReader(format: .quoted).read(bytes, source: "forced") }
        #expect(try ComparisonPageReader(format: .labelled).read(bytes, source: "forced").layout == .labelled)
    }
}
