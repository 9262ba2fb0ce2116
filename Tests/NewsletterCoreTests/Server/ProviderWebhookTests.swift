import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NewsletterCore
import Testing

/// `POST /webhooks/mailgun`, `/webhooks/sendgrid` and `/webhooks/postmark`: requests signed here
/// with real keys the way each provider signs them, through the real server assembly, on both
/// stores. Each mapping ends in the state the mailbox path gives (hard: bounced, complaint:
/// unsubscribed, one soft bounce or a policy refusal: still confirmed); forged, stale, replayed,
/// oversized and malformed requests change nothing.
@Suite("Provider webhooks", .runningStores)
struct ProviderWebhookTests {
    // MARK: Mailgun

    static let mailgunKey = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"

    static func mailgun(
        _ event: [String: Any], token: String, at time: Date, key: String = mailgunKey
    ) -> [UInt8] {
        let timestamp = String(Int(time.timeIntervalSince1970))
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data((timestamp + token).utf8), using: SymmetricKey(data: Data(key.utf8)))
        let signature = mac.map { String(format: "%02x", $0) }.joined()
        let body: [String: Any] = [
            "signature": ["timestamp": timestamp, "token": token, "signature": signature], "event-data": event,
        ]
        return Array(try! JSONSerialization.data(withJSONObject: body))
    }

    static func mailgunFailure(_ index: Int, id: String, severity: String, code: Int, message: String) -> [String: Any]
    {
        [
            "event": "failed", "id": id, "severity": severity, "reason": "bounce",
            "recipient": ProviderScenario.email(index),
            "delivery-status": ["code": code, "message": message, "description": ""],
        ]
    }

    var mailgunOn: ProviderSettings {
        var settings = ProviderSettings()
        settings.mailgunSigningKey = Self.mailgunKey
        return settings
    }

    @Test(arguments: StoreBackend.all)
    func mailgunEventsEndAsTheMailboxPathWouldLeaveTheSubscriber(_ backend: StoreBackend) async throws {
        let scenario = try await ProviderScenario(backend, subscribers: 5)
        let now = scenario.time.now()
        let events: [[String: Any]] = [
            Self.mailgunFailure(0, id: "m0", severity: "permanent", code: 550, message: "5.1.1 The email account does not exist"),
            ["event": "complained", "id": "m1", "recipient": ProviderScenario.email(1)],
            Self.mailgunFailure(2, id: "m2", severity: "temporary", code: 452, message: "4.2.2 Mailbox full"),
            Self.mailgunFailure(3, id: "m3", severity: "permanent", code: 554, message: "5.7.1 Message rejected as spam"),
            ["event": "delivered", "id": "m4", "recipient": ProviderScenario.email(4),
             "delivery-status": ["code": 250, "message": "OK"]],
            ["event": "opened", "id": "m5", "recipient": ProviderScenario.email(4)],
        ]
        let bodies = events.enumerated().map { index, event in Self.mailgun(event, token: "token-\(index)", at: now) }
        try await scenario.withServer(mailgunOn) { client in
            for (index, body) in bodies.enumerated() {
                let answer = try await WebhookAnswer.post(client, "/webhooks/mailgun", body: body)
                #expect(answer.status == .ok, "\(answer.body)")
                #expect(answer.recorded == (index == 5 ? 0 : 1), "\(answer.body)")
            }
        }
        await #expect(try scenario.status(0) == .bounced)
        await #expect(try scenario.status(1) == .unsubscribed)
        await #expect(try scenario.status(2) == .confirmed, "one soft bounce is counted, not enough to mark")
        await #expect(try scenario.status(3) == .confirmed, "a policy refusal is about us, not the address")
        await #expect(try scenario.status(4) == .confirmed)
        let tally = try await scenario.store.bounceTally(scenario.week)
        #expect(tally.hard == 1 && tally.complaints == 1 && tally.soft == 1 && tally.policy == 1, "\(tally)")
    }

    @Test(arguments: StoreBackend.all)
    func mailgunRefusesForgedStaleReplayedOversizedAndMalformedRequests(_ backend: StoreBackend) async throws {
        let scenario = try await ProviderScenario(backend, subscribers: 2)
        let now = scenario.time.now()
        let hard = Self.mailgunFailure(0, id: "h0", severity: "permanent", code: 550, message: "5.1.1 no such user")
        let forgedBody = Self.mailgun(hard, token: "t-forged", at: now, key: "another-key")
        // The signature covers the token and timestamp only: a body whose token was changed
        // under a captured signature no longer verifies.
        var tampered = try #require(
            try JSONSerialization.jsonObject(with: Data(Self.mailgun(hard, token: "t1", at: now))) as? [String: Any])
        var signature = try #require(tampered["signature"] as? [String: Any])
        signature["token"] = "t1-changed"
        tampered["signature"] = signature
        let tamperedBody = Array(try JSONSerialization.data(withJSONObject: tampered))
        let staleBody = Self.mailgun(hard, token: "t-stale", at: now.addingTimeInterval(-301))
        let aheadBody = Self.mailgun(hard, token: "t-ahead", at: now.addingTimeInterval(301))
        let noEventBody = Array(try JSONSerialization.data(withJSONObject: ["signature": ["timestamp": "1"]]))
        try await scenario.withServer(mailgunOn) { client in
            let forged = try await WebhookAnswer.post(client, "/webhooks/mailgun", body: forgedBody)
            #expect(forged.status == .unauthorized && forged.body.contains("signature"), "\(forged.body)")
            let changed = try await WebhookAnswer.post(client, "/webhooks/mailgun", body: tamperedBody)
            #expect(changed.status == .unauthorized)
            let stale = try await WebhookAnswer.post(client, "/webhooks/mailgun", body: staleBody)
            #expect(stale.status == .unauthorized && stale.body.contains("five minutes"), "\(stale.body)")
            let ahead = try await WebhookAnswer.post(client, "/webhooks/mailgun", body: aheadBody)
            #expect(ahead.status == .unauthorized)
            let huge = try await WebhookAnswer.post(
                client, "/webhooks/mailgun", body: [UInt8](repeating: UInt8(ascii: " "), count: 10_000_000))
            #expect(huge.status == .contentTooLarge)
            let notJSON = try await WebhookAnswer.post(client, "/webhooks/mailgun", body: Array("event=failed".utf8))
            #expect(notJSON.status == .badRequest && notJSON.body.contains("JSON"), "\(notJSON.body)")
            let noEvent = try await WebhookAnswer.post(client, "/webhooks/mailgun", body: noEventBody)
            #expect(noEvent.status == .badRequest && noEvent.body.contains("signature.token is missing"), "\(noEvent.body)")
        }
        #expect(scenario.metrics.value(.providerRequestRefused) == 7)
        await #expect(try scenario.status(0) == .confirmed, "nothing refused changed anyone")
        #expect(try await scenario.store.bounceTally(nil).hard == 0)
    }

    @Test(arguments: StoreBackend.all)
    func aReplayIsRefusedByAnotherServerOnTheSameStore(_ backend: StoreBackend) async throws {
        let scenario = try await ProviderScenario(backend, subscribers: 1)
        let now = scenario.time.now()
        let soft = Self.mailgunFailure(0, id: "s0", severity: "temporary", code: 421, message: "4.4.2 try later")
        let body = Self.mailgun(soft, token: "once", at: now)
        try await scenario.withServer(mailgunOn) { client in
            let first = try await WebhookAnswer.post(client, "/webhooks/mailgun", body: body)
            #expect(first.status == .ok && first.recorded == 1, "\(first.body)")
        }
        // A restart, or a second process: the ids are in the store.
        try await scenario.withServer(mailgunOn) { client in
            let again = try await WebhookAnswer.post(client, "/webhooks/mailgun", body: body)
            #expect(again.status == .conflict && again.body.contains("received before"), "\(again.body)")
        }
        #expect(try await scenario.store.bounceTally(nil).soft == 1)
    }

    @Test(arguments: StoreBackend.all)
    func anEventAboutAnAddressNeverSentToIsIgnoredAndCounted(_ backend: StoreBackend) async throws {
        let scenario = try await ProviderScenario(backend, subscribers: 1)
        _ = try await scenario.store.addSubscriber(email: "joined-later@example.org", name: nil, status: .confirmed)
        let now = scenario.time.now()
        try await scenario.withServer(mailgunOn) { client in
            for (token, recipient) in [("t-stranger", "stranger@elsewhere.example"), ("t-later", "joined-later@example.org")] {
                var event = Self.mailgunFailure(0, id: token, severity: "permanent", code: 550, message: "5.1.1 unknown")
                event["recipient"] = recipient
                let answer = try await WebhookAnswer.post(client, "/webhooks/mailgun", body: Self.mailgun(event, token: token, at: now))
                #expect(answer.status == .ok && answer.recorded == 0 && answer.ignored == 1, "\(answer.body)")
            }
        }
        #expect(scenario.metrics.value(.providerEventIgnored) == 2)
        await #expect(try scenario.store.subscriber(email: "joined-later@example.org")?.status == .confirmed)
        #expect(try await scenario.store.bounceTally(nil).hard == 0)
    }

    // MARK: SendGrid

    /// The key's bytes: Crypto's key type is not `Sendable`.
    static let sendgridKeyBytes = P256.Signing.PrivateKey().rawRepresentation
    static var sendgridKey: P256.Signing.PrivateKey { try! P256.Signing.PrivateKey(rawRepresentation: sendgridKeyBytes) }

    static func sendgrid(_ events: [[String: Any]], at time: Date, key: P256.Signing.PrivateKey = sendgridKey) throws
        -> (HTTPFields, [UInt8])
    {
        let body = Array(try JSONSerialization.data(withJSONObject: events))
        let timestamp = String(Int(time.timeIntervalSince1970))
        let signature = try key.signature(for: Data(timestamp.utf8) + Data(body))
        let headers: HTTPFields = [
            HTTPField.Name("X-Twilio-Email-Event-Webhook-Signature")!: signature.derRepresentation.base64EncodedString(),
            HTTPField.Name("X-Twilio-Email-Event-Webhook-Timestamp")!: timestamp,
        ]
        return (headers, body)
    }

    var sendgridOn: ProviderSettings {
        var settings = ProviderSettings()
        settings.sendgridPublicKey = Self.sendgridKey.publicKey.derRepresentation.base64EncodedString()
        return settings
    }

    static func sendgridEvent(_ type: String, _ index: Int, id: String, _ extra: [String: Any] = [:]) -> [String: Any] {
        ["event": type, "email": ProviderScenario.email(index), "sg_event_id": id, "timestamp": 1_700_000_000]
            .merging(extra) { $1 }
    }

    @Test(arguments: StoreBackend.all)
    func aSendGridBatchEndsAsTheMailboxPathWouldLeaveEachSubscriber(_ backend: StoreBackend) async throws {
        let scenario = try await ProviderScenario(backend, subscribers: 6)
        let batch = [
            Self.sendgridEvent("bounce", 0, id: "g0", ["status": "5.1.1", "reason": "550 5.1.1 user unknown", "type": "bounce"]),
            Self.sendgridEvent("spamreport", 1, id: "g1"),
            Self.sendgridEvent("deferred", 2, id: "g2", ["response": "421 4.7.0 try again later"]),
            Self.sendgridEvent("blocked", 3, id: "g3", ["reason": "554 blocked by policy"]),
            Self.sendgridEvent("dropped", 4, id: "g4", ["reason": "Bounced Address"]),
            Self.sendgridEvent("delivered", 5, id: "g5", ["response": "250 OK"]),
            Self.sendgridEvent("open", 5, id: "g6"),
        ]
        let (headers, body) = try Self.sendgrid(batch, at: scenario.time.now())
        // A batch holding one new event and an old one: the new one is taken, the old named.
        let (mixedHeaders, mixed) = try Self.sendgrid(
            [batch[0], Self.sendgridEvent("deferred", 2, id: "g7")], at: scenario.time.now())
        try await scenario.withServer(sendgridOn) { client in
            let answer = try await WebhookAnswer.post(client, "/webhooks/sendgrid", headers: headers, body: body)
            #expect(answer.status == .ok && answer.recorded == 6 && answer.ignored == 1, "\(answer.body)")
            let again = try await WebhookAnswer.post(client, "/webhooks/sendgrid", headers: headers, body: body)
            #expect(again.status == .conflict, "\(again.body)")
            let partial = try await WebhookAnswer.post(client, "/webhooks/sendgrid", headers: mixedHeaders, body: mixed)
            #expect(partial.status == .ok && partial.recorded == 1 && partial.replayed == 1, "\(partial.body)")
        }
        await #expect(try scenario.status(0) == .bounced)
        await #expect(try scenario.status(1) == .unsubscribed)
        await #expect(try scenario.status(2) == .confirmed)
        await #expect(try scenario.status(3) == .confirmed)
        await #expect(try scenario.status(4) == .bounced, "dropped for an address that bounced before")
        await #expect(try scenario.status(5) == .confirmed)
    }

    @Test(arguments: StoreBackend.all)
    func sendGridRefusesAnotherKeyATamperedBodyAStaleTimeAndABigBody(_ backend: StoreBackend) async throws {
        let scenario = try await ProviderScenario(backend, subscribers: 1)
        let now = scenario.time.now()
        let hard = [Self.sendgridEvent("bounce", 0, id: "x0", ["status": "5.1.1"])]
        let (forgedHeaders, forged) = try Self.sendgrid(hard, at: now, key: P256.Signing.PrivateKey())
        let (headers, body) = try Self.sendgrid(hard, at: now)
        let tampered = Array(String(decoding: body, as: UTF8.self).replacingOccurrences(of: "reader0", with: "reader1").utf8)
        #expect(tampered != body)
        let (staleHeaders, staleBody) = try Self.sendgrid(hard, at: now.addingTimeInterval(-600))
        let (noIDHeaders, noID) = try Self.sendgrid([["event": "bounce", "email": "reader0@example.org"]], at: now)
        try await scenario.withServer(sendgridOn) { client in
            let other = try await WebhookAnswer.post(client, "/webhooks/sendgrid", headers: forgedHeaders, body: forged)
            #expect(other.status == .unauthorized && other.body.contains("does not verify"), "\(other.body)")
            let changed = try await WebhookAnswer.post(client, "/webhooks/sendgrid", headers: headers, body: tampered)
            #expect(changed.status == .unauthorized)
            let unsigned = try await WebhookAnswer.post(client, "/webhooks/sendgrid", body: body)
            #expect(unsigned.status == .unauthorized && unsigned.body.contains("Timestamp"), "\(unsigned.body)")
            let stale = try await WebhookAnswer.post(client, "/webhooks/sendgrid", headers: staleHeaders, body: staleBody)
            #expect(stale.status == .unauthorized && stale.body.contains("five minutes"), "\(stale.body)")
            let big = try await WebhookAnswer.post(
                client, "/webhooks/sendgrid", headers: headers, body: [UInt8](repeating: UInt8(ascii: "["), count: 10_000_000))
            #expect(big.status == .contentTooLarge)
            let missing = try await WebhookAnswer.post(client, "/webhooks/sendgrid", headers: noIDHeaders, body: noID)
            #expect(missing.status == .badRequest && missing.body.contains("sg_event_id"), "\(missing.body)")
        }
        await #expect(try scenario.status(0) == .confirmed)
        #expect(try await scenario.store.bounceTally(nil).hard == 0)
    }

    // MARK: Postmark

    var postmarkOn: ProviderSettings {
        var settings = ProviderSettings()
        settings.postmarkUsername = "postmark"
        settings.postmarkPassword = "hook-pass-7"
        return settings
    }

    static func basic(_ user: String, _ password: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    static func postmark(_ recordType: String, _ type: String, _ index: Int, id: Int, at time: Date) -> [UInt8] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        // Postmark writes seven fractional digits.
        let stamp = formatter.string(from: time).replacingOccurrences(of: "Z", with: "0000Z")
        let record: [String: Any] = [
            "RecordType": recordType, "Type": type, "ID": id, "Email": ProviderScenario.email(index),
            "BouncedAt": stamp, "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
            "Description": "The server was unable to deliver your message", "MessageID": UUID().uuidString,
        ]
        return Array(try! JSONSerialization.data(withJSONObject: record))
    }

    @Test(arguments: StoreBackend.all)
    func postmarkRecordsEndAsTheMailboxPathWouldLeaveTheSubscriber(_ backend: StoreBackend) async throws {
        let scenario = try await ProviderScenario(backend, subscribers: 5)
        let now = scenario.time.now()
        let auth = Self.basic("postmark", "hook-pass-7")
        try await scenario.withServer(postmarkOn) { client in
            for (record, type, index) in [
                ("Bounce", "HardBounce", 0), ("SpamComplaint", "SpamComplaint", 1), ("Bounce", "Transient", 2),
                ("Bounce", "SpamNotification", 3), ("Bounce", "AutoResponder", 4),
            ] {
                let answer = try await WebhookAnswer.post(
                    client, "/webhooks/postmark", headers: auth, body: Self.postmark(record, type, index, id: 100 + index, at: now))
                #expect(answer.status == .ok && answer.recorded == 1, "\(type): \(answer.body)")
            }
            let wrong = try await WebhookAnswer.post(
                client, "/webhooks/postmark", headers: Self.basic("postmark", "guess"),
                body: Self.postmark("Bounce", "HardBounce", 4, id: 200, at: now))
            #expect(wrong.status == .unauthorized && wrong.body.contains("credentials"), "\(wrong.body)")
            let none = try await WebhookAnswer.post(
                client, "/webhooks/postmark", body: Self.postmark("Bounce", "HardBounce", 4, id: 201, at: now))
            #expect(none.status == .unauthorized)
            let replay = try await WebhookAnswer.post(
                client, "/webhooks/postmark", headers: auth, body: Self.postmark("Bounce", "HardBounce", 0, id: 100, at: now))
            #expect(replay.status == .conflict)
            let stale = try await WebhookAnswer.post(
                client, "/webhooks/postmark", headers: auth,
                body: Self.postmark("Bounce", "HardBounce", 4, id: 202, at: now.addingTimeInterval(-3600)))
            #expect(stale.status == .unauthorized)
        }
        await #expect(try scenario.status(0) == .bounced)
        await #expect(try scenario.status(1) == .unsubscribed)
        await #expect(try scenario.status(2) == .confirmed)
        await #expect(try scenario.status(3) == .confirmed)
        await #expect(try scenario.status(4) == .confirmed, "an auto-reply changes nothing")
        let tally = try await scenario.store.bounceTally(scenario.week)
        #expect(tally.hard == 1 && tally.complaints == 1 && tally.soft == 1 && tally.policy == 1, "\(tally)")
    }

    @Test func aProviderWithoutItsKeysHasNoRoute() async throws {
        let scenario = try await ProviderScenario(.sqlite, subscribers: 1)
        try await scenario.withServer(ProviderSettings()) { client in
            for path in ["/webhooks/mailgun", "/webhooks/sendgrid", "/webhooks/postmark", "/webhooks/ses"] {
                let answer = try await WebhookAnswer.post(client, path, body: Array("{}".utf8))
                #expect(answer.status == .notFound, "\(path)")
            }
        }
    }

    // MARK: The ledger of event ids

    @Test(arguments: StoreBackend.all)
    func eventIDsAreClaimedOncePerProviderAndForgottenAfterTheirHour(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let start = Date()
        let first = try await store.claimProviderEvents(
            ["a", "b"], provider: "sendgrid", at: start, forgetBefore: start.addingTimeInterval(-3600))
        #expect(first == ["a", "b"])
        let again = try await store.claimProviderEvents(
            ["b", "c"], provider: "sendgrid", at: start.addingTimeInterval(10), forgetBefore: start.addingTimeInterval(-3590))
        #expect(again == ["c"])
        let otherProvider = try await store.claimProviderEvents(
            ["a"], provider: "mailgun", at: start.addingTimeInterval(10), forgetBefore: start.addingTimeInterval(-3590))
        #expect(otherProvider == ["a"], "ids are per provider")
        try await store.releaseProviderEvents(["c"], provider: "sendgrid")
        let released = try await store.claimProviderEvents(
            ["c"], provider: "sendgrid", at: start.addingTimeInterval(20), forgetBefore: start.addingTimeInterval(-3580))
        #expect(released == ["c"], "a released id can be claimed again")
        let later = start.addingTimeInterval(7200)
        let pruned = try await store.claimProviderEvents(
            ["a", "b"], provider: "sendgrid", at: later, forgetBefore: later.addingTimeInterval(-3600))
        #expect(pruned == ["a", "b"], "ids older than the hour were forgotten")
    }
}
