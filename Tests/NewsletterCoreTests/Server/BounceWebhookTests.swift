import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NewsletterCore
import Testing

/// `POST /webhooks/bounces`: its own token, the documented shape, the same rule as the mailbox.
@Suite(.serialized, .enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
struct BounceWebhookTests {
    static let token = "webhook-token-42"

    func app(_ scenario: BounceScenario, token: String? = Self.token) throws -> some ApplicationProtocol {
        var dependencies = ServerDependencies()
        dependencies.time = ManualTime(scenario.now)
        return try TestServer.app(store: scenario.store, dependencies: dependencies) {
            $0.bounces.bounceAddress = BounceScenario.bounceAddress
            $0.bounces.webhookToken = token
        }
    }

    func post(_ client: some TestClientProtocol, _ body: String, token: String = Self.token) async throws -> (
        HTTPResponse.Status, String
    ) {
        try await client.execute(
            uri: "/webhooks/bounces", method: .post,
            headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
            body: ByteBuffer(string: body)
        ) { ($0.status, String(buffer: $0.body)) }
    }

    @Test func eventsGoThroughTheRuleOnceEach() async throws {
        let scenario = try await BounceScenario(subscribers: 4)
        let body = """
            {"events": [
              {"id": "e1", "type": "bounce", "status": "5.1.1", "action": "failed", "envelope_sender": "\(scenario.copies[0]!.verp)"},
              {"id": "e2", "type": "complaint", "message_id": "<\(scenario.copies[1]!.messageID)>"},
              {"id": "e3", "type": "bounce", "recipient": "reader2@example.org", "status": "5.7.1", "diagnostic": "554 5.7.1 spam"},
              {"id": "e4", "type": "bounce", "recipient": "stranger@elsewhere.example", "status": "5.1.1"},
              {"id": "e5", "type": "opened"}
            ]}
            """
        try await app(scenario).test(.router) { client in
            let (status, answer) = try await post(client, body)
            #expect(status == .ok)
            #expect(answer.contains("\"recorded\":3") && answer.contains("\"duplicates\":0"), "\(answer)")
            #expect(answer.contains("e4") && answer.contains("not on the list") && answer.contains("e5"))
            let (_, again) = try await post(client, body)
            #expect(again.contains("\"recorded\":0") && again.contains("\"duplicates\":3"), "\(again)")
        }
        #expect(try scenario.status(0) == .bounced)
        #expect(try scenario.status(1) == .unsubscribed)
        #expect(try scenario.status(2) == .confirmed)
        let tally = try scenario.store.bounceTally(scenario.week)
        #expect(tally.hard == 1 && tally.complaints == 1 && tally.policy == 1)
    }

    @Test func theTokenAndTheShapeAreChecked() async throws {
        let scenario = try await BounceScenario(subscribers: 1)
        try await app(scenario).test(.router) { client in
            let (unauthorized, _) = try await post(client, "{\"events\": []}", token: "wrong")
            #expect(unauthorized == .unauthorized)
            let (status, answer) = try await post(client, "{\"events\": [{\"type\": \"bounce\"}]}")
            #expect(status == .badRequest && answer.contains("id is missing"), "\(answer)")
            let (notJSON, _) = try await post(client, "not json")
            #expect(notJSON == .badRequest)
        }
        try await app(scenario, token: nil).test(.router) { client in
            let (status, _) = try await post(client, "{\"events\": []}")
            #expect(status == .notFound)
        }
    }
}
