import Foundation
import Logging
import Testing

@testable import NewsletterCore

/// The queue of confirmation and welcome mails against real SMTP peers (Postfix's smtp-sink):
/// a server that is down or answers 4xx delays a mail, never loses it; a 5xx is recorded.
@Suite(.serialized, .enabled(if: SMTPSink.available, "Postfix's smtp-sink is not installed"))
struct EndpointMailQueueTests {
    let store: AppDatabase
    let templates = try! TemplateSet.load(directory: TestPaths.repository.appendingPathComponent("templates").path)

    init() throws {
        store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
    }

    func queue(_ url: String) throws -> EndpointMailQueue<AppDatabase> {
        var delivery = DeliverySettings(
            from: try MailAddress("digest@example.org", displayName: "Digest"), listID: "digest.example.org",
            publicURL: "https://news.example.org")
        delivery.retries = 0
        var settings = SMTPTransport.Settings(url: url, allowPlaintext: true)
        settings.connectTimeoutSeconds = 2
        return EndpointMailQueue(
            store: store, transport: SMTPTransport(settings: settings), templates: templates, delivery: delivery,
            issue: IssueSettings(), policy: SignupPolicy(), logger: Logger(label: "test"), wakeup: Wakeup())
    }

    func signUp(_ email: String, name: String? = nil) async throws -> Int64 {
        guard
            case .confirmationQueued(let id) = try await store.requestSignup(
                try MailAddress(email), name: name, client: .commandLine, policy: SignupPolicy(), at: Date())
        else { throw CancellationError() }
        return id
    }

    @Test func aServerThatIsDownOrAnswers4xxDelaysTheConfirmationUntilItIsAccepted() async throws {
        let id = try await signUp("ada@example.org", name: "Ada <Lovelace>")
        // 1. Nothing listens on the port.
        let deadPort = try SMTPSink.freePort()
        #expect(await (try queue("smtp://127.0.0.1:\(deadPort)")).drain() == 0)
        await #expect(try store.endpointMails(subscriberID: id).map(\.state) == ["pending"])
        await #expect(try store.endpointMailQueueDepth() == 1)
        // 2. A server that answers 451 to RCPT, once the retry is due.
        let busy = try SMTPSink(faults: ["-r", "RCPT"])
        #expect(await (try queue(busy.url)).drain(now: { Date().addingTimeInterval(3600) }) == 0)
        #expect(try busy.messages().isEmpty)
        await #expect(try store.endpointMails(subscriberID: id).map(\.attempts) == [2])
        // 3. Not due yet: nothing is tried.
        let sink = try SMTPSink()
        #expect(await (try queue(sink.url)).drain() == 0)
        // 4. Due, and the server works: sent once, and its link confirms.
        #expect(await (try queue(sink.url)).drain(now: { Date().addingTimeInterval(4 * 3600) }) == 1)
        await #expect(try store.endpointMails(subscriberID: id).map(\.state) == ["sent"])
        await #expect(try store.endpointMailQueueDepth() == 0)
        let messages = try sink.messages()
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        #expect(message.contains("Subject: Confirm your subscription to Ship or Skip Weekly"))
        #expect(!message.contains("List-Unsubscribe"))  // not an issue of the list
        let link = try #require(message.firstMatch(of: /https:\/\/news\.example\.org\/confirm\/([A-Za-z0-9_-]{43})/))
        await #expect(
            try store.confirm(token: String(link.1), client: .commandLine, at: Date())
                == .confirmed(email: "ada@example.org"))
        // The stored name is escaped in the HTML part, and plain in the text part.
        let subscriber = try await #require(try store.subscriber(id: id))
        let built = try await (try queue(sink.url)).message(
            for: EndpointMail(id: 0, kind: .welcome, subscriber: subscriber, attempt: 1), at: Date())
        #expect(built.html?.contains("Hi Ada &lt;Lovelace&gt;,") == true)
        #expect(built.html?.contains("<Lovelace>") == false)
        #expect(built.text.contains("Hi Ada <Lovelace>,"))
        // The confirmation, sent before the owner agreed to anything, carries no typed name.
        let confirmation = try await (try queue(sink.url)).message(
            for: EndpointMail(id: 0, kind: .confirmation, subscriber: subscriber, attempt: 1), at: Date())
        #expect(!confirmation.text.contains("Lovelace") && confirmation.html?.contains("Lovelace") == false)
        #expect(confirmation.to.displayName == nil)
    }

    @Test func theWelcomeCarriesOneClickUnsubscribeAndPreferencesThatWork() async throws {
        let id = try await signUp("grace@example.org")
        let sink = try SMTPSink()
        let queue = try queue(sink.url)
        await queue.drain()
        let confirm = try #require(
            try sink.messages().first?.firstMatch(of: /confirm\/([A-Za-z0-9_-]{43})/).map { String($0.1) })
        _ = try await store.confirm(token: confirm, client: .commandLine, at: Date())
        #expect(await queue.drain() == 1)
        let welcome = try #require(try sink.messages().first { $0.contains("Subject: Welcome to") })
        #expect(welcome.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"))
        let unsubscribe = try #require(
            welcome.firstMatch(of: /List-Unsubscribe: <https:\/\/news\.example\.org\/unsubscribe\/([A-Za-z0-9_-]{43})>/)
        )
        await #expect(try store.subscriber(unsubscribeToken: String(unsubscribe.1))?.id == id)
        await #expect(
            try store.unsubscribe(token: String(unsubscribe.1), client: .commandLine, at: Date())
                == .unsubscribed(email: "grace@example.org"))
    }

    @Test func aRefusedRecipientIsRecordedAsFailedWithTheReply() async throws {
        let id = try await signUp("nobody@example.org")
        let refusing = try SMTPSink(faults: ["-f", "RCPT"])
        #expect(await (try queue(refusing.url)).drain() == 0)
        let mails = try await store.endpointMails(subscriberID: id)
        #expect(mails.map(\.state) == ["failed"])
        await #expect(try store.endpointMailQueueDepth() == 0)
    }

    @Test func aMailRetriedForDaysIsGivenUpWithTheReason() async throws {
        let id = try await signUp("late@example.org")
        let deadPort = try SMTPSink.freePort()
        // Four days later the server is still down: no confirmation that late.
        #expect(
            await (try queue("smtp://127.0.0.1:\(deadPort)")).drain(now: { Date().addingTimeInterval(4 * 86400) }) == 0)
        await #expect(try store.endpointMails(subscriberID: id).map(\.state) == ["failed"])
        await #expect(try store.endpointMailQueueDepth() == 0)
    }

    @Test func aCrashAfterTheClaimMeansARetryAfterTheLeaseNotALoss() async throws {
        let id = try await signUp("lease@example.org")
        let now = Date()
        await #expect(try store.claimEndpointMail(limit: 10, at: now, lease: 600).count == 1)
        // The process died here; nothing was recorded. Within the lease the mail is not due...
        await #expect(try store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(60), lease: 600).isEmpty)
        // ...after it, it is, with the attempt counted.
        let again = try await store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(601), lease: 600)
        #expect(again.map(\.subscriber.id) == [id] && again.first?.attempt == 2)
    }
}
