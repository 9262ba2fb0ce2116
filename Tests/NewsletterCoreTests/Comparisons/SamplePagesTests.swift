import Foundation
import NewsletterCore
import Testing

/// The five real pages beside the project: every one must parse, and what each record holds is
/// checked against the page itself.
@Suite(.enabled(if: TestPaths.samplePages != nil, "../shared/sample-pages is not present"))
struct SamplePagesTests {
    let reader = ComparisonPageReader()

    func parsedSamples() throws -> [(URL, String, Comparison)] {
        try TestPaths.samplePageFiles().map { url in
            let bytes = try TestPaths.bytes(url)
            return (url, String(decoding: bytes, as: UTF8.self), try reader.read(bytes, source: url.path))
        }
    }

    @Test func allFiveSamplePagesParse() throws {
        let samples = try parsedSamples()
        #expect(samples.count == 5)
        for (url, _, comparison) in samples {
            #expect(comparison.tools.count == 2, "\(url.lastPathComponent)")
            #expect(comparison.title.contains(" vs "))
            #expect(comparison.title.contains(comparison.tools[0].name))
            #expect(comparison.title.contains(comparison.tools[1].name))
            for tool in comparison.tools {
                #expect(!tool.tagline.isEmpty && !tool.description.isEmpty && tool.panelShipPercent != nil)
            }
        }
    }

    @Test func everyTakeTextIsFoundInItsPage() throws {
        for (url, text, comparison) in try parsedSamples() {
            #expect(!comparison.takes.isEmpty)
            for take in comparison.takes {
                #expect(text.contains(take.text), "\(url.lastPathComponent): take at line \(take.line ?? 0)")
                #expect(take.text.count > 100)
                #expect(!take.text.hasPrefix("“") && !take.text.hasSuffix("”"))
            }
        }
    }

    @Test func labelledPagesYieldTenSlotsWithScoresAndVerdicts() throws {
        let labelled = try parsedSamples().filter { $0.2.layout == .labelled }
        #expect(labelled.count == 2)
        for (url, text, comparison) in labelled {
            let name = url.lastPathComponent
            #expect(comparison.takes.count + comparison.missingTakes.count == 10, "\(name)")
            var slots = Set<TakeSlot>()
            for take in comparison.takes {
                slots.insert(TakeSlot(tool: take.tool, role: take.role))
                #expect(!take.roleInferred && !take.toolInferred)
                let score = try #require(take.score)
                let verdict = try #require(take.verdict)
                // The score line stands directly above the take in the page.
                #expect(text.contains("\(score)/100 · \(verdict.rawValue)\n\n\(take.text)"), "\(name)")
            }
            slots.formUnion(comparison.missingTakes)
            #expect(slots.count == 10, "\(name): every (role, tool) slot exactly once")
            // Panel votes agree with the takes' verdicts.
            for tool in comparison.tools {
                let takes = comparison.takes.filter { $0.tool == tool.name }
                #expect(tool.shipVotes == takes.filter { $0.verdict == .ship }.count, "\(name) \(tool.name)")
                #expect(tool.skipVotes == takes.filter { $0.verdict == .skip }.count, "\(name) \(tool.name)")
                #expect(tool.pricing != nil)
            }
        }
    }

    @Test func labelledSmolVLM3BPageMatchesWhatItPrints() throws {
        let sample = try #require(try parsedSamples().first { $0.0.lastPathComponent.hasPrefix("smolvlm-3b-") })
        let comparison = sample.2
        #expect(comparison.title == "SmolVLM-3B vs Vercel AI Gateway (v0)")
        #expect(comparison.tools.map(\.name) == ["SmolVLM-3B", "Vercel AI Gateway (v0)"])
        #expect(comparison.tools.map(\.panelShipPercent) == [75, 100])
        #expect(comparison.tools.map(\.shipVotes) == [3, 4])
        #expect(comparison.tools.map(\.skipVotes) == [1, 0])
        #expect(comparison.tools.map(\.entry) == ["Free", "Paid"])
        #expect(comparison.tools.map(\.category) == ["Developer Tools", "Developer Tools"])
        #expect(
            Set(comparison.missingTakes)
                == [TakeSlot(tool: "Vercel AI Gateway (v0)", role: .futurist), TakeSlot(tool: "SmolVLM-3B", role: .pm)])
        let founder = try #require(comparison.takes.first { $0.role == .founder && $0.tool == "SmolVLM-3B" })
        #expect(founder.score == 52 && founder.verdict == .skip)
    }

    /// The quoted pages reuse takes that the labelled pages label, so the labelled pages are the
    /// ground truth for the inference.
    @Test func quotedPagesAttributeTakesAsTheLabelledPagesDo() throws {
        let samples = try parsedSamples()
        var truth: [String: TakeSlot] = [:]
        for (_, _, comparison) in samples where comparison.layout == .labelled {
            for take in comparison.takes { truth[take.text] = TakeSlot(tool: take.tool, role: take.role) }
        }
        var checked = 0
        for (url, _, comparison) in samples where comparison.layout == .quoted {
            for take in comparison.takes {
                #expect(take.roleInferred && take.toolInferred)
                guard let expected = truth[take.text] else { continue }
                checked += 1
                #expect(
                    TakeSlot(tool: take.tool, role: take.role) == expected,
                    "\(url.lastPathComponent) line \(take.line ?? 0): \(take.text.prefix(50))")
            }
            let slots = Set(comparison.takes.map { TakeSlot(tool: $0.tool, role: $0.role) })
            #expect(slots.count == comparison.takes.count, "\(url.lastPathComponent): no slot used twice")
        }
        #expect(checked >= 8)
    }
}
