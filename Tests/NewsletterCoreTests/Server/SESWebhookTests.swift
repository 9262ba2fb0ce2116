import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import NewsletterCore
import Testing

/// An SNS look-alike: a signing certificate made with openssl, served over https by a local
/// server whose own certificate the fetcher is given as its CA; messages signed with the
/// certificate's key by `openssl dgst`, as SNS signs them.
final class SNSSigner: @unchecked Sendable {
    let directory: URL
    let server: PortAnnouncingProcess
    var port: Int { server.port }
    let caFile: String
    let signingKey: String
    let log: URL
    static let topic = "arn:aws:sns:eu-west-1:123456789012:ses-bounces"

    var certificateURL: String { "https://localhost:\(port)/SimpleNotificationService-test.pem" }
    var subscribeURL: String { "https://localhost:\(port)/confirm?Action=ConfirmSubscription&Token=tok-1" }

    init() throws {
        directory = try TestPaths.temporaryDirectory()
        let served = directory.appendingPathComponent("served")
        try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
        caFile = directory.appendingPathComponent("tls.pem").path
        try Self.openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
            directory.appendingPathComponent("tls.key").path,
            "-out", caFile, "-days", "2", "-subj", "/CN=localhost", "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        signingKey = directory.appendingPathComponent("signing.key").path
        try Self.openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", signingKey, "-out",
            served.appendingPathComponent("SimpleNotificationService-test.pem").path, "-days", "2", "-subj",
            "/CN=sns.amazonaws.com",
        ])
        try Data("confirmed".utf8).write(to: served.appendingPathComponent("confirm"))
        log = directory.appendingPathComponent("requests.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        server = try PortAnnouncingProcess(
            "/usr/bin/env",
            [
                "python3", TestPaths.fixture("tools/https_server.py").path, "--dir", served.path, "--cert", caFile,
                "--key",
                directory.appendingPathComponent("tls.key").path, "--log", log.path,
            ],
            what: "the https server")
    }

    static func openssl(_ arguments: [String], input: Data? = nil) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(input) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(
                .fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments.first!) failed"])
        }
        return data
    }

    /// SignatureVersion 1 signs with SHA1withRSA, 2 with SHA256withRSA.
    func sign(_ text: String, version: Int, key: String? = nil) throws -> String {
        try Self.openssl(
            ["dgst", version == 1 ? "-sha1" : "-sha256", "-sign", key ?? signingKey], input: Data(text.utf8)
        )
        .base64EncodedString()
    }

    /// A key of nobody's: what a forger signs with.
    func otherKey() throws -> String {
        let path = directory.appendingPathComponent("other.key").path
        _ = try Self.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path])
        return path
    }

    var requests: [String] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    static func stamp(_ time: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: time)
    }

    /// An SNS Notification carrying `ses` (SES's notification) as its Message.
    func notification(
        _ ses: [String: Any], id: String, at time: Date, version: Int = 2, topic: String = topic,
        certificateURL: String? = nil, signingKey: String? = nil
    ) throws -> [UInt8] {
        let message = String(decoding: try JSONSerialization.data(withJSONObject: ses), as: UTF8.self)
        let timestamp = Self.stamp(time)
        let toSign =
            "Message\n\(message)\nMessageId\n\(id)\nTimestamp\n\(timestamp)\nTopicArn\n\(topic)\nType\nNotification\n"
        let body: [String: Any] = [
            "Type": "Notification", "MessageId": id, "TopicArn": topic, "Message": message, "Timestamp": timestamp,
            "SignatureVersion": "\(version)", "Signature": try sign(toSign, version: version, key: signingKey),
            "SigningCertURL": certificateURL ?? self.certificateURL,
        ]
        return Array(try JSONSerialization.data(withJSONObject: body))
    }

    func subscriptionConfirmation(id: String, at time: Date, signingKey: String? = nil) throws -> [UInt8] {
        let timestamp = Self.stamp(time)
        let message = "You have chosen to subscribe to the topic \(Self.topic)."
        let toSign =
            "Message\n\(message)\nMessageId\n\(id)\nSubscribeURL\n\(subscribeURL)\nTimestamp\n\(timestamp)\nToken\ntok-1\nTopicArn\n\(Self.topic)\nType\nSubscriptionConfirmation\n"
        let body: [String: Any] = [
            "Type": "SubscriptionConfirmation", "MessageId": id, "Token": "tok-1", "TopicArn": Self.topic,
            "Message": message, "SubscribeURL": subscribeURL, "Timestamp": timestamp, "SignatureVersion": "1",
            "Signature": try sign(toSign, version: 1, key: signingKey), "SigningCertURL": certificateURL,
        ]
        return Array(try JSONSerialization.data(withJSONObject: body))
    }

    var settings: ProviderSettings {
        var ses = SESWebhook.Settings(topicARNs: [Self.topic])
        ses.certificateHosts = ["localhost"]
        ses.caFile = caFile
        var settings = ProviderSettings()
        settings.ses = ses
        return settings
    }
}

/// `POST /webhooks/ses`: SNS messages signed with a certificate the test made, fetched over https
/// from a local server; both signature versions, the subscription handshake, and the ways a
/// request can be forged or misdirected.
@Suite("SES webhook", .runningStores)
struct SESWebhookTests {
    static func bounce(_ index: Int, type: String, status: String) -> [String: Any] {
        [
            "notificationType": "Bounce",
            "bounce": [
                "bounceType": type, "bounceSubType": "General", "feedbackId": "fb-\(index)-\(type)",
                "bouncedRecipients": [
                    [
                        "emailAddress": ProviderScenario.email(index), "status": status, "action": "failed",
                        "diagnosticCode": "smtp; 550 \(status) mailbox problem",
                    ]
                ],
            ],
            "mail": ["messageId": "ses-\(index)", "source": "digest@shiporskip.example"],
        ]
    }

    @Test(arguments: StoreBackend.all)
    func sesNotificationsEndAsTheMailboxPathWouldLeaveTheSubscriber(_ backend: StoreBackend) async throws {
        let scenario = try await ProviderScenario(backend, subscribers: 5)
        let sns = try SNSSigner()
        let now = scenario.time.now()
        let bodies = [
            try sns.notification(Self.bounce(0, type: "Permanent", status: "5.1.1"), id: "n0", at: now, version: 1),
            try sns.notification(
                [
                    "notificationType": "Complaint",
                    "complaint": [
                        "feedbackId": "fb-c1", "complainedRecipients": [["emailAddress": ProviderScenario.email(1)]],
                    ],
                    "mail": ["messageId": "ses-1"],
                ],
                id: "n1", at: now),
            try sns.notification(Self.bounce(2, type: "Transient", status: "4.2.2"), id: "n2", at: now),
            try sns.notification(
                [
                    "notificationType": "Delivery",
                    "delivery": [
                        "recipients": [ProviderScenario.email(3)], "smtpResponse": "250 2.6.0 Message received",
                    ],
                    "mail": ["messageId": "ses-3"],
                ],
                id: "n3", at: now, version: 1),
            try sns.notification(["eventType": "Open", "mail": ["messageId": "ses-4"]], id: "n4", at: now),
        ]
        try await scenario.withServer(sns.settings) { client in
            for (index, body) in bodies.enumerated() {
                let answer = try await WebhookAnswer.post(client, "/webhooks/ses", body: body)
                #expect(answer.status == .ok && answer.recorded == (index == 4 ? 0 : 1), "n\(index): \(answer.body)")
            }
        }
        await #expect(try scenario.status(0) == .bounced)
        await #expect(try scenario.status(1) == .unsubscribed)
        await #expect(try scenario.status(2) == .confirmed)
        await #expect(try scenario.status(3) == .confirmed)
        #expect(
            sns.requests.filter { $0.hasSuffix(".pem") }.count == 1, "the certificate is fetched once: \(sns.requests)")
    }

    @Test(arguments: StoreBackend.all)
    func aSubscriptionIsConfirmedOnlyWhenItsSignatureHolds(_ backend: StoreBackend) async throws {
        let scenario = try await ProviderScenario(backend, subscribers: 1)
        let sns = try SNSSigner()
        let now = scenario.time.now()
        let forged = try sns.subscriptionConfirmation(id: "c0", at: now, signingKey: try sns.otherKey())
        let genuine = try sns.subscriptionConfirmation(id: "c1", at: now)
        try await scenario.withServer(sns.settings) { client in
            let refused = try await WebhookAnswer.post(client, "/webhooks/ses", body: forged)
            #expect(refused.status == .unauthorized, "\(refused.body)")
            #expect(!sns.requests.contains { $0.hasPrefix("/confirm") }, "a forged confirmation fetches nothing")
            let answer = try await WebhookAnswer.post(client, "/webhooks/ses", body: genuine)
            #expect(answer.status == .ok && answer.body.contains("\"subscriptionConfirmed\":true"), "\(answer.body)")
        }
        #expect(
            sns.requests.contains { $0.hasPrefix("/confirm?Action=ConfirmSubscription&Token=tok-1") }, "\(sns.requests)"
        )
    }

    @Test(arguments: StoreBackend.all)
    func sesRefusesForgedStaleReplayedMisdirectedAndOversizedMessages(_ backend: StoreBackend) async throws {
        let scenario = try await ProviderScenario(backend, subscribers: 1)
        let sns = try SNSSigner()
        let now = scenario.time.now()
        let hard = Self.bounce(0, type: "Permanent", status: "5.1.1")
        let forged = try sns.notification(hard, id: "f0", at: now, signingKey: try sns.otherKey())
        let elsewhere = try sns.notification(
            hard, id: "f1", at: now,
            certificateURL: "https://evil.example:\(sns.port)/SimpleNotificationService-test.pem")
        let plain = try sns.notification(
            hard, id: "f2", at: now, certificateURL: "http://localhost:\(sns.port)/SimpleNotificationService-test.pem")
        let otherTopic = try sns.notification(
            hard, id: "f3", at: now, topic: "arn:aws:sns:eu-west-1:999999999999:not-ours")
        let stale = try sns.notification(hard, id: "f4", at: now.addingTimeInterval(-301))
        let genuine = try sns.notification(Self.bounce(0, type: "Transient", status: "4.4.1"), id: "f5", at: now)
        try await scenario.withServer(sns.settings) { client in
            let forgedAnswer = try await WebhookAnswer.post(client, "/webhooks/ses", body: forged)
            #expect(
                forgedAnswer.status == .unauthorized && forgedAnswer.body.contains("does not verify"),
                "\(forgedAnswer.body)")
            let elsewhereAnswer = try await WebhookAnswer.post(client, "/webhooks/ses", body: elsewhere)
            #expect(
                elsewhereAnswer.status == .forbidden && elsewhereAnswer.body.contains("evil.example"),
                "\(elsewhereAnswer.body)")
            let plainAnswer = try await WebhookAnswer.post(client, "/webhooks/ses", body: plain)
            #expect(plainAnswer.status == .forbidden && plainAnswer.body.contains("https"), "\(plainAnswer.body)")
            let topicAnswer = try await WebhookAnswer.post(client, "/webhooks/ses", body: otherTopic)
            #expect(topicAnswer.status == .forbidden && topicAnswer.body.contains("topic_arns"), "\(topicAnswer.body)")
            let staleAnswer = try await WebhookAnswer.post(client, "/webhooks/ses", body: stale)
            #expect(
                staleAnswer.status == .unauthorized && staleAnswer.body.contains("five minutes"), "\(staleAnswer.body)")
            let big = try await WebhookAnswer.post(
                client, "/webhooks/ses", body: [UInt8](repeating: UInt8(ascii: "{"), count: 10_000_000))
            #expect(big.status == .contentTooLarge)
            let first = try await WebhookAnswer.post(client, "/webhooks/ses", body: genuine)
            #expect(first.status == .ok && first.recorded == 1, "\(first.body)")
            let replay = try await WebhookAnswer.post(client, "/webhooks/ses", body: genuine)
            #expect(replay.status == .conflict, "\(replay.body)")
        }
        await #expect(try scenario.status(0) == .confirmed, "only the genuine soft bounce was recorded")
        #expect(try await scenario.store.bounceTally(nil).soft == 1)
        #expect(try await scenario.store.bounceTally(nil).hard == 0)
    }

    @Test func withoutConfiguredHostsOnlySNSHostsAreTrusted() {
        #expect(SESWebhook.isSNSHost("sns.eu-west-1.amazonaws.com"))
        #expect(SESWebhook.isSNSHost("sns.cn-north-1.amazonaws.com.cn"))
        for host in [
            "sns.eu-west-1.amazonaws.com.evil.example", "evil-sns.eu-west-1.amazonaws.com", "sns..amazonaws.com",
            "sns.a.b.amazonaws.com", "s3.amazonaws.com", "localhost",
        ] {
            #expect(!SESWebhook.isSNSHost(host), "\(host)")
        }
    }
}
