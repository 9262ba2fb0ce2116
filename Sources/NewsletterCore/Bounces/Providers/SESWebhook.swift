import Foundation
import HTTPTypes
import Synchronization
import X509

/// `POST /webhooks/ses`: Amazon SES notifications delivered by SNS. Each SNS message is signed
/// with RSA (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) over the documented string to
/// sign; the certificate comes from `SigningCertURL`, which must be https on an SNS host
/// (`sns.<region>.amazonaws.com`, or the hosts configured), fetched once per URL. Only the
/// configured topics are taken: anyone can point an SNS topic of their own at this URL, and
/// SNS signs that too.
///
/// A SubscriptionConfirmation is verified, then its SubscribeURL (the same host rule) is
/// fetched. In a Notification, SES's `Bounce` maps each bounced recipient through the rule
/// (`Permanent` without a status is taken as 5.1.1, `Transient` as 4.0.0, `Undetermined` as
/// 5.0.0), `Complaint` unsubscribes, `Delivery` records a delivery, `DeliveryDelay` a soft
/// bounce; other event types are ignored.
public struct SESWebhook: ProviderWebhook {
    public var settings: Settings
    let certificates: SNSCertificates

    public struct Settings: Sendable, Equatable {
        /// The SNS topics whose messages are taken (`arn:aws:sns:eu-west-1:123456789012:ses-bounces`).
        public var topicARNs: [String]
        /// Hosts the certificate and the SubscribeURL may be on; empty: any `sns.<region>.amazonaws.com`.
        public var certificateHosts: [String] = []
        /// A CA bundle to check those hosts against instead of the system's (a test's own CA).
        public var caFile: String?

        public init(topicARNs: [String]) { self.topicARNs = topicARNs }
    }

    public init(settings: Settings, time: any TimeSource = SystemTime()) {
        self.settings = settings
        certificates = SNSCertificates(caFile: settings.caFile, time: time)
    }

    public var name: String { "ses" }

    public func verify(headers: HTTPFields, body: [UInt8], verp: VERPAddress?) async throws(ProviderRefusal)
        -> VerifiedEvents
    {
        let message = try JSONObject.parse(body, what: "SNS posts one message as a JSON object")
        let type = try message.requiredString("Type")
        let fields: [String]
        switch type {
        case "Notification": fields = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        case "SubscriptionConfirmation", "UnsubscribeConfirmation":
            fields = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
        default: throw .malformed("Type \"\(type.prefix(40))\" is not an SNS message type")
        }
        let topic = try message.requiredString("TopicArn")
        guard settings.topicARNs.contains(topic) else {
            throw .forbidden("topic \(topic.prefix(200)) is not one of bounces.providers.ses.topic_arns")
        }
        let stamp = try message.requiredString("Timestamp")
        guard let signedAt = ProviderTime.iso8601(stamp) else {
            throw .malformed("Timestamp \"\(stamp.prefix(40))\" is not an ISO 8601 time")
        }
        try await checkSignature(of: message, fields: fields)
        let id = try message.requiredString("MessageId")
        switch type {
        case "SubscriptionConfirmation":
            let url = try message.requiredString("SubscribeURL")
            try checkHost(of: url, what: "SubscribeURL")
            return VerifiedEvents(signedAt: signedAt, events: [.init(id: id, action: .confirmSubscription(url: url))])
        case "UnsubscribeConfirmation":
            return VerifiedEvents(
                signedAt: signedAt, events: [.init(id: id, action: .ignore(reason: "the topic unsubscribed this URL"))])
        default:
            let notification = try Self.notification(message.requiredString("Message"))
            return VerifiedEvents(signedAt: signedAt, events: [.init(id: id, action: Self.action(notification, verp: verp))])
        }
    }

    public func confirmSubscription(url: String) async throws(ProviderRefusal) {
        let caFile = settings.caFile
        let result = await ThreadedWork.run { () throws(CurlHTTPFailure) -> CurlHTTPResponse in
            try CurlHTTPClient.perform(
                CurlHTTPRequest(
                    url: url, timeoutSeconds: 10, connectTimeoutSeconds: 5, maxResponseBytes: 64 << 10, caFile: caFile))
        }
        switch result {
        case .success(let response) where (200..<300).contains(response.status): return
        case .success(let response):
            throw ProviderRefusal(status: .badGateway, "SNS answered HTTP \(response.status) to the SubscribeURL")
        case .failure(let failure):
            throw ProviderRefusal(status: .badGateway, "the SubscribeURL could not be fetched: \(failure)")
        }
    }

    /// The documented string to sign: each field's name and value on lines of their own, in
    /// this order, leaving out a Notification's Subject when it has none.
    static func stringToSign(_ message: JSONObject, fields: [String]) -> String {
        var text = ""
        for field in fields {
            guard let value = message.string(field) else { continue }
            text += "\(field)\n\(value)\n"
        }
        return text
    }

    private func checkSignature(of message: JSONObject, fields: [String]) async throws(ProviderRefusal) {
        let version = try message.requiredString("SignatureVersion")
        let algorithm: Certificate.SignatureAlgorithm
        switch version {
        case "1": algorithm = .sha1WithRSAEncryption
        case "2": algorithm = .sha256WithRSAEncryption
        default: throw .malformed("SignatureVersion \"\(version.prefix(10))\" is not 1 or 2")
        }
        guard let signature = Data(base64Encoded: try message.requiredString("Signature")) else {
            throw .malformed("Signature is not base64")
        }
        let certificateURL = try message.requiredString("SigningCertURL")
        try checkHost(of: certificateURL, what: "SigningCertURL")
        let key = try await certificates.publicKey(at: certificateURL)
        guard key.isValidSignature(signature, for: Array(Self.stringToSign(message, fields: fields).utf8), signatureAlgorithm: algorithm)
        else {
            throw .unauthenticated("Signature does not verify with the certificate at SigningCertURL")
        }
    }

    /// https, no credentials, on an allowed host: a message naming any other place is refused
    /// before anything is fetched from it.
    func checkHost(of text: String, what: String) throws(ProviderRefusal) {
        guard let url = URL(string: text), url.scheme?.lowercased() == "https", url.user == nil, url.password == nil,
            let host = url.host?.lowercased()
        else {
            throw .forbidden("\(what) \(text.prefix(200)) is not an https URL")
        }
        let allowed = settings.certificateHosts.isEmpty
            ? Self.isSNSHost(host) : settings.certificateHosts.contains { $0.lowercased() == host }
        guard allowed else {
            throw .forbidden(
                "\(what) is on \(host.prefix(100)), not an SNS host (bounces.providers.ses.certificate_hosts)")
        }
    }

    /// `sns.<region>.amazonaws.com` (and `.com.cn`).
    static func isSNSHost(_ host: String) -> Bool {
        for suffix in [".amazonaws.com", ".amazonaws.com.cn"] where host.hasPrefix("sns.") && host.hasSuffix(suffix) {
            let region = host.dropFirst(4).dropLast(suffix.count)
            return !region.isEmpty && region.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
        }
        return false
    }

    static func notification(_ text: String) throws(ProviderRefusal) -> JSONObject {
        let object = try JSONObject.parse(Array(text.utf8), what: "Message holds SES's notification as JSON")
        return JSONObject(object.values, path: "Message")
    }

    static func action(_ notification: JSONObject, verp: VERPAddress?) -> ProviderEvent.Action {
        let type = notification.string("notificationType") ?? notification.string("eventType") ?? ""
        let mail = notification.object("mail")
        let envelopeSender = mail?.string("source")
        let messageID = mail?.object("commonHeaders")?.string("messageId")
        func report(_ outcome: ReportedOutcome, _ key: String, _ recipients: [(String?, BounceEvidence)])
            -> ProviderEvent.Action
        {
            let reports = recipients.map { address, evidence in
                ParsedBounce.reported(
                    outcome, key: key, recipient: address, evidence: evidence, envelopeSender: envelopeSender,
                    messageID: messageID, verp: verp)
            }
            guard var combined = reports.first else { return .ignore(reason: "the \(type) names no recipient") }
            combined.recipients = reports.flatMap(\.recipients)
            return .record(combined)
        }
        let feedback = { (object: JSONObject?) in "ses:" + (object?.string("feedbackId") ?? mail?.string("messageId") ?? "") }
        switch type {
        case "Bounce":
            let bounce = notification.object("bounce")
            let fallback: String
            switch bounce?.string("bounceType") {
            case "Permanent": fallback = "5.1.1"
            case "Transient": fallback = "4.0.0"
            default: fallback = "5.0.0"
            }
            return report(
                .failed, feedback(bounce),
                (bounce?.objects("bouncedRecipients") ?? []).map { recipient in
                    (recipient.string("emailAddress"), evidence(recipient, fallbackStatus: fallback))
                })
        case "Complaint":
            let complaint = notification.object("complaint")
            if complaint?.string("complaintFeedbackType") == "not-spam" {
                return .ignore(reason: "a not-spam feedback report")
            }
            return report(
                .complaint, feedback(complaint),
                (complaint?.objects("complainedRecipients") ?? []).map { ($0.string("emailAddress"), BounceEvidence()) })
        case "Delivery":
            let delivery = notification.object("delivery")
            let reply = BounceEvidence(smtpReply: delivery?.string("smtpResponse") ?? "")
            let recipients = (delivery?.values["recipients"] as? [any Sendable] ?? []).compactMap { $0 as? String }
            return report(.delivered, "ses:delivery:" + (mail?.string("messageId") ?? ""), recipients.map { ($0, reply) })
        case "DeliveryDelay":
            let delay = notification.object("deliveryDelay")
            return report(
                .delayed, "ses:delay:" + (mail?.string("messageId") ?? "") + ":" + (delay?.string("timestamp") ?? ""),
                (delay?.objects("delayedRecipients") ?? []).map { ($0.string("emailAddress"), evidence($0, fallbackStatus: "4.0.0")) })
        default:
            return .ignore(reason: "SES \(type.isEmpty ? "notification without a type" : "event \"\(type)\"") says nothing about the address")
        }
    }

    /// A recipient's DSN fields as SES passes them on (`status`, `action`, `diagnosticCode`).
    static func evidence(_ recipient: JSONObject, fallbackStatus: String) -> BounceEvidence {
        var diagnostic = recipient.string("diagnosticCode") ?? ""
        if diagnostic.lowercased().hasPrefix("smtp;") { diagnostic = String(diagnostic.dropFirst(5)).trimmingCharacters(in: .whitespaces) }
        var evidence = BounceEvidence(smtpReply: diagnostic)
        evidence.status = recipient.string("status").flatMap(EnhancedStatus.init)?.description ?? evidence.status ?? fallbackStatus
        evidence.action = recipient.string("action")
        return evidence
    }
}

/// The SNS signing certificates' public keys, fetched over https once per URL.
final class SNSCertificates: Sendable {
    private let cache = Mutex<[String: Certificate.PublicKey]>([:])
    let caFile: String?
    let time: any TimeSource

    init(caFile: String?, time: any TimeSource) {
        self.caFile = caFile
        self.time = time
    }

    func publicKey(at url: String) async throws(ProviderRefusal) -> Certificate.PublicKey {
        if let key = cache.withLock({ $0[url] }) { return key }
        let caFile = self.caFile
        let result = await ThreadedWork.run { () throws(CurlHTTPFailure) -> CurlHTTPResponse in
            try CurlHTTPClient.perform(
                CurlHTTPRequest(
                    url: url, timeoutSeconds: 10, connectTimeoutSeconds: 5, maxResponseBytes: 64 << 10, caFile: caFile))
        }
        let response: CurlHTTPResponse
        switch result {
        case .success(let answer) where (200..<300).contains(answer.status): response = answer
        case .success(let answer):
            throw ProviderRefusal(status: .badGateway, "the signing certificate's host answered HTTP \(answer.status)")
        case .failure(let failure):
            throw ProviderRefusal(status: .badGateway, "the signing certificate could not be fetched: \(failure)")
        }
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: String(decoding: response.body, as: UTF8.self))
        } catch {
            throw ProviderRefusal(status: .badGateway, "SigningCertURL does not hold a PEM certificate")
        }
        let now = time.now()
        guard certificate.notValidBefore <= now, now <= certificate.notValidAfter else {
            throw .unauthenticated("the signing certificate is not valid now (\(certificate.notValidBefore) to \(certificate.notValidAfter))")
        }
        cache.withLock { $0[url] = certificate.publicKey }
        return certificate.publicKey
    }
}

/// Blocking work (libcurl) on a thread of its own, so the server's few cooperative threads
/// are not held while a host answers.
enum ThreadedWork {
    static func run<T: Sendable, Failure: Error>(_ work: @escaping @Sendable () throws(Failure) -> T) async
        -> Result<T, Failure>
    {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: Result(catching: work))
            }
        }
    }
}
