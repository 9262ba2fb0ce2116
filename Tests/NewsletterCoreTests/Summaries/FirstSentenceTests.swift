import Foundation
import Testing

@testable import NewsletterCore

/// A tool's reply ends at its first sentence (the chain keeps one): the request carries the stop
/// strings, and the full stop a stop string took is put back.
struct FirstSentenceTests {
    @Test func aToolsRequestStopsAtItsFirstSentenceAndTheReplyKeepsItsFullStop() throws {
        let comparison = try ComparisonPageReader().read(
            try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), source: "/pages/labelled-basic.txt")
        let server = try FakeModelServer(.ok, reply: "is praised for its quiet reviews. It ships.")
        let provider = ChatSummaryProvider(connection: FakeServerConnection(baseURL: server.baseURL, isLlamaServer: true))
        let tool = comparison.tools[1]
        let reply = try provider.summarize(comparison, tool: tool, attempt: SummaryAttempt(number: 0, seed: 42))
        #expect(reply.text == "\(tool.name) is praised for its quiet reviews.")
        let body = try #require(try server.requests().first)
        #expect(body["stop"] as? [String] == [". ", ".\n"])
        #expect(body["cache_prompt"] as? Bool == false, "a cached prompt changes the words")
    }

    @Test func aReplyCutAtTheTokenLimitIsNotMadeToLookFinished() {
        var reply = ModelReply(text: "Cobaltline is praised for", milliseconds: 1)
        reply.finishReason = "length"
        #expect(FirstSentence.restored(reply) == "Cobaltline is praised for")
        reply.finishReason = "stop"
        #expect(FirstSentence.restored(reply) == "Cobaltline is praised for.")
        reply.text = "Cobaltline ships (4 of 5)!"
        #expect(FirstSentence.restored(reply) == "Cobaltline ships (4 of 5)!")
    }
}
