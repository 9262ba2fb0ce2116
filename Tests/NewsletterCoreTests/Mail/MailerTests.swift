import Foundation
import Logging
import NewsletterCore
import Testing

/// Sending an approved issue through real SMTP servers (Postfix's smtp-sink) and the file
/// transport, with the ledger deciding who gets what.
@Suite(.serialized)
struct MailerTests {
    let directory: URL
    let store: AppDatabase
    let week = try! IssueWeek(parsing: "2026-W47")

    init() throws {
        directory = try TestPaths.temporaryDirectory()
        store = try AppDatabase.open(path: directory.appendingPathComponent("newsletter.sqlite").path)
    }

    /// An approved issue and `count` confirmed subscribers (plus one pending, who gets nothing).
    func prepare(subscribers count: Int, in store: AppDatabase? = nil) async throws {
        let store = store ?? self.store
        try await store.saveDraft(
            IssueDraft(
                week: week, subject: "Ship or Skip · 2026-W47: Inkwell vs Tallyhoist",
                html: "<p>%%GREETING%%</p><p><a href=\"%%UNSUBSCRIBE_URL%%\">Unsubscribe</a></p>",
                text: "%%GREETING%%\n\nUnsubscribe: %%UNSUBSCRIBE_URL%%\n", manifest: "{}", comparisonIDs: [],
                hash: "h1"))
        try await store.approve(week, hash: "h1", at: Date())
        for index in 0..<count {
            _ = try await store.addSubscriber(
                email: "reader\(index)@example.org", name: index % 2 == 0 ? "Reader \(index)" : nil, status: .confirmed)
        }
        _ = try await store.addSubscriber(email: "pending@example.org", name: nil, status: .pending)
    }

    func mailer(
        concurrency: Int = 4, retries: Int = 1, bounceAfter: Int = 3, perSecond: Double? = nil,
        time: any TimeSource = SystemTime()
    ) throws -> Mailer<AppDatabase> {
        var settings = DeliverySettings(
            from: try MailAddress("digest@shiporskip.example", displayName: "Ship or Skip Weekly"),
            listID: "weekly.shiporskip.example", publicURL: "https://news.example.org")
        settings.concurrency = concurrency
        settings.retries = retries
        settings.retryBaseDelay = .milliseconds(10)
        settings.retryMaxDelay = .milliseconds(20)
        settings.batchSize = 7
        settings.bounceAfter = bounceAfter
        settings.messagesPerSecond = perSecond
        var mailer = Mailer(store: store, settings: settings, logger: Logger(label: "tests"))
        mailer.time = time
        return mailer
    }

    func smtp(_ sink: SMTPSink) -> SMTPTransport {
        SMTPTransport(settings: SMTPTransport.Settings(url: sink.url, allowPlaintext: true))
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func everyConfirmedSubscriberGetsExactlyOneCopy() async throws {
        try await prepare(subscribers: 40)
        let sink = try SMTPSink()
        let summary = try await mailer().send(week, through: smtp(sink))
        #expect(summary.sent == 40 && summary.failed == 0 && summary.deferred == 0)
        #expect(summary.complete)
        await #expect(try store.issue(week)?.status == .sent)
        let recipients = try sink.recipients()
        #expect(recipients.count == 40)
        #expect(Set(recipients) == Set((0..<40).map { "reader\($0)@example.org" }))
        // Each copy is personalised, with its own one-click unsubscribe link.
        let dumps = try sink.messages()
        #expect(dumps.allSatisfy { $0.contains("List-Unsubscribe: <https://news.example.org/unsubscribe/") })
        #expect(dumps.allSatisfy { !$0.contains("%%") })
        #expect(dumps.contains { $0.contains("Hi Reader 0,") })
        // A second run sends nothing, not even to someone who subscribed since.
        _ = try await store.addSubscriber(email: "latecomer@example.org", name: nil, status: .confirmed)
        let again = try await mailer().send(week, through: smtp(sink))
        #expect(again.sent == 0 && again.complete)
        #expect(try sink.recipients().count == 40)
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func aPermanentRejectionIsRecordedWithTheServersReply() async throws {
        try await prepare(subscribers: 5)
        let sink = try SMTPSink(faults: ["-f", "RCPT"])
        let summary = try await mailer().send(week, through: smtp(sink))
        #expect(summary.failed == 5 && summary.sent == 0)
        let replies = try await store.deliveryReplies(week, state: .failed)
        #expect(replies.count == 5)
        #expect(replies.allSatisfy { $0.reply.hasPrefix("5") }, "\(replies)")
        #expect(try sink.recipients().isEmpty)
        #expect(summary.complete)  // nothing left to try
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func temporaryRejectionsAreRetriedThenDeferredToTheNextRun() async throws {
        try await prepare(subscribers: 6)
        do {
            let busy = try SMTPSink(faults: ["-r", "RCPT"])
            let summary = try await mailer(retries: 2).send(week, through: smtp(busy))
            #expect(summary.deferred == 6 && summary.sent == 0 && !summary.complete)
            await #expect(try store.deliveryReplies(week, state: .deferred).allSatisfy { $0.reply.hasPrefix("4") })
            await #expect(try store.issue(week)?.status == .approved)
        }
        let healthy = try SMTPSink()
        let next = try await mailer().send(week, through: smtp(healthy))
        #expect(next.sent == 6 && next.complete)
        #expect(try healthy.recipients().count == 6)
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func aServerThatIsDownStopsTheRunAndMarksNothingSent() async throws {
        try await prepare(subscribers: 8)
        let port = try SMTPSink.freePort()
        let down = SMTPTransport(
            settings: SMTPTransport.Settings(url: "smtp://127.0.0.1:\(port)", allowPlaintext: true))
        await #expect {
            try await mailer().send(week, through: down)
        } throws: { error in
            guard case .serverUnavailable(_, let summary) = error as? DeliveryError else { return false }
            return summary.sent == 0
        }
        let counts = try await store.deliveryCounts(week)
        #expect(counts[.sent] == nil && counts[.sending] == nil && counts[.pending] == 8)
        let sink = try SMTPSink()
        #expect(try await mailer().send(week, through: smtp(sink)).sent == 8)
        #expect(try sink.recipients().count == 8)
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func starttlsIsRequiredUnlessPlaintextIsAllowed() async throws {
        try await prepare(subscribers: 2)
        let sink = try SMTPSink()  // offers no STARTTLS
        let strict = SMTPTransport(settings: SMTPTransport.Settings(url: sink.url))
        await #expect(throws: DeliveryError.self) { try await mailer().send(week, through: strict) }
        #expect(try sink.recipients().isEmpty)
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func limitAndUnsubscribesMidRunAreHonoured() async throws {
        try await prepare(subscribers: 10)
        let sink = try SMTPSink()
        let first = try await mailer(concurrency: 2).send(week, through: smtp(sink), limit: 4)
        #expect(first.sent == 4 && !first.complete)
        let leaving = try await #require(try store.subscriber(email: "reader9@example.org"))
        try await store.setStatus(.unsubscribed, forSubscriber: leaving.id)
        let rest = try await mailer(concurrency: 2).send(week, through: smtp(sink))
        #expect(rest.sent == 5 && rest.skipped == 1 && rest.complete)
        #expect(!(try sink.recipients()).contains("reader9@example.org"))
        #expect(try sink.recipients().count == 9)
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func aDroppedConnectionIsTemporary() async throws {
        try await prepare(subscribers: 3)
        let sink = try SMTPSink(faults: ["-q", "DATA"])  // hangs up, without a word, at DATA
        let summary = try await mailer(retries: 1).send(week, through: smtp(sink))
        #expect(summary.deferred == 3 && summary.sent == 0 && !summary.complete)
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func aServerTooSlowToReplyTimesOutAndIsRetriedLater() async throws {
        try await prepare(subscribers: 1)
        let sink = try SMTPSink(faults: ["-w", "4"])  // four seconds before answering DATA
        var settings = SMTPTransport.Settings(url: sink.url, allowPlaintext: true)
        settings.commandTimeoutSeconds = 1
        let summary = try await mailer(retries: 0).send(week, through: SMTPTransport(settings: settings))
        #expect(summary.deferred == 1 && summary.sent == 0)
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func permanentFailuresMarkASubscriberBounced() async throws {
        try await prepare(subscribers: 2)
        let sink = try SMTPSink(faults: ["-f", "RCPT"])
        _ = try await mailer(bounceAfter: 1).send(week, through: smtp(sink))
        await #expect(try store.subscriberCount(status: .bounced) == 2)
        await #expect(try store.subscriberCount(status: .confirmed) == 0)
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func theRateLimitSpacesMessagesOut() async throws {
        try await prepare(subscribers: 12)
        let sink = try SMTPSink()
        let time = ManualTime()
        let summary = try await mailer(concurrency: 1, perSecond: 10, time: time).send(week, through: smtp(sink))
        #expect(summary.sent == 12)
        // A burst of 10, then one more every 100 ms: two waits of 100 ms, on the clock the test
        // holds, so a slow machine (whose sends take longer) asks for the same waits.
        #expect(time.sleeps.count == 2, "\(time.sleeps)")
        #expect(abs(time.sleeps.reduce(.zero, +).seconds - 0.2) < 1e-6, "\(time.sleeps)")
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func receivedMessagesParseBackWithAnIndependentParser() async throws {
        try await prepare(subscribers: 1)
        let sink = try SMTPSink()
        _ = try await mailer().send(week, through: smtp(sink))
        let dump = try #require(try sink.messages().first)
        let file = try TestPaths.temporaryDirectory().appendingPathComponent("received.eml")
        try Data(dump.utf8).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            """
            import email, email.policy, sys
            m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
            parts = list(m.iter_parts())
            assert m.get_content_type() == "multipart/alternative", m.get_content_type()
            assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
            assert not m.defects and not any(p.defects for p in parts)
            print(parts[0].get_content().replace("\\r\\n", "\\n"), end="")
            """, file.path,
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.hasPrefix("Hi Reader 0,\n\nUnsubscribe: https://news.example.org/unsubscribe/"))
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func aRefusedSenderStopsTheRunInsteadOfFailingEveryone() async throws {
        try await prepare(subscribers: 6)
        let sink = try SMTPSink(faults: ["-f", "MAIL"])  // 5xx to MAIL FROM: the server refuses us
        await #expect(throws: DeliveryError.self) { try await mailer().send(week, through: smtp(sink)) }
        let counts = try await store.deliveryCounts(week)
        #expect(counts[.failed] == nil && counts[.pending] == 6)
        await #expect(try store.issue(week)?.status == .approved)
        await #expect(try store.subscriberCount(status: .confirmed) == 6)
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func noAnswerAfterTheWholeMessageIsNotRetriedSoItCannotArriveTwice() async throws {
        try await prepare(subscribers: 1)
        let sink = try SMTPSink(faults: ["-W", ".:3"])  // stores the message, answers "." three seconds late
        var settings = SMTPTransport.Settings(url: sink.url, allowPlaintext: true)
        settings.commandTimeoutSeconds = 1
        let summary = try await mailer(retries: 2).send(week, through: SMTPTransport(settings: settings))
        #expect(summary.sent == 1 && summary.deferred == 0)
        await #expect(try store.deliveryReplies(week, state: .sent).first?.reply.hasPrefix("unconfirmed") == true)
        try await Task.sleep(for: .seconds(2.5))  // let the sink finish writing what it got
        #expect(try sink.recipients().count <= 1)
    }

    @Test func aServerThatNeverGreetsStopsTheRun() async throws {
        try await prepare(subscribers: 3)
        // A listening socket that never accepts: connections complete, no greeting ever comes.
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        listen(descriptor, 16)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        var settings = SMTPTransport.Settings(
            url: "smtp://127.0.0.1:\(UInt16(bigEndian: address.sin_port))", allowPlaintext: true)
        settings.commandTimeoutSeconds = 1
        await #expect(throws: DeliveryError.self) {
            try await mailer().send(week, through: SMTPTransport(settings: settings))
        }
        await #expect(try store.deliveryCounts(week)[.pending] == 3)
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func manyIdenticalRefusalsInARowTripTheCircuitBreaker() async throws {
        try await prepare(subscribers: 14)
        let sink = try SMTPSink(faults: ["-f", "RCPT"])
        await #expect(throws: DeliveryError.self) { try await mailer(concurrency: 1).send(week, through: smtp(sink)) }
        let counts = try await store.deliveryCounts(week)
        #expect(counts[.failed] == 10 && counts[.pending] == 4)
        await #expect(try store.issue(week)?.status == .approved)
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func aHalfSentIssueCannotBeRebuiltOrSkipped() async throws {
        try await prepare(subscribers: 4)
        let sink = try SMTPSink()
        _ = try await mailer().send(week, through: smtp(sink), limit: 2)
        await #expect(throws: IssueStoreError.sendingStarted(week)) {
            try await store.saveDraft(
                IssueDraft(
                    week: week, subject: "new", html: "h2", text: "t2", manifest: "{}", comparisonIDs: [], hash: "h2"))
        }
        await #expect(throws: IssueStoreError.sendingStarted(week)) { try await store.recordSkipped(week, reason: "x") }
        await #expect(try store.issue(week)?.draftHash == "h1")
    }

    @Test func theFileTransportWritesOneMessagePerRecipient() async throws {
        try await prepare(subscribers: 3)
        let messages = directory.appendingPathComponent("outbox/\(week)/messages")
        let summary = try await mailer().send(week, through: FileTransport(directory: messages.path))
        #expect(summary.sent == 3)
        let files = try FileManager.default.contentsOfDirectory(atPath: messages.path).filter { $0.hasSuffix(".eml") }
        #expect(files.count == 3)
    }

    /// Once `send` returns, no worker thread holds the store: a command that then lets it go
    /// closes it, and SQLite folds its write-ahead log into the file and removes it before the
    /// process exits (`newsletter run` left the log behind about one time in four). Rounds,
    /// since a worker that had only signalled it was done let go a moment later, or not.
    @Test func onceASendReturnsNoWorkerHoldsTheStore() async throws {
        for round in 0..<20 {
            let path = directory.appendingPathComponent("round\(round).sqlite").path
            weak var released: AppDatabase?
            do {
                let store = try AppDatabase.open(path: path)
                released = store
                try await prepare(subscribers: 3, in: store)
                let sender = Mailer(store: store, settings: try mailer().settings, logger: Logger(label: "tests"))
                let messages = directory.appendingPathComponent("round\(round)")
                #expect(try await sender.send(week, through: FileTransport(directory: messages.path)).sent == 3)
            }
            let held = released != nil
            #expect(!held, "round \(round): the store outlived the send")
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "round \(round)")
            if held { return }
        }
    }

    @Test func onlyAnApprovedIssueIsSent() async throws {
        try await store.saveDraft(
            IssueDraft(week: week, subject: "s", html: "h", text: "t", manifest: "{}", comparisonIDs: [], hash: "d"))
        await #expect(throws: DeliveryError.self) {
            try await mailer().send(week, through: FileTransport(directory: directory.path))
        }
    }

    @Test func aTestSendLeavesTheLedgerAlone() async throws {
        try await prepare(subscribers: 2)
        let messages = directory.appendingPathComponent("test-send")
        let outcome = try await mailer().sendTest(
            week, to: try MailAddress("editor@example.org", displayName: "Editor"),
            through: FileTransport(directory: messages.path))
        guard case .sent = outcome else {
            Issue.record("expected sent, got \(outcome)")
            return
        }
        await #expect(try store.deliveryCounts(week).isEmpty)
        let eml = try String(contentsOfFile: messages.appendingPathComponent("test-send.eml").path, encoding: .utf8)
        #expect(
            eml.contains("Subject: " + MIME.encodedWords("[test] Ship or Skip · 2026-W47: Inkwell vs Tallyhoist")[0]))
    }
}

/// Tokens in unsubscribe links: 256 random bits, URL-safe, stored only as a hash.
@Suite struct UnsubscribeTokenTests {
    @Test func tokensAreURLSafeUniqueAndStoredOnlyHashed() async throws {
        let store = try AppDatabase.inMemory()
        let week = try IssueWeek(parsing: "2026-W47")
        try await store.saveDraft(
            IssueDraft(week: week, subject: "s", html: "h", text: "t", manifest: "{}", comparisonIDs: [], hash: "h"))
        for index in 0..<50 {
            _ = try await store.addSubscriber(email: "r\(index)@example.org", name: nil, status: .confirmed)
        }
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        let claims = try await store.claimDeliveries(week, limit: 100, runStarted: Date())
        let tokens = claims.map(\.unsubscribeToken)
        #expect(tokens.count == 50 && Set(tokens).count == 50)
        let urlSafe = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        #expect(tokens.allSatisfy { $0.count == 43 && $0.allSatisfy(urlSafe.contains) })
        // Decodes back to 32 bytes.
        let first = tokens[0].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "="
        #expect(Data(base64Encoded: first)?.count == 32)
    }
}
