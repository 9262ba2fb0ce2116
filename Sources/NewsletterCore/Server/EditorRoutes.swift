import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The editor's routes, behind an editor user's login (EditorLogin.swift, EditorAccess.swift)
/// or, until an owner exists, the token from `NEWSLETTER_EDITOR_TOKEN` (or `editor.token`):
/// `Authorization: Bearer TOKEN`, or HTTP Basic with the token as the password so that a
/// browser can ask for it. Without a token and without users the editor routes answer 404.
/// Viewers see; the posts need an editor; the users page an owner.
///
/// - `GET /editor/issues`: every issue and its state.
/// - `GET /editor/issues/WEEK`: the frozen draft at desktop and phone widths side by side, the
///   text version, and where each summary came from.
/// - `POST /editor/issues/WEEK/test-send` (`to`): the draft to one address, marked [test].
/// - `POST /editor/issues/WEEK/approve` (`hash`): approves the draft the editor looked at; the
///   hash (shown on the page) must match the stored draft.
/// - `POST /editor/issues/WEEK/summaries/ID` (`text`), `POST …/summaries/ID/revert`: the editor's
///   own summary for a comparison of the draft, or back to the generated one
///   (EditorRoutes+Summaries.swift).
/// - `POST /editor/issues/WEEK/rebuild`: the draft built again from the stored summaries, no model.
/// - `GET /metrics`: Prometheus text; needs the token too (no token: no metrics).
///
/// Every post must carry the page's `form_token` (``EditorFormToken``, bound to the session)
/// and must not be marked cross-site by the browser. What an editor does is in the audit log.
public struct EditorRoutes<Store: NewsletterStore>: Sendable {
    public var store: Store
    public var pages: PageRenderer
    public var token: String?
    public var metrics: EndpointMetrics
    public var delivery: DeliverySettings?
    public var transport: (any MailTransport)?
    public var logger: Logger
    /// The clock approvals are recorded by, and the forms' tokens made and checked with.
    public var time: any TimeSource = SystemTime()
    /// Builds the draft again from the page (templates, outbox and summary chain as `preview`
    /// has them); nil: the page cannot rebuild.
    public var drafts: IssuePreview<Store>?
    /// Passwords, sessions and invitations (`[editor]` in the configuration).
    public var accounts = Configuration.Editor()
    /// Whether a login's client address is read from `X-Forwarded-For` (`server.trust_forwarded_for`).
    public var trustForwardedFor = false

    public init(
        store: Store, pages: PageRenderer, token: String?, metrics: EndpointMetrics, delivery: DeliverySettings?,
        transport: (any MailTransport)?, logger: Logger, drafts: IssuePreview<Store>? = nil
    ) {
        self.drafts = drafts
        self.store = store
        self.pages = pages
        self.token = token
        self.metrics = metrics
        self.delivery = delivery
        self.transport = transport
        self.logger = logger
    }

    /// The editor pages (each route group behind its role: ``group(on:requiring:)``), the login,
    /// and `/metrics`. Without an editor token and without editor users they answer 404.
    public func register<Context: EditorRequestContext>(on router: Router<Context>) {
        let time = self.time
        let limits = EditorLoginLimits(time: time)
        registerEditorPages(on: router, limits: limits)
        // Subscriber counts are the editor's business: no token, no metrics. Scrapers cannot log
        // in, so the metrics keep the shared token even once an owner exists.
        guard let token, !token.isEmpty else { return }
        router.get("/metrics") { request, _ in
            guard Self.presentsToken(request.headers[.authorization], token: token) else {
                return response(for: .token, request)
            }
            var counts: [Subscriber.Status: Int] = [:]
            for status in Subscriber.Status.allCases {
                counts[status] = try await store.subscriberCount(status: status)
            }
            let depth = try await store.endpointMailQueueDepth()
            let relays = try await store.relayHealth()
            let relayMessages = try await store.messagesPerRelay(nil)
            var headers = PageRenderer.headers(contentType: "text/plain; version=0.0.4; charset=utf-8")
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody(
                    byteBuffer: ByteBuffer(string: metrics.render(
                                queueDepth: depth, subscribers: counts, relays: relays, relayMessages: relayMessages))))
        }
    }

    func registerEditorPages<Context: EditorRequestContext>(on router: Router<Context>, limits: EditorLoginLimits) {
        // Every editor page and action behind one check (the login or token, and for posts the
        // same site), then the role its group needs.
        let editor = group(on: router, requiring: .viewer)
        let editing = group(on: router, requiring: .editor)
        EditorLogin(
            routes: self, admin: EditorUserAdmin(store: store, settings: accounts, time: time),
            sessionLifetime: TimeInterval(accounts.sessionHours) * 3600, limits: limits,
            trustForwardedFor: trustForwardedFor
        ).register(on: router, viewers: editor)
        let owners = group(on: router, requiring: .owner)
        registerAccountPages(viewers: editor, owners: owners)
        editor.get("issues") { request, context in
            let issues = try await store.listIssues()
            let rows: [[String: Any]] = issues.map { issue in
                [
                    "week": issue.week.description, "status": issue.status.rawValue, "subject": issue.subject ?? "",
                    "hash": String((issue.draftHash ?? "").prefix(12)),
                    "approved": issue.approvedHash != nil && issue.approvedHash == issue.draftHash,
                    "skipReason": issue.skipReason ?? "",
                ]
            }
            let values: [String: Any] = ["title": "Issues", "issues": rows, "empty": rows.isEmpty, "onIssues": true]
            return editorPage("editor-issues", values.merging(try await navigation(current: nil, context)) { $1 })
        }
        editor.get("issues/:week") { request, context in
            let week = try weekParameter(context)
            guard let issue = try await store.issue(week), let html = issue.html,
                let text = issue.text
            else {
                return pages.failure(
                    BadRequest(status: 404, "\(week) has no draft; run `newsletter preview --week \(week)` first"),
                    json: false)
            }
            let counts = try await store.deliveryCounts(week)
            let sample = Personalization(
                name: "Sample Reader", unsubscribeURL: "about:blank", preferencesURL: "about:blank")
            let sent = issue.status == .sent
            let summaries = try await editableSummaries(issue, week: week)
            let pending = summaries.contains { $0["pendingNote"] != nil }
            let notice = request.uri.queryParameters.get("done").flatMap { Self.notices[$0] }
            let navigation = try await navigation(current: week, context)
            let audit = try await store.auditEntries(subject: week.description, limit: 50)
            return editorPage(
                "editor-issue",
                navigation.merging([
                    "title": "\(week)", "week": week.description, "onDraft": true, "hasLedger": !counts.isEmpty, "status": issue.status.rawValue,
                    "subject": issue.subject ?? "", "hash": issue.draftHash ?? "",
                    "shortHash": String((issue.draftHash ?? "").prefix(12)),
                    "approved": issue.approvedHash != nil && issue.approvedHash == issue.draftHash,
                    "sent": sent, "html": sample.fill(html, html: true),
                    "text": sample.fill(text, html: false),
                    "summaries": summaries, "pending": pending, "notice": notice ?? "", "hasNotice": notice != nil,
                    "canRebuild": !sent && drafts != nil,
                    "formToken": context.editor?.forms.make(for: week, at: time.now()) ?? "",
                    "canEdit": context.editor?.role.allows(.editor) ?? false,
                    "audit": Self.auditRows(audit), "hasAudit": !audit.isEmpty,
                    "maxSummaryCharacters": EditorSummary.maximumCharacters,
                    "ledger": counts.sorted { $0.key.rawValue < $1.key.rawValue }.map {
                        ["state": $0.key.rawValue, "count": $0.value]
                    },
                    "canTestSend": transport != nil && delivery != nil,
                    "hasVariants": (issue.variants?.variants.count ?? 1) > 1,
                    "variants": Self.variantColumns(issue.variants, sample: sample),
                ]) { $1 })
        }
        editing.post("issues/:week/approve") { request, context in
            do {
                let week = try weekParameter(context)
                let fields = try await formFields(request)
                try checkFormToken(fields, week: week, context)
                let hash = try await approve(week, expecting: fields["hash"] ?? "", context)
                return pages.page(
                    "message",
                    [
                        "title": "Approved",
                        "message": "\(week) is approved (draft \(hash.prefix(12))); the next send delivers it.",
                    ])
            } catch let error as BadRequest {
                return pages.failure(error, json: false)
            }
        }
        editing.post("issues/:week/test-send") { request, context in
            do {
                let week = try weekParameter(context)
                let fields = try await formFields(request)
                try checkFormToken(fields, week: week, context)
                let address = try SubscriberInput.emailAddress(fields["to"])
                guard let delivery, let transport else {
                    throw BadRequest(status: 503, "no mail transport is configured for test sends")
                }
                let mailer = Mailer(store: store, settings: delivery, logger: logger)
                let outcome: SendOutcome
                do {
                    outcome = try await mailer.sendTest(week, to: address, through: transport)
                } catch let error as DeliveryError {
                    throw BadRequest(status: 404, error.description)
                } catch let error as TransportUnavailable {
                    throw BadRequest(status: 502, "the mail server is unavailable: \(error.reason)")
                }
                switch outcome {
                case .sent(let reply):
                    try await record(.testSend, week, context, detail: "to \(address.address)")
                    return pages.page(
                        "message", ["title": "Test sent", "message": "Sent \(week) to \(address.address): \(reply)"])
                case .transient(let reply), .permanent(let reply):
                    throw BadRequest(
                        status: 502, "the mail server refused the test send to \(address.address): \(reply)")
                }
            } catch let error as BadRequest {
                return pages.failure(error, json: false)
            }
        }
        registerSummaryEditing(on: editing)
        registerReports(on: editor)
        registerWebhooks(on: owners)
        registerAPIKeys(on: owners)
    }

    /// Approves the draft the editor reviewed (`IssueApproval`, which records it) and returns
    /// its hash; a refusal as the 4xx the page shows.
    private func approve(_ week: IssueWeek, expecting expected: String, _ context: some EditorRequestContext)
        async throws -> String
    {
        let approved: IssueApproval.Approved
        do {
            approved = try await IssueApproval(store: store, time: time, actor: context.editor?.actor ?? "unknown")
                .approve(week, expecting: expected)
        } catch let error as IssueApprovalError {
            switch error {
            case .malformedHash:
                throw BadRequest(
                    status: 422, "the field \"hash\" (at least 6 hex digits of the draft you reviewed) is required")
            case .refused(.noDraft): throw BadRequest(status: 404, "\(week) has no draft to approve")
            case .refused(.draftChanged(_, let stored, let expected)):
                throw BadRequest(
                    status: 409,
                    "the draft of \(week) is now \(stored.prefix(12)), not \(expected.prefix(12)): reload and review it again")
            case .refused(let reason): throw BadRequest(status: 409, reason.description)
            }
        }
        if !approved.already {
            logger.notice(
                "issue approved from the editor page", metadata: ["week": "\(week)", "hash": "\(approved.hash.prefix(12))"])
        }
        return approved.hash
    }

    func formFields(_ request: Request, upTo limit: Int = 16 * 1024, multiline: Set<String> = []) async throws
        -> FormFields
    {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw BadRequest(status: 413, "the form is larger than \(limit / 1024) KB")
        }
        return try FormFields.parse(
            Array(buffer: body), contentType: request.headers[.contentType], multiline: multiline)
    }

    /// Refuses a post whose form token this server did not make for this editor's page of
    /// this week (403).
    func checkFormToken(_ fields: FormFields, week: IssueWeek, _ context: some EditorRequestContext) throws {
        try checkFormToken(fields, scope: week.description, context)
    }

    func checkFormToken(_ fields: FormFields, scope: String, _ context: some EditorRequestContext) throws {
        guard let editor = context.editor else { throw BadRequest(status: 401, "log in at /editor/login") }
        do {
            try editor.forms.check(fields[EditorFormToken.field], subject: scope, at: time.now())
        } catch {
            throw BadRequest(status: 403, error.description)
        }
    }

    /// Records what the editor behind `context` did to `week` in the audit log.
    func record(_ action: AuditAction, _ week: IssueWeek, _ context: some EditorRequestContext, detail: String)
        async throws
    {
        try await AuditLog(store: store, time: time).record(
            actor: context.editor?.actor ?? "unknown", action: action, subject: week.description, detail: detail)
    }

    func weekParameter(_ context: some RequestContext) throws -> IssueWeek {
        let text = try context.parameters.require("week")
        do {
            return try IssueWeek(parsing: text)
        } catch {
            throw HTTPError(.badRequest, message: "\"\(text)\" is not an ISO week such as 2026-W47")
        }
    }

    static func crossSite(_ request: Request) -> Bool {
        request.headers[HTTPField.Name("Sec-Fetch-Site")!].map { $0 == "cross-site" || $0 == "same-site" } == true
    }

    /// An `Origin` naming another host than the request's own. `null` counts as foreign unless
    /// the browser sent Fetch Metadata (which `crossSite` has judged): Chromium sends `null` for
    /// every form post from a page under `Referrer-Policy: no-referrer`.
    static func foreignOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[HTTPField.Name("Origin")!] else { return false }
        if origin == "null" { return request.headers[HTTPField.Name("Sec-Fetch-Site")!] == nil }
        guard let host = URL(string: origin)?.host, let authority = request.head.authority else { return true }
        let port = URL(string: origin)?.port.map { ":\($0)" } ?? ""
        return authority.lowercased() != (host + port).lowercased() && authority.lowercased() != host.lowercased()
    }

    /// `Bearer TOKEN`, or `Basic base64(anyone:TOKEN)`; compared as SHA-256 digests so the time
    /// taken says nothing about how much of the token was right.
    static func presentsToken(_ header: String?, token: String) -> Bool {
        guard let header else { return false }
        var presented: String?
        if header.lowercased().hasPrefix("bearer ") {
            presented = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if header.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":")
        {
            presented = String(pair[pair.index(after: colon)...])
        }
        // An empty token never matches, whatever is configured.
        guard let presented, !presented.isEmpty, !token.isEmpty else { return false }
        return Array(SHA256.hash(data: Data(presented.utf8))) == Array(SHA256.hash(data: Data(token.utf8)))
    }

    func editorPage(_ name: String, _ values: [String: Any]) -> Response {
        var response = pages.page(name, values)
        // The draft is shown in sandboxed srcdoc frames: no scripts, no requests. Only this page
        // may frame anything of ours (its own previews); no other site may frame it (clickjacking
        // on Approve).
        response.headers[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "SAMEORIGIN"
        // Editor addresses hold no secret, and a same-origin referrer policy lets browsers
        // without Fetch Metadata send a real `Origin` with the page's posts.
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return response
    }

    /// The frozen variants side by side: who reads each, what it holds, and its bytes.
    static func variantColumns(_ frozen: FrozenVariants?, sample: Personalization) -> [[String: Any]] {
        (frozen?.variants ?? []).map { variant in
            var column: [String: Any] = [
                "id": variant.id, "topics": variant.choice.description, "readers": variant.readers,
                "comparisons": variant.comparisonIDs.count, "empty": variant.isEmpty,
                "skipReason": VariantAssignment.noComparisonReason,
            ]
            if let html = variant.html { column["html"] = sample.fill(html, html: true) }
            if let subject = variant.subject { column["subject"] = subject }
            return column
        }
    }

    /// Each comparison's title and its summary as the editor must judge it, from `issue.json`:
    /// the text, what kind it is (the heading readers see), which provider and model made it, and
    /// the guard's verdict (a model's text shipped only when the guard accepted it; a fallback
    /// says why the providers before it did not make it).
    static func summaryProvenance(_ manifest: String?) -> [[String: Any]] {
        guard let data = manifest?.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let comparisons = object["comparisons"] as? [[String: Any]]
        else { return [] }
        return comparisons.map { item in
            let summary = item["summary"] as? [String: Any] ?? [:]
            let provider = summary["provider"] as? String ?? "unknown"
            let kind = (summary["kind"] as? String).flatMap(SummaryKind.init(rawValue:)) ?? .extractive
            let verdict: String
            switch kind {
            case .abstractive: verdict = "accepted by the guard (every check passed)"
            case .grammarExtractive:
                verdict = "the takes' own sentences, chosen through a grammar; the guard accepted the pick"
            case .extractive: verdict = "no model text shipped"
            case .edited: verdict = "the editor's text; the guard does not judge it"
            }
            var row: [String: Any] = [
                "title": item["title"] as? String ?? "", "provider": provider,
                "fallback": provider == ExtractiveSummarizer.provider, "kind": kind.rawValue,
                "label": IssueContent.summaryLabel(PanelSummary(text: "", provider: provider, kind: kind)),
                "verdict": verdict, "text": summary["text"] as? String ?? "",
            ]
            if let id = (item["id"] as? NSNumber)?.int64Value { row["id"] = id }
            if let model = summary["model"] as? String { row["model"] = model }
            if let note = summary["note"] as? String { row["note"] = note }
            return row
        }
    }
}
