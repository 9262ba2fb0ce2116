import Foundation
import Testing

@testable import NewsletterCore

/// The libcurl client and an endpoint connection against a fake OpenAI-compatible server that
/// answers, times out, answers 500, answers garbage, or closes the connection mid-answer.
@Suite(.serialized) struct ModelEndpointFaultTests {
    let messages = [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi")]

    func client(_ server: FakeModelServer, timeout: Int = 5) -> ChatClient {
        ChatClient(http: ModelHTTPClient(baseURL: server.baseURL, apiKey: "sk-test", timeoutSeconds: timeout))
    }

    @Test func aReplyIsParsedWithUsageAndTimingsAndTheRequestIsDeterministic() throws {
        let server = try FakeModelServer(.ok, reply: "The panel likes Driftnote.")
        let reply = try client(server).chat(model: "smol", messages: messages, options: SamplingOptions(seed: 7))
        #expect(reply.text == "The panel likes Driftnote.")
        #expect(reply.promptTokens == 321 && reply.completionTokens == 45)
        #expect(
            reply.timings
                == ServerTimings(
                    promptTokens: 321, promptMilliseconds: 80.5, predictedTokens: 45, predictedMilliseconds: 300))
        #expect(reply.timings?.tokensPerSecond == 150)
        let request = try #require(try server.requests().first)
        #expect(request["temperature"] as? Double == 0 && request["seed"] as? Int == 7)
        #expect(request["cache_prompt"] as? Bool == false && request["model"] as? String == "smol")
        #expect((request["messages"] as? [[String: String]])?.first?["role"] == "system")
    }

    @Test func aStrictEndpointIsNotSentLlamaServerOnlyFields() throws {
        let server = try FakeModelServer(.ok)
        _ = try client(server).chat(model: "m", messages: messages, options: SamplingOptions(isLlamaServer: false))
        #expect(try server.requests().first?["cache_prompt"] == nil)
    }

    @Test func aServerThatNeverAnswersTimesOut() throws {
        let server = try FakeModelServer(.timeout)
        let started = Date()
        #expect(throws: ModelCallError.timedOut(url: server.baseURL + "/v1/chat/completions", seconds: 1)) {
            try client(server, timeout: 1).chat(model: "m", messages: messages, options: SamplingOptions())
        }
        // The server would hang for an hour: ending long before that is the timeout's doing,
        // however slow the machine (the error above says which timeout fired).
        #expect(Date().timeIntervalSince(started) < 600)
    }

    @Test func a500IsAnHTTPStatusErrorWithTheBody() throws {
        let server = try FakeModelServer(.serverError)
        do {
            _ = try client(server).chat(model: "m", messages: messages, options: SamplingOptions())
            Issue.record("expected an error")
        } catch {
            guard case .httpStatus(_, 500, let body) = error else { Issue.record("\(error)"); return }
            #expect(body.contains("the model crashed"))
            #expect(error.isTransient)
        }
    }

    @Test func garbageIsAMalformedResponse() throws {
        let server = try FakeModelServer(.garbage)
        do {
            _ = try client(server).chat(model: "m", messages: messages, options: SamplingOptions())
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == "malformed-response")
            #expect(!error.isTransient)
        }
    }

    @Test func aClosedConnectionIsReportedAsSuch() throws {
        let server = try FakeModelServer(.close)
        do {
            _ = try client(server).chat(model: "m", messages: messages, options: SamplingOptions())
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == "connection-closed", "\(error)")
        }
    }

    @Test func nothingListeningIsUnreachable() throws {
        let port = try #require(LlamaServerSupervisor.freePort())
        let client = ChatClient(http: ModelHTTPClient(baseURL: "http://127.0.0.1:\(port)", timeoutSeconds: 2))
        #expect(throws: ModelCallError.self) {
            try client.chat(model: "m", messages: messages, options: SamplingOptions())
        }
    }

    func endpoint(
        _ server: FakeModelServer, retries: Int, rpm: Int = 0, key: String? = "sk-test", time: ManualTime = ManualTime()
    ) -> RemoteEndpointConnection {
        var settings = RemoteEndpointConnection.Settings(
            name: "fake", baseURL: server.baseURL, model: "fake-model", apiKeyEnvironment: "FAKE_KEY")
        settings.retries = retries
        settings.timeoutSeconds = 1
        settings.requestsPerMinute = rpm
        return RemoteEndpointConnection(
            settings: settings, environment: key.map { ["FAKE_KEY": $0] } ?? [:], time: time)
    }

    @Test func transientFailuresAreRetriedAndThenTheChainShipsTheFallback() async throws {
        let server = try FakeModelServer(.serverError)
        let time = ManualTime()
        let provider = ChatSummaryProvider(connection: endpoint(server, retries: 2, time: time))
        let comparison = try ComparisonPageReader().read(
            try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), source: "/pages/labelled-basic.txt")
        let outcome = await SummaryChain(providers: [provider], attemptsPerProvider: 3).summarize(comparison)
        #expect(outcome.summary.kind == .extractive)
        // One guarded attempt (a failed call ends the provider), with 1 + 2 transport tries.
        #expect(try server.requests().count == 3)
        #expect(outcome.summary.note?.contains("HTTP 500") == true)
        // Backing off, doubling from half a second.
        #expect(time.sleeps == [.milliseconds(500), .seconds(1)])
    }

    @Test func garbageAndClosedConnectionsAlsoEndInTheFallback() async throws {
        let comparison = try ComparisonPageReader().read(
            try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), source: "/pages/labelled-basic.txt")
        for mode in [FakeModelServer.Mode.garbage, .close, .timeout] {
            let server = try FakeModelServer(mode)
            let provider = ChatSummaryProvider(connection: endpoint(server, retries: 0))
            let outcome = await SummaryChain(providers: [provider]).summarize(comparison)
            #expect(outcome.summary.kind == .extractive, "\(mode)")
            #expect(outcome.trials.count == 1 && outcome.trials[0].error != nil, "\(mode)")
        }
    }

    @Test func aMissingAPIKeyMakesTheEndpointUnavailableWithoutARequest() throws {
        let server = try FakeModelServer(.ok)
        let connection = endpoint(server, retries: 0, key: nil)
        #expect(throws: SummaryProviderError.unavailable("the API key variable FAKE_KEY is not set in the environment"))
        {
            try ChatSummaryProvider(connection: connection).summarize(
                try ComparisonPageReader().read(
                    try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), source: "/p.txt"),
                attempt: SummaryAttempt(number: 0, seed: 1))
        }
        #expect(try server.requests().isEmpty)
    }

    @Test func requestsPerMinuteSpacesTheRequests() throws {
        let server = try FakeModelServer(.ok)
        let time = ManualTime()
        let connection = endpoint(server, retries: 0, rpm: 600, time: time)  // one per 100 ms
        let started = time.uptime()
        for _ in 0..<4 {
            _ = try connection.call { client throws(ModelCallError) in
                try client.chat(model: "m", messages: messages, options: SamplingOptions(isLlamaServer: false))
            }
        }
        // The first at once, each of the others 100 ms after the one before.
        let waited = (time.uptime() - started).seconds
        #expect(abs(waited - 0.3) < 0.001, "\(time.sleeps)")
        #expect(try server.requests().count == 4)
    }

    @Test func theAPIKeyIsSentAsABearerTokenAndNeverInTheBody() throws {
        let server = try FakeModelServer(.ok)
        _ = try endpoint(server, retries: 0).call { client throws(ModelCallError) in
            try client.chat(model: "m", messages: messages, options: SamplingOptions(isLlamaServer: false))
        }
        #expect(try server.headers(ofRequest: 1) == "Authorization: Bearer sk-test\n")
        let body = try Data(contentsOf: server.log.appendingPathComponent("001.json"))
        #expect(!String(decoding: body, as: UTF8.self).contains("sk-test"))
    }
}
