import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Sends the mail the endpoint owes (signup confirmations, welcomes) in the background, from
/// the queue in the store, through the same templates, message builder and transport as the
/// digest.
///
/// The HTTP routes only add a row and call ``Wakeup/signal()``: they never wait on SMTP. A row
/// is marked sent only after the server accepted it; a refused connection or a 4xx leaves it
/// queued with a growing delay, so a failing SMTP server delays these mails but cannot lose
/// them. A crash mid-send means one retry after the claim's lease, never a lost mail. A clean
/// stop lets the mail in hand finish and be recorded, and hands the rest of its claim back.
public struct EndpointMailQueue<Store: SubscriberEndpointStore>: Service {
    public var store: Store
    public var transport: any MailTransport
    public var templates: TemplateSet
    public var delivery: DeliverySettings
    public var issue: IssueSettings
    public var policy: SignupPolicy
    public var logger: Logger
    public var wakeup: Wakeup
    /// How often the queue is looked at when nobody signals (retries fall due on their own).
    public var pollInterval: Duration = .seconds(5)
    /// Transient failures are retried with a doubling delay up to this, for `giveUpAfter`.
    public var maxRetryDelay: TimeInterval = 3600
    public var giveUpAfter: TimeInterval = 3 * 24 * 3600
    var metrics: EndpointMetrics?

    public init(
        store: Store, transport: any MailTransport, templates: TemplateSet, delivery: DeliverySettings,
        issue: IssueSettings, policy: SignupPolicy, logger: Logger, wakeup: Wakeup, metrics: EndpointMetrics? = nil
    ) {
        self.store = store
        self.transport = transport
        self.templates = templates
        self.delivery = delivery
        self.issue = issue
        self.policy = policy
        self.logger = logger
        self.wakeup = wakeup
        self.metrics = metrics
    }

    public func run() async throws {
        // Not cancelled on a graceful shutdown, only asked to stop: a cancelled task's store
        // calls fail, so a mail the server had just accepted would go unrecorded and be sent
        // again once its lease ran out.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            _ = await drain()
            await cancelWhenGracefulShutdown { await wakeup.wait(upTo: pollInterval) }
        }
    }

    /// Sends every mail due now; returns how many were accepted by the server.
    @discardableResult
    public func drain(now: @escaping @Sendable () -> Date = Date.init) async -> Int {
        // libcurl blocks for as long as a server's timeouts: on a thread of the queue's own, off
        // the cooperative pool, which the store's awaits share.
        let this = self
        return await ThreadExecutor.withOwnThread { await this.drainBlocking(now: now) }
    }

    func drainBlocking(now: () -> Date) async -> Int {
        var accepted = 0
        var session: (any MailSession)?
        defer { session?.close() }
        while true {
            let mails: [EndpointMail]
            do {
                mails = try await store.claimEndpointMail(limit: 20, at: now(), lease: 600)
            } catch {
                // A stop (the server could not start, or a hard stop) cancels the read: nothing
                // was claimed, and it is not an error to report.
                if !Task.isCancelled {
                    logger.error("the endpoint mail queue could not be read", metadata: ["error": "\(error)"])
                }
                return accepted
            }
            if mails.isEmpty { return accepted }
            for (index, mail) in mails.enumerated() {
                if Task.isShuttingDownGracefully || Task.isCancelled {
                    await handBack(mails[index...].map(\.id), at: now())
                    return accepted
                }
                let result: EndpointMailResult
                do {
                    if session == nil { session = try transport.makeSession() }
                    let (bytes, _) = try await message(for: mail, at: now()).encoded()
                    let outcome = try session!.send(
                        bytes, from: delivery.from.address, to: mail.subscriber.email,
                        reference: "\(mail.kind.rawValue)-\(mail.id)-\(mail.attempt)")
                    switch outcome {
                    case .sent(let reply): result = .sent(reply: reply)
                    case .transient(let reply): result = retry(mail, reply: reply, at: now())
                    case .permanent(let reply): result = .failed(reply: reply)
                    }
                } catch let unavailable as TransportUnavailable {
                    session?.close()
                    session = nil
                    result = retry(mail, reply: "mail server unavailable: \(unavailable.reason)", at: now())
                } catch {
                    // The stored address or name cannot go into a message: retrying will not help.
                    result = .failed(reply: "refused locally: \(error)")
                }
                do {
                    try await store.recordEndpointMail(id: mail.id, result, at: now())
                } catch {
                    logger.error(
                        "the endpoint mail queue could not record an outcome; the mail will be retried after its lease",
                        metadata: ["mail": "\(mail.id)", "error": "\(error)"])
                }
                log(mail, result)
                if case .sent = result { accepted += 1 }
            }
        }
    }

    /// Returns claimed mails nobody tried, due at once for the next server, their attempts not
    /// spent. Detached: a cancelled task's store calls would fail.
    private func handBack(_ ids: [Int64], at time: Date) async {
        let store = store
        do {
            try await Task.detached { try await store.releaseEndpointMail(ids: ids, at: time) }.value
            logger.info("endpoint mail handed back on stop", metadata: ["mails": "\(ids.count)"])
        } catch {
            logger.warning(
                "endpoint mail claimed but not tried stays leased until its lease ends",
                metadata: ["mails": "\(ids.count)", "error": "\(error)"])
        }
    }

    private func retry(_ mail: EndpointMail, reply: String, at time: Date) -> EndpointMailResult {
        // The project's one doubling rule; the spread around it (±20 %) is this queue's own.
        let delay = Backoff(base: .seconds(30), cap: .seconds(maxRetryDelay)).delay(beforeRetry: mail.attempt).seconds
        if time.timeIntervalSince(mail.createdAt) + delay > giveUpAfter {
            // Retried for days: a confirmation this late would surprise; record why it never went.
            return .failed(
                reply: "gave up after \(mail.attempt) attempts over \(Int(giveUpAfter / 3600)) hours: \(reply)")
        }
        return .retry(reply: reply, next: time.addingTimeInterval(delay * Double.random(in: 0.8...1.2)))
    }

    private func log(_ mail: EndpointMail, _ result: EndpointMailResult) {
        let metadata: Logger.Metadata = [
            "kind": "\(mail.kind.rawValue)", "mail": "\(mail.id)", "attempt": "\(mail.attempt)",
        ]
        switch result {
        case .sent:
            logger.info("endpoint mail sent", metadata: metadata)
            metrics?.count(.endpointMailSent)
        case .retry(let reply, let next):
            logger.warning(
                "endpoint mail deferred", metadata: metadata.merging(["reply": "\(reply)", "next": "\(next)"]) { $1 })
        case .failed(let reply):
            logger.error("endpoint mail failed", metadata: metadata.merging(["reply": "\(reply)"]) { $1 })
            metrics?.count(.endpointMailFailed)
        }
    }

    /// The message for one queued mail, with a fresh token minted now (tokens are stored only
    /// hashed, so the queue never holds a usable link).
    func message(for mail: EndpointMail, at time: Date) async throws -> OutgoingMessage {
        let subscriber = mail.subscriber
        var context: [String: Any] = [
            "listName": issue.listName, "lang": issue.language, "email": subscriber.email,
            "siteURL": issue.siteURL,
        ]
        // The name typed at signup is not the address owner's until they confirm: a confirmation
        // must not carry a stranger's words, so only the welcome greets by name.
        if mail.kind == .welcome, let name = subscriber.name { context["name"] = name }
        var unsubscribeURL: String?
        switch mail.kind {
        case .confirmation:
            let token = try await store.newConfirmationToken(
                subscriberID: subscriber.id, lifetime: policy.confirmationLifetime, at: time)
            context["confirmURL"] = "\(delivery.publicURL)/confirm/\(token)"
            context["expiresInDays"] = max(1, Int((policy.confirmationLifetime / 86400).rounded()))
        case .welcome:
            let token = try await store.newUnsubscribeToken(subscriberID: subscriber.id, at: time)
            unsubscribeURL = "\(delivery.publicURL)/unsubscribe/\(token)"
            context["unsubscribeURL"] = unsubscribeURL
            context["preferencesURL"] = "\(delivery.publicURL)/preferences/\(token)"
        }
        let kind = mail.kind.rawValue
        let subject = templates.render(context, template: "mail/\(kind)-subject.txt")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var message = OutgoingMessage(
            from: delivery.from,
            to: try MailAddress(subscriber.email, displayName: mail.kind == .welcome ? subscriber.name : nil),
            subject: subject, text: templates.render(context, template: "mail/\(kind).txt"),
            html: subscriber.format == .html ? templates.render(context, template: "mail/\(kind).html") : nil,
            listID: delivery.listID, unsubscribeURL: unsubscribeURL, date: time)
        message.unsubscribeMailto = unsubscribeURL == nil ? nil : delivery.unsubscribeMailto
        message.feedbackID = delivery.feedbackID
        return message
    }
}

/// Wakes the queue when a route has added to it, so a confirmation goes out within a tenth of
/// a second rather than at the next poll.
public final class Wakeup: Sendable {
    private let pending = Mutex(false)

    public init() {}

    public func signal() { pending.withLock { $0 = true } }

    /// Returns soon after the next signal, after `timeout`, or when the task is cancelled.
    public func wait(upTo timeout: Duration) async {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            let signalled = pending.withLock { value in
                defer { value = false }
                return value
            }
            if signalled { return }
            do { try await Task.sleep(for: .milliseconds(100)) } catch { return }
        }
    }
}
