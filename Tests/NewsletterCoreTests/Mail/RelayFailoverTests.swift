import Foundation
import Logging
import Synchronization
import Testing

@testable import NewsletterCore

/// Several relays (issue 27): the mail spread by weight among the best priority that is up, a
/// relay that fails marked down and its recipients sent through the others, a recipient's own
/// refusal still that recipient's. Real peers (Postfix's smtp-sink) on both stores.
@Suite(.serialized, .runningStores)
struct RelayFailoverTests {
    let week = try! IssueWeek(parsing: "2026-W47")

    /// An approved issue and `count` confirmed subscribers.
    func prepare(_ store: any ContractStore, subscribers count: Int) async throws {
        try await store.approveSendableIssue(week)
        try await store.addConfirmedReaders(count)
    }

    func send(
        _ store: some ContractStore, through relays: [Relay], time: any TimeSource = SystemTime(), seed: UInt64 = 1
    ) async throws -> DeliverySummary {
        var settings = DeliverySettings(
            from: try MailAddress("digest@shiporskip.example"), listID: "weekly.shiporskip.example",
            publicURL: "https://news.example.org")
        settings.retries = 1
        settings.retryBaseDelay = .milliseconds(10)
        settings.retryMaxDelay = .milliseconds(20)
        settings.batchSize = 5
        var mailer = Mailer(store: store, settings: settings, logger: Logger(label: "tests"))
        mailer.time = time
        mailer.random = SeededRandom(seed: seed)
        return try await mailer.send(week, through: relays)
    }

    func relay(_ name: String, _ url: String, priority: Int = 1, weight: Double = 1, connections: Int = 2) -> Relay {
        var settings = SMTPTransport.Settings(url: url, allowPlaintext: true)
        settings.commandTimeoutSeconds = 5
        return Relay(
            name: name, transport: SMTPTransport(settings: settings), priority: priority, weight: weight,
            connections: connections)
    }

    func closedPort() throws -> String { "smtp://127.0.0.1:\(try SMTPSink.freePort())" }

    /// The failing relay comes first (priority 1), so every recipient meets it before the
    /// fallback: each of these failures must send the mail on through the healthy one.
    @Test(
        .enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"),
        arguments: StoreBackend.all, ["refused", "421 to MAIL FROM", "4xx to MAIL FROM"])
    func aFailingRelayIsMarkedDownAndTheOthersSendItsRecipients(_ backend: StoreBackend, _ failure: String)
        async throws
    {
        let store = try await backend.makeStore()
        try await prepare(store, subscribers: 12)
        let failing: SMTPSink? =
            switch failure {
            case "421 to MAIL FROM": try SMTPSink(faults: ["-Q", "MAIL"])
            case "4xx to MAIL FROM": try SMTPSink(faults: ["-r", "MAIL"])
            default: nil
            }
        let healthy = try SMTPSink()
        let time = ManualTime()
        let summary = try await send(
            store,
            through: [
                relay("first", try failing?.url ?? closedPort()), relay("fallback", healthy.url, priority: 2),
            ], time: time)
        #expect(summary.sent == 12 && summary.complete)
        #expect(try await store.deliveryCounts(week) == [.sent: 12])
        let received = try healthy.recipients()
        #expect(Set(received).count == 12 && received.count == 12)
        #expect(try failing?.recipients().isEmpty ?? true)
        // The ledger says which relay took each message; the store, that the first is down.
        #expect(try await store.messagesPerRelay(week) == [RelayShare(relay: "fallback", messages: 12)])
        let health = try await store.relayHealth()
        #expect(health.map(\.name) == ["first"] && health[0].failures == 1 && !health[0].isUp(at: time.now()))
        let status = try await RelayStatus.of(week, configured: ["first", "fallback"], store: store, now: time.now())
        #expect(status.map(\.name) == ["first", "fallback"] && status.map(\.up) == [false, true])
        #expect(status[1].line == "fallback: up; 12 messages (100.0 %)")
        #expect(status[0].line.hasPrefix("first: down until ") && status[0].line.contains("1 failure(s) in a row"))
        #expect(status[0].line.hasSuffix("; 0 messages (0.0 %)"))
        // The issue's report shows the same relays, their shares and health.
        let report = try await IssueReport.make(week, store: store, at: time.now())
        #expect(report.relays.map(\.line) == status.map(\.line))
        #expect(report.text.contains("  relay fallback: up; 12 messages (100.0 %)"), "\(report.text)")
    }

    /// A relay that takes the whole message and never confirms it (silent, or killed under it)
    /// has failed: with another relay up, the message goes to it rather than count as sent
    /// (a copy may arrive twice, as any in flight may, but none is lost to a dead relay).
    @Test(
        .enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"),
        arguments: StoreBackend.all)
    func aMessageARelayNeverConfirmedIsSentByAnother(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await prepare(store, subscribers: 1)
        let silent = try SMTPSink(faults: ["-W", ".:3"])  // stores it, answers "." three seconds late
        let fallback = try SMTPSink()
        var silentRelay = relay("silent", silent.url)
        var settings = SMTPTransport.Settings(url: silent.url, allowPlaintext: true)
        settings.commandTimeoutSeconds = 1
        silentRelay.transport = SMTPTransport(settings: settings)
        let summary = try await send(store, through: [silentRelay, relay("fallback", fallback.url, priority: 2)])
        #expect(summary.sent == 1)
        #expect(try fallback.recipients() == ["reader0@example.org"])
        #expect(try await store.messagesPerRelay(week) == [RelayShare(relay: "fallback", messages: 1)])
        await #expect(try store.deliveryReplies(week, state: .sent).first?.reply.hasPrefix("unconfirmed") == false)
    }

    /// Only when every relay is down does the run stop, as one `smtp.url` did: nothing sent,
    /// everyone pending for the next run.
    @Test(arguments: StoreBackend.all)
    func whenEveryRelayIsDownTheRunStopsWithEveryonePending(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await prepare(store, subscribers: 6)
        await #expect {
            try await send(store, through: [relay("a", try closedPort()), relay("b", try closedPort(), priority: 2)])
        } throws: { error in
            guard case .serverUnavailable(let reason, let summary) = error as? DeliveryError else { return false }
            return summary.sent == 0 && reason.contains("every relay is down") && reason.contains("a:")
                && reason.contains("b:")
        }
        #expect(try await store.deliveryCounts(week) == [.pending: 6])
    }

    /// A 5xx to one recipient is about that recipient: the relay stays up and goes on with the
    /// others; the fallback gets nothing.
    @Test(
        .enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"),
        arguments: StoreBackend.all)
    func aRecipientsRefusalStaysThatRecipientsFailure(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await prepare(store, subscribers: 4)
        _ = try await store.addSubscriber(email: "gone@example.org", name: nil, status: .confirmed)
        let refusing = try RefusingRelay(refused: "gone@example.org")
        let fallback = try SMTPSink()
        let summary = try await send(
            store, through: [relay("main", refusing.url), relay("fallback", fallback.url, priority: 2)])
        #expect(summary.sent == 4 && summary.failed == 1)
        #expect(try await store.deliveryReplies(week, state: .failed).map(\.email) == ["gone@example.org"])
        #expect(try fallback.recipients().isEmpty)
    }

    /// The mail is spread by weight among the relays of the best priority; a relay of a worse
    /// priority gets nothing while they are up.
    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func mailIsSpreadByWeightAmongTheBestPriority() async throws {
        let store = try await StoreBackend.sqlite.makeStore()
        try await prepare(store, subscribers: 400)
        let heavy = try SMTPSink()
        let light = try SMTPSink()
        let spare = try SMTPSink()
        let summary = try await send(
            store,
            through: [
                relay("heavy", heavy.url, weight: 3, connections: 8),
                relay("light", light.url, weight: 1, connections: 8),
                relay("spare", spare.url, priority: 2),
            ])
        #expect(summary.sent == 400)
        let (toHeavy, toLight) = (try heavy.recipients().count, try light.recipients().count)
        #expect(toHeavy + toLight == 400)
        #expect(
            try await store.messagesPerRelay(week)
                == [RelayShare(relay: "heavy", messages: toHeavy), RelayShare(relay: "light", messages: toLight)])
        #expect(try spare.recipients().isEmpty)
        // 80 batches of 5 drawn 3:1: a seeded draw, so the same split every run.
        #expect((260...340).contains(toHeavy), "heavy \(toHeavy), light \(toLight)")
    }

    /// A relay's own quota paces what goes through it, from the store's bucket named after it.
    @Test(arguments: StoreBackend.all)
    func aRelaysQuotaPacesItsMessages(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await prepare(store, subscribers: 60)
        let time = ManualTime()
        let started = time.uptime()
        let directory = try TestPaths.temporaryDirectory()
        let summary = try await send(
            store,
            through: [Relay(name: "paced", transport: FileTransport(directory: directory.path), messagesPerSecond: 20)],
            time: time)
        #expect(summary.sent == 60)
        // 20 a second: the first message at once, the other 59 a twentieth of a second apart at
        // best. Workers waiting at once each move the manual clock, so it may show more, never less.
        #expect(time.uptime() - started >= .seconds(2.9), "\(time.uptime() - started)")
        // The bucket is the relay's: taking from it now finds it empty, another bucket full.
        let limit = ListSendLimit(perSecond: 20)
        #expect(try await store.takeSendTokens(5, limit: limit, bucket: "relay:paced", at: time.now()) == 0)
        #expect(try await store.takeSendTokens(1, limit: limit, bucket: "relay:other", at: time.now()) == 1)
    }

    /// `/metrics` shows each relay: up or not, failures in a row, messages taken.
    @Test func metricsShowEachRelaysHealthAndMessages() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let text = EndpointMetrics().render(
            queueDepth: 0, subscribers: [:],
            relays: [
                RelayHealthRecord(
                    name: "postmark", downUntil: now.addingTimeInterval(30), failures: 2, lastError: "421",
                    updatedAt: now),
                RelayHealthRecord(
                    name: "backup", downUntil: now.addingTimeInterval(-1), failures: 1, lastError: "x", updatedAt: now),
            ],
            relayMessages: [RelayShare(relay: "ses", messages: 300), RelayShare(relay: "postmark", messages: 100)],
            now: now)
        for line in [
            "newsletter_relay_up{relay=\"postmark\"} 0.0", "newsletter_relay_up{relay=\"ses\"} 1.0",
            "newsletter_relay_up{relay=\"backup\"} 1.0", "newsletter_relay_failures{relay=\"postmark\"} 2.0",
            "newsletter_relay_messages_total{relay=\"ses\"} 300",
            "newsletter_relay_messages_total{relay=\"postmark\"} 100",
            "newsletter_relay_messages_total{relay=\"backup\"} 0",
        ] {
            #expect(text.contains(line + "\n"), "\(line)")
        }
    }

    /// The pick itself: a draw below the heavy relay's share of the weights picks it.
    @Test func aDrawPicksTheRelayWhoseShareOfTheWeightsItFallsIn() {
        let relays = [
            Relay(name: "a", transport: FileTransport(directory: "/nonexistent"), weight: 3),
            Relay(name: "b", transport: FileTransport(directory: "/nonexistent"), weight: 1),
        ]
        var draws: any RandomNumberGenerator & Sendable = FixedDraws([0.1, 0.74, 0.76, 0.99, 0.5])
        let picks = (0..<5).map { _ in RelayPool.pick([0, 1], weights: relays, using: &draws) }
        #expect(picks == [0, 0, 1, 1, 0])
        var seeded: any RandomNumberGenerator & Sendable = SeededRandom(seed: 7)
        let many = (0..<4000).map { _ in RelayPool.pick([0, 1], weights: relays, using: &seeded) }
        let share = Double(many.count(where: { $0 == 0 })) / 4000
        #expect((0.72...0.78).contains(share), "\(share)")
    }

    /// A relay down is tried again once its backoff has passed, and its failures in a row
    /// double the wait.
    @Test func aRelayDownComesBackAfterItsBackoffWhichDoublesWithEachFailure() async throws {
        let time = ManualTime()
        let pool = RelayPool(
            relays: [Relay(name: "a", transport: FileTransport(directory: NSTemporaryDirectory()), connections: 1)],
            time: time, backoff: Backoff(base: .seconds(5), cap: .seconds(60)))
        guard case .connection(let first) = await pool.checkout(unless: { false }) else {
            Issue.record("no connection")
            return
        }
        #expect(pool.failed(first, reason: "refused") == .seconds(5))
        guard case .allDown(let reason) = await pool.checkout(unless: { false }) else {
            Issue.record("a relay just marked down was picked")
            return
        }
        #expect(reason == "refused")
        time.advance(by: .seconds(5))
        guard case .connection(let second) = await pool.checkout(unless: { false }) else {
            Issue.record("the relay did not come back after its backoff")
            return
        }
        #expect(pool.failed(second, reason: "refused again") == .seconds(10))
        time.advance(by: .seconds(10))
        guard case .connection(let third) = await pool.checkout(unless: { false }) else { return }
        #expect(pool.accepted(through: third))
        #expect(pool.health[0].failures == 0 && pool.health[0].accepted == 1)
    }
}

/// Draws given as fractions of the range, in order.
struct FixedDraws: RandomNumberGenerator, Sendable {
    var fractions: [Double]
    init(_ fractions: [Double]) { self.fractions = fractions }

    mutating func next() -> UInt64 {
        let fraction = fractions.removeFirst()
        return UInt64(fraction * Double(1 << 53)) << 11
    }
}

/// aiosmtpd refusing one recipient with 550 5.1.1 and taking every other.
final class RefusingRelay {
    let server: PortAnnouncingProcess
    var port: Int { server.port }
    var url: String { "smtp://127.0.0.1:\(port)" }

    init(refused: String) throws {
        guard let python = AiosmtpdServer.python else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "aiosmtpd is not set up"])
        }
        server = try PortAnnouncingProcess(
            python,
            [
                TestPaths.repository.appendingPathComponent("scripts/reliability/relay_smtp.py").path, "--refuse",
                refused,
            ],
            what: "the relay")
    }
}
