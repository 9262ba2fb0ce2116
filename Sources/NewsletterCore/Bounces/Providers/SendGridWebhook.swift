import Crypto
import Foundation
import HTTPTypes

/// `POST /webhooks/sendgrid`: the Signed Event Webhook. A batch of events (a JSON array),
/// signed with ECDSA P-256 over SHA-256 of the timestamp header followed by the raw body; the
/// public key is the one SendGrid shows when signing is turned on (base64 DER).
///
/// `bounce` and `blocked` are failures whose status and reason the rule classifies; `deferred`
/// is a soft bounce; `spamreport` a complaint; `delivered` a delivery; `dropped` follows its
/// reason (a bounced or invalid address is hard, a spam reporter a complaint, the rest policy);
/// engagement events are ignored.
public struct SendGridWebhook: ProviderWebhook {
    /// DER: Crypto's key type is not `Sendable`, so each request makes its own from these bytes.
    let publicKeyDER: Data

    public init(publicKey: P256.Signing.PublicKey) { publicKeyDER = publicKey.derRepresentation }

    /// The key as SendGrid shows it: base64 of the DER SubjectPublicKeyInfo (PEM armour allowed).
    public static func publicKey(fromBase64 text: String) -> P256.Signing.PublicKey? {
        let base64 = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
            .filter { !$0.isWhitespace }
        guard let der = Data(base64Encoded: base64) else { return nil }
        return try? P256.Signing.PublicKey(derRepresentation: der)
    }

    public static let signatureHeader = HTTPField.Name("X-Twilio-Email-Event-Webhook-Signature")!
    public static let timestampHeader = HTTPField.Name("X-Twilio-Email-Event-Webhook-Timestamp")!

    public var name: String { "sendgrid" }

    public func verify(headers: HTTPFields, body: [UInt8], verp: VERPAddress?) throws(ProviderRefusal)
        -> VerifiedEvents
    {
        guard let timestamp = headers[Self.timestampHeader], let signedAt = ProviderTime.unix(timestamp) else {
            throw .unauthenticated("the \(Self.timestampHeader) header is missing or not Unix seconds")
        }
        guard let encoded = headers[Self.signatureHeader], let der = Data(base64Encoded: encoded),
            let signature = try? P256.Signing.ECDSASignature(derRepresentation: der)
        else {
            throw .unauthenticated("the \(Self.signatureHeader) header is missing or not a base64 DER ECDSA signature")
        }
        guard let publicKey = try? P256.Signing.PublicKey(derRepresentation: publicKeyDER),
            publicKey.isValidSignature(signature, for: Array(timestamp.utf8) + body)
        else {
            throw .unauthenticated(
                "the signature does not verify over the timestamp and the body with the public key (bounces.providers.sendgrid)"
            )
        }
        let objects = try JSONObject.parseArray(body, what: "SendGrid posts an array of events")
        var events: [ProviderEvent] = []
        for object in objects {
            let id = try object.requiredString("sg_event_id")
            events.append(ProviderEvent(id: id, action: try Self.action(object, id: id, verp: verp)))
        }
        return VerifiedEvents(signedAt: signedAt, events: events)
    }

    static func action(_ event: JSONObject, id: String, verp: VERPAddress?) throws(ProviderRefusal)
        -> ProviderEvent.Action
    {
        let type = try event.requiredString("event")
        var evidence = BounceEvidence(smtpReply: event.string("reason") ?? event.string("response") ?? "")
        if let status = event.string("status").flatMap(EnhancedStatus.init) { evidence.status = status.description }
        let outcome: ReportedOutcome
        switch (type, event.string("type") ?? "") {
        case ("bounce", "blocked"), ("blocked", _):
            outcome = .failed
            // Refused for the sender's reputation or the content, not the address.
            if evidence.status == nil { evidence.status = "5.7.1" }
        case ("bounce", _):
            outcome = .failed
            if evidence.status == nil { evidence.status = "5.0.0" }
        case ("deferred", _): outcome = .delayed
        case ("delivered", _): outcome = .delivered
        case ("spamreport", _): outcome = .complaint
        case ("dropped", _):
            let reason = event.string("reason") ?? ""
            evidence.diagnostic = "dropped by SendGrid: \(reason)"
            switch reason.lowercased() {
            case "bounced address", "invalid":
                outcome = .failed
                evidence.status = "5.1.1"
            case "spam reporting address": outcome = .complaint
            case "unsubscribed address":
                return .ignore(reason: "dropped: the address unsubscribed at SendGrid, not on this list")
            default:
                outcome = .failed
                evidence.status = "5.7.1"
            }
        default: return .ignore(reason: "event \"\(type)\" says nothing about the address")
        }
        return .record(
            .reported(
                outcome, key: "sendgrid:\(id)", recipient: event.string("email"), evidence: evidence,
                messageID: event.string("smtp-id"), verp: verp))
    }
}
