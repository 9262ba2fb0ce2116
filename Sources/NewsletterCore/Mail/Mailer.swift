import Foundation
import Logging
import Synchronization

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
public struct Mailer<Store: DeliveryLedger & IssueStore & RelayStore>: Sendable {
    public var store: Store
    public var settings: DeliverySettings
    public var logger: Logger
    /// The clock the rate limits, backoffs and recorded times read.
    public var time: any TimeSource = SystemTime()
    /// What picks a relay by weight (a seeded one in tests).
    public var random: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()

    public init(store: Store, settings: DeliverySettings, logger: Logger) {
        self.store = store
        self.settings = settings
        self.logger = logger
    }

    /// Sends through one transport, as one relay with `concurrency` connections.
    public func send(
        _ week: IssueWeek, through transport: some MailTransport, limit: Int? = nil,
        observer: (any DeliveryObserver)? = nil
    ) async throws -> DeliverySummary {
        try await send(
            week, through: [Relay(name: transport.name, transport: transport, connections: settings.concurrency)],
            limit: limit, observer: observer)
    }

    /// Sends through `relays`: spread by weight among the best priority that is up, each failing
    /// relay marked down while the others go on; the run stops once every relay is down.
    public func send(
        _ week: IssueWeek, through relays: [Relay], limit: Int? = nil, observer: (any DeliveryObserver)? = nil
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
                "week": "\(week)", "relays": "\(relays.map(\.name).joined(separator: ","))", "open": "\(open)",
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
        let pool = RelayPool(relays: relays, time: time, backoff: settings.relayBackoff, random: random)
        await ThreadExecutor.run(count: pool.totalConnections) { _ in
            // Each worker keeps one store connection for the send (PostgreSQL: no pool churn).
            await store.withConnectionHeld {
                await work(
                    week: week, issue: issue, pool: pool, shared: shared, buckets: buckets, committer: committer,
                    observer: observer)
            }
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
        week: IssueWeek, issue: IssueRecord, pool: RelayPool, shared: SharedRun, buckets: [PacedBucket],
        committer: LedgerCommitter<Store>, observer: (any DeliveryObserver)?
    ) async {
        var outcomes = OutcomePipeline(committer: committer)
        // Each worker encodes the issue's variants once for itself: nothing shared per message.
        var encoders = IssueEncoders(settings: settings)
        batches: while true {
            let connection: RelayConnection
            switch await pool.checkout(unless: { shared.stopped }) {
            case .connection(let checkedOut): connection = checkedOut
            case .stopped: break batches
            case .allDown(let reason):
                shared.fail(.server(reason))
                break batches
            }
            let relay = pool.relays[connection.relay]
            let end = await deliverBatch(
                week: week, issue: issue, relay: relay, connection: connection, pool: pool, shared: shared,
                buckets: buckets, encoders: &encoders, outcomes: &outcomes, observer: observer)
            switch end {
            case .more: pool.checkin(connection)
            case .done:
                pool.checkin(connection)
                break batches
            case .relayFailed(let reason):
                let wait = pool.failed(connection, reason: reason)
                logger.warning(
                    "relay down, its recipients in flight back to pending",
                    metadata: ["relay": "\(relay.name)", "reason": "\(reason)", "retry_in_seconds": "\(wait.seconds)"])
                await recordHealth(of: connection.relay, in: pool)
            }
        }
        // The last outcome handed over; a row it could not record stays `sending`.
        do { try await outcomes.awaitCommitted() } catch {
            shared.fail(.store(LedgerWriteFailed.reason(error.underlying)))
        }
        pool.closeIdle()
    }

    private enum BatchEnd {
        /// The batch is done; there may be more.
        case more
        /// Nothing is left for this worker, or the run stopped.
        case done
        /// The relay failed (refused, timed out, 421, a 4xx to MAIL FROM): the rest of the batch
        /// is back to pending for the others.
        case relayFailed(String)
    }

    /// Takes what the list's and the relay's buckets let through now, claims as many rows and
    /// delivers them through `connection`.
    private func deliverBatch(
        week: IssueWeek, issue: IssueRecord, relay: Relay, connection: RelayConnection, pool: RelayPool,
        shared: SharedRun, buckets: [PacedBucket], encoders: inout IssueEncoders, outcomes: inout OutcomePipeline<Store>,
        observer: (any DeliveryObserver)?
    ) async -> BatchEnd {
        guard !shared.stopped else { return .done }
        var allowance = shared.take(settings.batchSize)
        guard allowance > 0 else { return .done }
        let limits = [
            settings.listLimit.map { ($0, "list", "the list-wide send limit") },
            relay.sendLimit.map { ($0, relay.bucketName, "relay \(relay.name)'s send limit") },
        ].compactMap { $0 }
        for (limit, bucket, what) in limits {
            // As many recipients as the bucket lets through now, a chunk at a time.
            let granted: Int
            do {
                granted = try await takeSendTokens(
                    min(allowance, Int(limit.burst)), limit: limit, bucket: bucket, shared: shared)
            } catch {
                shared.giveBack(allowance)
                shared.fail(.store("\(what) could not be kept in the store: \(error)"))
                return .done
            }
            shared.giveBack(allowance - granted)
            allowance = granted
            guard allowance > 0 else { return .done }
        }
        let claims: [DeliveryClaim]
        do {
            claims = try await store.claimDeliveries(week, limit: allowance, runStarted: shared.started)
        } catch {
            shared.fail(.store("the ledger could not be read: \(error)"))
            return .done
        }
        shared.giveBack(allowance - claims.count)
        if claims.isEmpty { return .done }
        for (index, claim) in claims.enumerated() {
            let unsent = { claims[index...].map(\.subscriber.id) }
            if shared.stopped {
                try? await store.releaseClaims(week, subscriberIDs: unsent())
                return .done
            }
            do {
                try await deliver(
                    claim, week: week, issue: issue, encoders: &encoders, outcomes: &outcomes, relay: relay,
                    connection: connection, pool: pool, shared: shared, buckets: buckets, observer: observer)
            } catch let error as EarlierLedgerWriteFailed {
                // The server has the previous message but the ledger could not say so: that
                // row stays `sending` (the next run counts it as in flight); this one was not
                // sent and goes back with the rest.
                shared.fail(.store(LedgerWriteFailed.reason(error.underlying)))
                try? await store.releaseClaims(week, subscriberIDs: unsent())
                return .done
            } catch let unavailable as TransportUnavailable {
                // The relay's failure, not these recipients': none of them went out through it.
                try? await store.releaseClaims(week, subscriberIDs: unsent())
                return .relayFailed(unavailable.reason)
            } catch let lapsed as LeaseExpired {
                // Only the rows still this sender's go back; the others are their new owner's.
                shared.fail(.store(lapsed.description))
                try? await store.releaseClaims(week, subscriberIDs: unsent())
                return .done
            } catch {
                // recordFailed or recordSkipped threw: the store's failure, not the server's.
                shared.fail(.store("the ledger could not record an outcome: \(error)"))
                try? await store.releaseClaims(week, subscriberIDs: unsent())
                return .done
            }
        }
        return .more
    }

    private func deliver(
        _ claim: DeliveryClaim, week: IssueWeek, issue: IssueRecord, encoders: inout IssueEncoders,
        outcomes: inout OutcomePipeline<Store>, relay: Relay, connection: RelayConnection, pool: RelayPool,
        shared: SharedRun, buckets: [PacedBucket], observer: (any DeliveryObserver)?
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
            var personalization = Personalization(
                name: subscriber.name, unsubscribeURL: "\(settings.publicURL)/unsubscribe/\(claim.unsubscribeToken)",
                preferencesURL: "\(settings.publicURL)/preferences/\(claim.unsubscribeToken)")
            if let key = settings.clickReaderKey {
                personalization.clickReader = "/" + key.token(subscriberID: subscriber.id, week: week)
            }
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
                encoded.bytes, from: envelopeFrom, to: address.address, reference: "\(subscriber.id)",
                session: try connection.sessionForNextMessage(), relay: relay.name, buckets: buckets)
            // Transmitted whole and never confirmed: the relay went silent or died under it (a
            // timeout is a relay failing). With another relay up, the message goes back to
            // pending for it rather than count as sent: it may arrive twice (it was in flight),
            // but is never lost with a dead relay. With none, it counts as sent, unconfirmed.
            if case .sent(let reply) = outcome, reply.hasPrefix(SMTPTransport.unconfirmed),
                pool.anotherRelayIsUp(besides: connection.relay)
            {
                throw TransportUnavailable(reason: "\(relay.name): \(reply)")
            }
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
            if pool.accepted(through: connection) { await recordHealth(of: connection.relay, in: pool) }
            outcomes.submit(
                .sent(subscriberID: subscriber.id, messageID: messageID, reply: reply, relay: relay.name), then: counted)
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

    /// Waits until `bucket` grants at least one of `wanted` tokens (or the run stops).
    private func takeSendTokens(_ wanted: Int, limit: ListSendLimit, bucket: String, shared: SharedRun) async throws
        -> Int
    {
        while !shared.stopped {
            let granted = try await store.takeSendTokens(wanted, limit: limit, bucket: bucket, at: time.now())
            if granted > 0 { return granted }
            time.sleep(for: limit.retryDelay)
        }
        return 0
    }

    /// Stores how a relay stands now that it failed or came back, for `status` and `/metrics`;
    /// a store that cannot take it does not stop the send.
    private func recordHealth(of relay: Int, in pool: RelayPool) async {
        let record = pool.record(relay)
        do { try await store.recordRelayHealth(record) } catch {
            logger.warning(
                "could not record a relay's health", metadata: ["relay": "\(record.name)", "error": "\(error)"])
        }
    }

    /// Identical permanent failures in a row that stop a run.
    static var circuitBreaker: Int { 10 }

    private func sendWithRetries(
        _ bytes: [UInt8], from envelopeFrom: String, to recipient: String, reference: String,
        session: any MailSession, relay: String, buckets: [PacedBucket]
    ) throws(TransportUnavailable) -> SendOutcome {
        let backoff = Backoff(base: settings.retryBaseDelay, cap: settings.retryMaxDelay, jitter: 0.5)
        var attempt = 0
        while true {
            for bucket in buckets { bucket.acquire() }
            let outcome = try session.send(bytes, from: envelopeFrom, to: recipient, reference: reference)
            // 421 is the server closing the channel (RFC 5321 4.2.3), whatever command it answers:
            // the relay's failure, not this recipient's.
            if case .transient(let reply) = outcome, reply.hasPrefix("421") {
                throw TransportUnavailable(reason: "\(relay): \(reply)")
            }
            guard case .transient = outcome, attempt < settings.retries else { return outcome }
            attempt += 1
            time.sleep(for: backoff.delay(beforeRetry: attempt))
        }
    }
}
