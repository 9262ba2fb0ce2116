import Foundation
import Logging
import Synchronization

/// How an issue is sent.
public struct DeliverySettings: Sendable {
    public var from: MailAddress
    /// `List-Id`, e.g. `weekly.shiporskip.example`.
    public var listID: String
    /// Where `serve` answers unsubscribe and preference links.
    public var publicURL: String
    public var unsubscribeMailto: String?
    public var feedbackID: String?
    /// Concurrent SMTP connections.
    public var concurrency = 4
    /// `mail.messages_per_second` and `_per_hour`: this process's own pace (the relay quota of
    /// the host it sends through); every sender on a shared database has its own.
    public var messagesPerSecond: Double?
    public var messagesPerHour: Double?
    /// `mail.list_messages_per_second`: the whole list's pace, shared by all its senders
    /// through the store (`ListSendLimit`).
    public var listLimit: ListSendLimit?
    /// Retries of a temporary failure within one run, before the row is deferred to the next.
    public var retries = 3
    public var retryBaseDelay: Duration = .milliseconds(500)
    public var retryMaxDelay: Duration = .seconds(8)
    /// Soft bounces within `bounceWindow` after which a subscriber is marked bounced.
    public var bounceAfter = 3
    public var bounceWindow: TimeInterval = 30 * 86400
    /// `mail.bounce_address`: each copy's envelope sender becomes `bounces+<token>@…` (VERP);
    /// nil keeps `from` as the envelope sender.
    public var verp: VERPAddress?
    /// How refusals at send time count, the same rule as the bounce mailbox's.
    public var bounceRule: BounceRule { BounceRule(softBounceLimit: bounceAfter, softBounceWindow: bounceWindow) }
    /// Rows claimed from the ledger at a time, per worker.
    public var batchSize = 25
    /// Resolves subscribers' topic choices to the frozen variant they get.
    public var topics = TopicAliases()

    public init(from: MailAddress, listID: String, publicURL: String) {
        self.from = from
        self.listID = listID
        self.publicURL = publicURL
    }
}

/// What one run did.
public struct DeliverySummary: Sendable, Equatable {
    public var sent = 0
    public var deferred = 0
    public var failed = 0
    /// Rows of subscribers who left before their copy went out, or whose topics have no comparison.
    public var skipped = 0
    /// Rows a crashed run had left in flight, sent again by this one.
    public var resumed = 0
    /// The week's ledger after the run.
    public var ledger: [DeliveryState: Int] = [:]
    /// True when nothing is left pending or deferred: the issue is sent.
    public var complete = false
    /// Other senders still live when this one finished (a shared database): the rows still
    /// `sending` are theirs.
    public var otherSenders = 0

    /// This sender is done and the issue is not: nothing waits for a next run, the rest is in
    /// other live senders' hands.
    public var leftToOtherSenders: Bool {
        !complete && otherSenders > 0 && (ledger[.pending] ?? 0) == 0 && (ledger[.deferred] ?? 0) == 0
    }

    static func isComplete(_ ledger: [DeliveryState: Int]) -> Bool {
        (ledger[.pending] ?? 0) + (ledger[.deferred] ?? 0) + (ledger[.sending] ?? 0) == 0
    }
}

public enum DeliveryError: Error, CustomStringConvertible {
    case notApproved(IssueWeek, IssueStatus?)
    case serverUnavailable(String, DeliverySummary)
    /// The ledger could not be read or could not record an outcome (a full disk, a database that
    /// went away): the run stopped, and what it had recorded stands.
    case storeFailed(String, DeliverySummary)

    public var description: String {
        switch self {
        case .notApproved(let week, let status):
            "\(week) is \(status.map { "a \($0.rawValue) issue" } ?? "not built"): only an approved issue is sent. Preview and approve it first (`newsletter approve --week \(week)`)."
        case .serverUnavailable(let reason, let summary):
            "the mail server failed, so the run stopped: \(reason). \(summary.sent) sent before that; everyone else is still pending for the next run."
        case .storeFailed(let reason, let summary):
            "the store failed, so the run stopped: \(reason). \(summary.sent) sent and recorded before that; everyone else is still pending. Free space on the store's disk (or bring its database back) and run again."
        }
    }

    /// What a command that sends exits with.
    public var exitStatus: ExitStatus {
        switch self {
        case .notApproved: .notApproved
        case .serverUnavailable: .mailServerUnavailable
        case .storeFailed: .storeError
        }
    }
}

/// Hears about each delivered (or not) message.
public protocol DeliveryObserver: Sendable {
    func started(total: Int)
    func delivered(_ email: String, outcome: SendOutcome)
    /// A claimed recipient who gets no copy of this issue (no comparison in their topics).
    func skipped(_ email: String, reason: String)
}

extension DeliveryObserver {
    public func skipped(_ email: String, reason: String) {}
}

/// Sends an approved issue to every confirmed subscriber exactly once, resumably.
///
/// Every recipient has a ledger row; workers claim rows in small batches (marking them
/// `sending`), send each through their own transport session, and hand each outcome to the
/// `LedgerCommitter`, whose one committing task records the connections' outcomes in groups; a
/// worker transmits its next message only once its last outcome is recorded. Each worker is a
/// task on a thread of its own (`ThreadExecutor`): its SMTP transfers block in libcurl, and must
/// not hold up the shared pool. A crash leaves at most the claimed rows unrecorded, and only one
/// message per connection can go out twice: the one in flight.
public struct Mailer<Store: DeliveryLedger & IssueStore>: Sendable {
    public var store: Store
    public var settings: DeliverySettings
    public var logger: Logger
    /// The clock the rate limits, backoffs and recorded times read.
    public var time: any TimeSource = SystemTime()

    public init(store: Store, settings: DeliverySettings, logger: Logger) {
        self.store = store
        self.settings = settings
        self.logger = logger
    }

    public func send(
        _ week: IssueWeek, through transport: some MailTransport, limit: Int? = nil,
        observer: (any DeliveryObserver)? = nil
    ) async throws -> DeliverySummary {
        let issue = try await approvedIssue(week)
        // Once an issue is sent, people who subscribed since get the next one, not this one.
        let prepared = try await ledger("the ledger could not be prepared", DeliverySummary()) {
            try await store.prepareDelivery(week, addSubscribers: issue.status != .sent)
        }
        var summary = DeliverySummary(resumed: prepared.resumed)
        let before = try await ledger("the ledger could not be read", summary) { try await store.deliveryCounts(week) }
        let open = (before[.pending] ?? 0) + (before[.deferred] ?? 0)
        observer?.started(total: limit.map { min($0, open) } ?? open)
        logger.info(
            "delivery started",
            metadata: [
                "week": "\(week)", "transport": "\(transport.name)", "open": "\(open)",
                "resumed": "\(prepared.resumed)",
            ])

        let shared = SharedRun(limit: limit, started: time.now())
        let buckets = [
            settings.messagesPerSecond.map { PacedBucket(perSecond: $0, burst: max(1, $0), time: time) },
            settings.messagesPerHour.map { PacedBucket(perSecond: $0 / 3600, burst: max(1, min($0, 60)), time: time) },
        ].compactMap { $0 }
        // One thread per connection, whatever the number of cores: the workers mostly wait on
        // the network, in blocking transfers. The committing task has a thread too while the
        // ledger's writes block. Every thread is joined before this goes on, so once the send
        // returns none holds the store (the caller may close it and exit).
        let committer = LedgerCommitter(ledger: store, week: week, time: time)
        async let committed: Void = ThreadExecutor.withOwnThread { await committer.drain() }
        await ThreadExecutor.run(count: max(1, settings.concurrency)) { _ in
            await work(
                week: week, issue: issue, transport: transport, shared: shared, buckets: buckets,
                committer: committer, observer: observer)
        }
        committer.close()
        await committed
        // This process holds no rows any more: other senders and `status` stop counting it. A
        // failure here only leaves it listed until its lease runs out.
        var signedOff = true
        do {
            try await store.finishDelivery(week)
        } catch {
            signedOff = false
            logger.warning("could not sign off as a sender", metadata: ["week": "\(week)", "error": "\(error)"])
        }

        let tallies = shared.tallies
        summary.sent = tallies.sent
        summary.deferred = tallies.deferred
        summary.failed = tallies.failed
        let failure = shared.failure
        do {
            summary.ledger = try await store.deliveryCounts(week)
        } catch {
            // The run's own reason, if it stopped, says more than this read that followed it.
            if failure == nil { throw DeliveryError.storeFailed("the ledger could not be read: \(error)", summary) }
        }
        summary.skipped = summary.ledger[.skipped] ?? 0
        switch failure {
        case .server(let reason): throw DeliveryError.serverUnavailable(reason, summary)
        case .store(let reason): throw DeliveryError.storeFailed(reason, summary)
        case nil: break
        }
        summary.complete = DeliverySummary.isComplete(summary.ledger)
        // A sender that could not sign off is still listed as live, and would count itself.
        if !summary.complete && store.admitsConcurrentSenders && signedOff {
            // Rows still `sending` may be live senders' work. Who is live is read first and the
            // ledger after: a sender that finishes between the two reads has recorded its rows
            // by then, so this one never reports as unfinished what is in fact all sent.
            (summary.otherSenders, summary.ledger) = try await ledger("the other senders could not be read", summary) {
                await (try store.liveSenders(week, at: time.now()).count, try store.deliveryCounts(week))
            }
            summary.skipped = summary.ledger[.skipped] ?? 0
            summary.complete = DeliverySummary.isComplete(summary.ledger)
        }
        if summary.complete {
            try await ledger("every recipient is recorded, but the issue could not be marked sent", summary) {
                try await store.markSent(week, at: time.now())
            }
        }
        logger.info(
            "delivery finished",
            metadata: [
                "week": "\(week)", "sent": "\(summary.sent)", "deferred": "\(summary.deferred)",
                "failed": "\(summary.failed)",
            ])
        return summary
    }

    /// A test send to one address: the approved issue as a subscriber would get it, with
    /// links that lead nowhere; the ledger is left alone. It runs on a thread of its own, store
    /// read and transfer: both block, and a caller may be on the shared pool or an event loop.
    public func sendTest(
        _ week: IssueWeek, to address: MailAddress, through transport: some MailTransport,
        subjectPrefix: String = "[test] "
    ) async throws -> SendOutcome {
        try await ThreadExecutor.withOwnThread {
            let issue = try await approvedIssue(week, allowDraft: true)
            let personalization = Personalization(
                name: address.displayName, unsubscribeURL: "\(settings.publicURL)/unsubscribe/TEST-SEND",
                preferencesURL: "\(settings.publicURL)/preferences/TEST-SEND")
            let session = try transport.makeSession()
            defer { session.close() }
            let (bytes, _) = try message(
                FrozenContent(issue), to: address, personalization: personalization, subjectPrefix: subjectPrefix
            ).encoded()
            return try session.send(bytes, from: settings.from.address, to: address.address, reference: "test-send")
        }
    }

    /// Runs a store call of the send; its failure stops the send as the store's, not the server's.
    private func ledger<T>(
        _ what: String, _ summary: DeliverySummary, _ body: () async throws -> T
    ) async throws(DeliveryError) -> T {
        do { return try await body() } catch { throw .storeFailed("\(what): \(error)", summary) }
    }

    private func approvedIssue(_ week: IssueWeek, allowDraft: Bool = false) async throws -> IssueRecord {
        guard let issue = try await store.issue(week), issue.html != nil, issue.text != nil else {
            throw DeliveryError.notApproved(week, nil)
        }
        let approved = issue.approvedHash != nil && issue.approvedHash == issue.draftHash
        guard approved || allowDraft else { throw DeliveryError.notApproved(week, issue.status) }
        return issue
    }

    private func message(
        _ issue: FrozenContent, to address: MailAddress, personalization: Personalization, subjectPrefix: String = "",
        format: Subscriber.Format = .html
    ) -> OutgoingMessage {
        var message = OutgoingMessage(
            from: settings.from, to: address, subject: subjectPrefix + issue.subject,
            text: personalization.fill(issue.text, html: false),
            html: format == .html ? personalization.fill(issue.html, html: true) : nil,
            listID: settings.listID, unsubscribeURL: personalization.unsubscribeURL)
        message.unsubscribeMailto = settings.unsubscribeMailto
        message.feedbackID = settings.feedbackID
        return message
    }

    private func work(
        week: IssueWeek, issue: IssueRecord, transport: some MailTransport, shared: SharedRun, buckets: [PacedBucket],
        committer: LedgerCommitter<Store>, observer: (any DeliveryObserver)?
    ) async {
        let session: any MailSession
        do {
            session = try transport.makeSession()
        } catch {
            shared.fail(.server(error.description))
            return
        }
        defer { session.close() }
        var outcomes = OutcomePipeline(committer: committer)
        await deliverBatches(
            week: week, issue: issue, session: session, shared: shared, buckets: buckets, outcomes: &outcomes,
            observer: observer)
        // The last outcome handed over; a row it could not record stays `sending`.
        do { try await outcomes.awaitCommitted() } catch {
            shared.fail(.store(LedgerWriteFailed.reason(error.underlying)))
        }
    }

    /// Claims rows a batch at a time and delivers them, until none is left or the run stops.
    private func deliverBatches(
        week: IssueWeek, issue: IssueRecord, session: any MailSession, shared: SharedRun, buckets: [PacedBucket],
        outcomes: inout OutcomePipeline<Store>, observer: (any DeliveryObserver)?
    ) async {
        // Each worker encodes the issue's variants once for itself: nothing shared per message.
        var encoders = IssueEncoders(settings: settings)
        while !shared.stopped {
            var allowance = shared.take(settings.batchSize)
            guard allowance > 0 else { return }
            if let limit = settings.listLimit {
                // As many recipients as the list's bucket lets through now, a chunk at a time.
                let granted: Int
                do {
                    granted = try await takeListTokens(min(allowance, Int(limit.burst)), limit: limit, shared: shared)
                } catch {
                    shared.giveBack(allowance)
                    shared.fail(.store("the list-wide send limit could not be kept in the store: \(error)"))
                    return
                }
                shared.giveBack(allowance - granted)
                allowance = granted
                guard allowance > 0 else { return }
            }
            let claims: [DeliveryClaim]
            do {
                claims = try await store.claimDeliveries(week, limit: allowance, runStarted: shared.started)
            } catch {
                shared.fail(.store("the ledger could not be read: \(error)"))
                return
            }
            shared.giveBack(allowance - claims.count)
            if claims.isEmpty { return }
            for (index, claim) in claims.enumerated() {
                if shared.stopped {
                    try? await store.releaseClaims(week, subscriberIDs: claims[index...].map(\.subscriber.id))
                    return
                }
                do {
                    try await deliver(
                        claim, week: week, issue: issue, encoders: &encoders, outcomes: &outcomes, session: session,
                        shared: shared, buckets: buckets, observer: observer)
                } catch let error as EarlierLedgerWriteFailed {
                    // The server has the previous message but the ledger could not say so: that
                    // row stays `sending` (the next run counts it as in flight); this one was not
                    // sent and goes back with the rest.
                    shared.fail(.store(LedgerWriteFailed.reason(error.underlying)))
                    try? await store.releaseClaims(week, subscriberIDs: claims[index...].map(\.subscriber.id))
                    return
                } catch let unavailable as TransportUnavailable {
                    shared.fail(.server(unavailable.reason))
                    try? await store.releaseClaims(week, subscriberIDs: claims[index...].map(\.subscriber.id))
                    return
                } catch let lapsed as LeaseExpired {
                    // Only the rows still this sender's go back; the others are their new owner's.
                    shared.fail(.store(lapsed.description))
                    try? await store.releaseClaims(week, subscriberIDs: claims[index...].map(\.subscriber.id))
                    return
                } catch {
                    // recordFailed or recordSkipped threw: the store's failure, not the server's.
                    shared.fail(.store("the ledger could not record an outcome: \(error)"))
                    try? await store.releaseClaims(week, subscriberIDs: claims[index...].map(\.subscriber.id))
                    return
                }
            }
        }
    }

    private func deliver(
        _ claim: DeliveryClaim, week: IssueWeek, issue: IssueRecord, encoders: inout IssueEncoders,
        outcomes: inout OutcomePipeline<Store>, session: any MailSession, shared: SharedRun, buckets: [PacedBucket],
        observer: (any DeliveryObserver)?
    ) async throws {
        let subscriber = claim.subscriber
        let content: FrozenContent
        switch FrozenContent.of(issue, for: claim.topics.resolved(settings.topics)) {
        case .success(let frozen): content = frozen
        case .failure(let skip):
            try await store.recordSkipped(week, subscriberID: subscriber.id, reason: skip.reason)
            observer?.skipped(subscriber.email, reason: skip.reason)
            return
        }
        let outcome: SendOutcome
        let messageID: String
        do {
            let address = try MailAddress(subscriber.email, displayName: subscriber.name)
            let personalization = Personalization(
                name: subscriber.name, unsubscribeURL: "\(settings.publicURL)/unsubscribe/\(claim.unsubscribeToken)",
                preferencesURL: "\(settings.publicURL)/preferences/\(claim.unsubscribeToken)")
            let encoded = try encoders.encoder(for: content).message(
                to: address, personalization: personalization, includeHTML: subscriber.format == .html,
                date: time.now())
            messageID = encoded.messageID
            // Nothing goes on the wire while the previous message's outcome is unrecorded.
            do { try await outcomes.awaitCommitted() } catch {
                throw EarlierLedgerWriteFailed(underlying: error.underlying)
            }
            // A sender that was stopped past its lease may no longer own this recipient.
            try await store.ensureClaimsHeld(week)
            let envelopeFrom = settings.verp.map { $0.address(token: claim.envelopeToken) } ?? settings.from.address
            outcome = try sendWithRetries(
                encoded.bytes, from: envelopeFrom, to: address.address, reference: "\(subscriber.id)", session: session,
                buckets: buckets)
        } catch let error as MailError {
            // A stored address or name that cannot go into a message: permanent for this recipient.
            // A bad address is a hard bounce (5.1.3, as a receiver would say); a name that cannot
            // go into a header is the message's fault (5.6.0), not the address's.
            let status = if case .invalidAddress = error { "5.1.3" } else { "5.6.0" }
            try await store.recordFailed(
                week, subscriberID: subscriber.id, reply: "refused locally: \(error)",
                refusal: BounceEvidence(status: status, diagnostic: "refused locally: \(error)"),
                rule: settings.bounceRule, at: time.now())
            shared.count(.permanent(reply: ""))
            observer?.delivered(subscriber.email, outcome: .permanent(reply: "\(error)"))
            return
        }
        // A sent or deferred message counts once its outcome is in the ledger, not before: a
        // message the ledger could not record is not reported as sent (its row stays `sending`).
        let counted = { [email = subscriber.email] in
            shared.count(outcome)
            observer?.delivered(email, outcome: outcome)
        }
        switch outcome {
        case .sent(let reply):
            outcomes.submit(.sent(subscriberID: subscriber.id, messageID: messageID, reply: reply), then: counted)
        case .transient(let reply):
            outcomes.submit(.deferred(subscriberID: subscriber.id, reply: reply), then: counted)
        case .permanent(let reply):
            try await store.recordFailed(
                week, subscriberID: subscriber.id, reply: reply, refusal: BounceEvidence(smtpReply: reply),
                rule: settings.bounceRule, at: time.now())
            logger.warning("permanent failure", metadata: ["email": "\(subscriber.email)", "reply": "\(reply)"])
            counted()
        }
        if case .permanent(let reply) = outcome, shared.repeatedPermanentFailures(reply) >= Self.circuitBreaker {
            // The same refusal for many recipients in a row is the server refusing the message or
            // us, not these addresses: stop before the whole list is marked failed.
            throw TransportUnavailable(
                reason: "\(Self.circuitBreaker) recipients in a row were refused with \(reply.prefix(3)): \(reply)")
        }
    }

    /// Waits until the list's bucket grants at least one of `wanted` tokens (or the run stops).
    private func takeListTokens(_ wanted: Int, limit: ListSendLimit, shared: SharedRun) async throws -> Int {
        while !shared.stopped {
            let granted = try await store.takeListSendTokens(wanted, limit: limit, at: time.now())
            if granted > 0 { return granted }
            time.sleep(for: limit.retryDelay)
        }
        return 0
    }

    /// Identical permanent failures in a row that stop a run.
    static var circuitBreaker: Int { 10 }

    private func sendWithRetries(
        _ bytes: [UInt8], from envelopeFrom: String, to recipient: String, reference: String,
        session: any MailSession, buckets: [PacedBucket]
    ) throws(TransportUnavailable) -> SendOutcome {
        let backoff = Backoff(base: settings.retryBaseDelay, cap: settings.retryMaxDelay, jitter: 0.5)
        var attempt = 0
        while true {
            for bucket in buckets { bucket.acquire() }
            let outcome = try session.send(bytes, from: envelopeFrom, to: recipient, reference: reference)
            guard case .transient = outcome, attempt < settings.retries else { return outcome }
            attempt += 1
            time.sleep(for: backoff.delay(beforeRetry: attempt))
        }
    }
}

/// One worker's encoders, one per frozen variant it has met (usually one).
struct IssueEncoders {
    let settings: DeliverySettings
    private var made: [(content: FrozenContent, encoder: IssueEncoder)] = []

    init(settings: DeliverySettings) {
        self.settings = settings
    }

    mutating func encoder(for content: FrozenContent) -> IssueEncoder {
        // The variants' strings come from one stored record, so comparing them is cheap.
        if let found = made.first(where: {
            $0.content.subject == content.subject && $0.content.html == content.html && $0.content.text == content.text
        }) {
            return found.encoder
        }
        let encoder = IssueEncoder(
            from: settings.from, subject: content.subject, text: content.text, html: content.html,
            listID: settings.listID, unsubscribeMailto: settings.unsubscribeMailto, feedbackID: settings.feedbackID)
        made.append((content, encoder))
        return encoder
    }
}

struct LedgerWriteFailed: Error {
    var underlying: String

    /// Why the run stopped: the server has the message, the ledger does not say so.
    static func reason(_ underlying: String) -> String {
        "the ledger could not record a delivery (\(underlying)); the message the server took stays in flight and the next run sends it again"
    }
}

/// The previous message's outcome could not be recorded, found before sending the next one.
struct EarlierLedgerWriteFailed: Error {
    var underlying: String
}

/// Why a run stopped early: whose failure it was decides what the run reports (and its exit status).
enum RunStop: Sendable, Equatable {
    case server(String)
    case store(String)
}

/// State the workers of one run share.
final class SharedRun: Sendable {
    struct Tallies {
        var sent = 0
        var deferred = 0
        var failed = 0
    }

    private struct State {
        var remaining: Int?
        var failure: RunStop?
        var tallies = Tallies()
        var lastPermanentCode: Substring = ""
        var permanentRun = 0
    }

    private let state: Mutex<State>
    let started: Date

    init(limit: Int?, started: Date) {
        state = Mutex(State(remaining: limit))
        self.started = started
    }

    var stopped: Bool { state.withLock { $0.failure != nil } }
    var failure: RunStop? { state.withLock { $0.failure } }
    var tallies: Tallies { state.withLock { $0.tallies } }

    func fail(_ reason: RunStop) {
        state.withLock { if $0.failure == nil { $0.failure = reason } }
    }

    /// Up to `wanted` more messages under `--limit`.
    func take(_ wanted: Int) -> Int {
        state.withLock {
            guard let remaining = $0.remaining else { return wanted }
            let granted = min(wanted, remaining)
            $0.remaining = remaining - granted
            return granted
        }
    }

    func giveBack(_ unused: Int) {
        guard unused > 0 else { return }
        state.withLock { if let remaining = $0.remaining { $0.remaining = remaining + unused } }
    }

    func count(_ outcome: SendOutcome) {
        state.withLock {
            switch outcome {
            case .sent:
                $0.tallies.sent += 1
                $0.permanentRun = 0
            case .transient: $0.tallies.deferred += 1
            case .permanent: $0.tallies.failed += 1
            }
        }
    }

    /// How many permanent failures in a row (across workers) have had this reply's code.
    func repeatedPermanentFailures(_ reply: String) -> Int {
        state.withLock {
            let code = reply.prefix(3)
            $0.permanentRun = code == $0.lastPermanentCode ? $0.permanentRun + 1 : 1
            $0.lastPermanentCode = code
            return $0.permanentRun
        }
    }
}
