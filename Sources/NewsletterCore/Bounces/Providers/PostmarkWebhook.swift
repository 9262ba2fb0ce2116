import Crypto
import Foundation
import HTTPTypes

/// `POST /webhooks/postmark`: the bounce and spam-complaint webhooks, one record per request,
/// authenticated by the basic-auth credentials written into the webhook URL
/// (`https://user:password@…/webhooks/postmark`), as Postmark documents. The record's
/// `BouncedAt` is the time checked for freshness; `RecordType` and `ID` the id kept against
/// replays.
///
/// `HardBounce`, `BadEmailAddress` and `ManuallyDeactivated` mark the address bounced;
/// `SoftBounce`, `Transient` and `DnsError` count as soft; `SpamNotification`, `Blocked`,
/// `ContentRelated` and `ChallengeVerification` are policy refusals; `AutoResponder` is an
/// auto-reply; `SpamComplaint` (either record type) unsubscribes. Other types are ignored.
public struct PostmarkWebhook: ProviderWebhook {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public var name: String { "postmark" }

    public func verify(headers: HTTPFields, body: [UInt8], verp: VERPAddress?) throws(ProviderRefusal)
        -> VerifiedEvents
    {
        guard let authorization = headers[.authorization], Self.basic(authorization, matches: username, password)
        else {
            throw .unauthenticated(
                "the webhook URL's credentials are missing or wrong (https://USER:PASSWORD@…/webhooks/postmark, bounces.providers.postmark)"
            )
        }
        let record = try JSONObject.parse(body, what: "a Postmark bounce or spam-complaint record")
        let recordType = try record.requiredString("RecordType")
        let id = try record.requiredString("ID")
        let stamp = try record.requiredString("BouncedAt")
        guard let signedAt = ProviderTime.iso8601(stamp) else {
            throw .malformed("BouncedAt \"\(stamp.prefix(40))\" is not an ISO 8601 time")
        }
        let event = ProviderEvent(id: "\(recordType):\(id)", action: Self.action(record, recordType: recordType, verp: verp))
        return VerifiedEvents(signedAt: signedAt, events: [event])
    }

    static func basic(_ header: String, matches username: String, _ password: String) -> Bool {
        guard header.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: header.dropFirst(6).trimmingCharacters(in: .whitespaces))
        else { return false }
        // Hashed first, so the comparison takes the same time whatever the lengths.
        let presented = SHA256.hash(data: decoded)
        let expected = SHA256.hash(data: Data("\(username):\(password)".utf8))
        return ConstantTime.equal(Array(presented), Array(expected))
    }

    static func action(_ record: JSONObject, recordType: String, verp: VERPAddress?) -> ProviderEvent.Action {
        let type = record.string("Type") ?? ""
        var evidence = BounceEvidence(smtpReply: record.string("Details") ?? record.string("Description") ?? "")
        evidence.diagnostic = [type, record.string("Description"), record.string("Details")].compactMap { $0 }
            .filter { !$0.isEmpty }.joined(separator: ": ")
        let outcome: ReportedOutcome
        switch (recordType, type) {
        case ("SpamComplaint", _), ("Bounce", "SpamComplaint"): outcome = .complaint
        case ("Bounce", "HardBounce"), ("Bounce", "BadEmailAddress"), ("Bounce", "ManuallyDeactivated"):
            outcome = .failed
            evidence.status = "5.1.1"
        case ("Bounce", "SoftBounce"), ("Bounce", "DnsError"):
            outcome = .failed
            evidence.status = "4.0.0"
        case ("Bounce", "Transient"): outcome = .delayed
        case ("Bounce", "SpamNotification"), ("Bounce", "Blocked"), ("Bounce", "ContentRelated"),
            ("Bounce", "ChallengeVerification"):
            outcome = .failed
            evidence.status = "5.7.1"
        case ("Bounce", "AutoResponder"): outcome = .autoReply
        case ("Bounce", _): return .ignore(reason: "bounce type \"\(type)\" says nothing certain about the address")
        default: return .ignore(reason: "record type \"\(recordType)\" is not Bounce or SpamComplaint")
        }
        return .record(
            .reported(
                outcome, key: "postmark:\(recordType):\(record.string("ID") ?? "")", recipient: record.string("Email"),
                evidence: evidence, verp: verp))
    }
}
