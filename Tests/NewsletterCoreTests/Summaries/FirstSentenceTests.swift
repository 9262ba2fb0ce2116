import Foundation
import Testing

@testable import NewsletterCore

/// A tool's reply is not stopped at its first sentence: the chain guards the first two sentences
/// and keeps the first in the model's own words, and the first is often the page's description
/// copied out (the demo's Inkwell, issue 23).
struct FirstSentenceTests {
    @Test func aToolsRequestIsNotStoppedAtItsFirstSentence() throws {
        let comparison = try ComparisonPageReader().read(
            try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), source: "/pages/labelled-basic.txt")
        let server = try FakeModelServer(.ok, reply: "it reviews quietly. It ships.")
        let provider = ChatSummaryProvider(connection: FakeServerConnection(baseURL: server.baseURL, isLlamaServer: true))
        let tool = comparison.tools[1]
        let reply = try provider.summarize(comparison, tool: tool, attempt: SummaryAttempt(number: 0, seed: 42))
        #expect(reply.text == SummaryPrompt.replyOpening(tool, comparison: comparison) + " it reviews quietly. It ships.")
        let body = try #require(try server.requests().first)
        #expect(body["stop"] == nil, "a stop at the first sentence leaves nothing when that sentence is copied")
        #expect(body["cache_prompt"] as? Bool == false, "a cached prompt changes the words")
    }

    @Test func whenTheFirstSentenceCopiesThePageTheSecondIsTheCandidate() throws {
        let comparison = try ComparisonPageReader().read(
            try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), source: "/pages/labelled-basic.txt")
        let tool = comparison.tools[1]
        let material = SummaryPrompt.copyMaterial(comparison, tool: tool)
        let copied = SummaryGuard.sentences(material).first { $0.split(separator: " ").count >= 12 }
        let firstCopied = try #require(copied)
        let own = "\(tool.name) is praised by the panel for its quiet reviews."
        let candidates = SummaryGuard.candidateSentences(firstCopied + " " + own, copiedFrom: material)
        #expect(candidates.first == own)
        #expect(candidates.last == firstCopied, "a copied sentence is tried last, and refused")
    }
}
