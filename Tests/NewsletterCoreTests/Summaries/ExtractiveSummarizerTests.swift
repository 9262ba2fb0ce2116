import Foundation
import NewsletterCore
import Testing

struct ExtractiveSummarizerTests {
    func comparison(_ name: String) throws -> Comparison {
        try ComparisonPageReader().read(try TestPaths.bytes(TestPaths.fixture(name)), source: name)
    }

    @Test(arguments: ["labelled-basic.txt", "quoted-basic.txt", "quoted-hard.txt"])
    func everySentenceComesFromATakeAndIsAttributed(page: String) throws {
        let comparison = try comparison(page)
        let summary = ExtractiveSummarizer.summarize(comparison)
        #expect(summary.provider == "extractive")
        let parts = summary.text.components(separatedBy: ": ")
        #expect(parts.count >= 3)
        for take in comparison.takes where summary.text.contains("\(take.role.rawValue) on \(take.tool): ") {
            let quoted = summary.text.components(separatedBy: "\(take.role.rawValue) on \(take.tool): ")[1]
            // The quoted words are the opening of one of that reviewer's takes.
            #expect(comparison.takes.contains { $0.role == take.role && $0.text.hasPrefix(String(quoted.prefix(40))) })
        }
        #expect(ExtractiveSummarizer.summarize(comparison) == summary)  // deterministic
    }

    @Test func bothSidesAreQuotedWhenThePanelIsSplit() throws {
        let comparison = try comparison("labelled-basic.txt")
        let summary = ExtractiveSummarizer.summarize(comparison).text
        #expect(summary.contains("on Driftnote:") && summary.contains("on Cobaltline:"))
        // A skip take is quoted: the reader sees the dissent.
        let skips = comparison.takes.filter { $0.verdict == .skip }
        #expect(skips.contains { summary.contains("\($0.role.rawValue) on \($0.tool):") })
    }
}
