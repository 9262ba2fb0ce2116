import Crypto
import Foundation
import HTTPTypes

/// `POST /webhooks/mailgun`: one event per request, signed inside the body. The signature is
/// HMAC-SHA256, keyed with the webhook signing key, over the timestamp and the token; the
/// token is what a replay repeats (`event-data.id` is only unique within a day), so it is the
/// id kept against replays.
///
/// `failed` with `severity: permanent` is a bounce whose SMTP reply the rule classifies (hard,
/// policy, soft); `severity: temporary` a soft one; `complained` a complaint; `delivered` a
/// delivery; the rest (`accepted`, `opened`, `clicked`, `unsubscribed`) is ignored.
public struct MailgunWebhook: ProviderWebhook {
    public var signingKey: String

    public init(signingKey: String) { self.signingKey = signingKey }

    public var name: String { "mailgun" }

    public func verify(headers: HTTPFields, body: [UInt8], verp: VERPAddress?) throws(ProviderRefusal)
        -> VerifiedEvents
    {
        let payload = try JSONObject.parse(body, what: "a Mailgun webhook sends {\"signature\": …, \"event-data\": …}")
        let signature = try payload.requiredObject("signature")
        let timestamp = try signature.requiredString("timestamp")
        let token = try signature.requiredString("token")
        let presented = try signature.requiredString("signature")
        guard let signedAt = ProviderTime.unix(timestamp) else {
            throw .malformed("signature.timestamp \"\(timestamp.prefix(40))\" is not Unix seconds")
        }
        let expected = Self.signature(timestamp: timestamp, token: token, key: signingKey)
        guard ConstantTime.equal(Array(expected.utf8), Array(presented.lowercased().utf8)) else {
            throw .unauthenticated(
                "signature.signature does not match HMAC-SHA256(timestamp + token) with the signing key (bounces.providers.mailgun)"
            )
        }
        let event = try payload.requiredObject("event-data")
        return VerifiedEvents(signedAt: signedAt, events: [ProviderEvent(id: token, action: try Self.action(event, verp: verp))])
    }

    /// Lowercase hex, as Mailgun sends it.
    static func signature(timestamp: String, token: String, key: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data((timestamp + token).utf8), using: SymmetricKey(data: Data(key.utf8)))
        return Hex.encode(mac)
    }

    static func action(_ event: JSONObject, verp: VERPAddress?) throws(ProviderRefusal) -> ProviderEvent.Action {
        let type = try event.requiredString("event")
        let id = try event.requiredString("id")
        let outcome: ReportedOutcome
        switch type {
        case "failed":
            outcome = event.string("severity") == "temporary" ? .delayed : .failed
        case "complained": outcome = .complaint
        case "delivered": outcome = .delivered
        default: return .ignore(reason: "event \"\(type)\" says nothing about the address")
        }
        let status = event.object("delivery-status")
        var evidence = BounceEvidence()
        if let status {
            let code = status.string("code") ?? ""
            let text = [status.string("message"), status.string("description")].compactMap { $0 }
                .filter { !$0.isEmpty }.joined(separator: " ")
            evidence = BounceEvidence(smtpReply: "\(code) \(text)".trimmingCharacters(in: .whitespaces))
            if let enhanced = status.string("enhanced-code").flatMap(EnhancedStatus.init) {
                evidence.status = enhanced.description
            }
        }
        if outcome == .failed, evidence.status == nil {
            // A permanent failure whose reply says nothing specific: the rule reads the text.
            evidence.status = "5.0.0"
            if event.string("reason") == "suppress-bounce" {
                // Mailgun did not send: the address bounced before and is on its list.
                evidence.status = "5.1.1"
                evidence.diagnostic = evidence.diagnostic ?? "suppressed by Mailgun after an earlier bounce"
            }
        }
        let headers = event.object("message")?.object("headers")
        return .record(
            .reported(
                outcome, key: "mailgun:\(id)", recipient: event.string("recipient"), evidence: evidence,
                envelopeSender: event.object("envelope")?.string("sender"), messageID: headers?.string("message-id"),
                verp: verp))
    }
}
