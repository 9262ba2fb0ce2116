import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The editor page's actions on summaries: replace one with the editor's text, go back to the
/// generated one (both what `newsletter summaries edit` does, through ``SummaryEdits``), and
/// rebuild the draft from what is stored (``IssuePreview/rebuildFromStoredSummaries(_:)``, no
/// model asked). Each answers with a redirect to the page (post/redirect/get), which says what
/// happened and shows the previews of the draft as it now is.
extension EditorRoutes {
    /// What the page says after an action, by the `done` code in its address: fixed texts, so
    /// the address cannot put words on the page.
    static var notices: [String: String] {
        [
            "saved": "Your summary is saved. It is not in the draft until you rebuild the draft.",
            "reverted": "Back to the generated summary. It is in the draft once you rebuild the draft.",
            "no-override": "That summary had no text of yours; nothing changed.",
            "rebuilt":
                "The draft was rebuilt from the stored summaries (no model was asked). Review it before you approve.",
            "still-approved": "The draft was rebuilt and is byte for byte the approved one: the approval stands.",
            "approval-withdrawn":
                "The draft was rebuilt and differs from the approved one, so that approval no longer holds. Review the previews and approve again: nothing is sent until you do.",
        ]
    }

    /// A summary form carries up to 2,000 characters, percent-encoded (up to 9 bytes each).
    static var summaryFormLimit: Int { 64 * 1024 }

    func registerSummaryEditing<Context: EditorRequestContext>(on editor: RouterGroup<Context>) {
        editor.post("issues/:week/summaries/:comparison") { request, context in
            do {
                let week = try weekParameter(context)
                let comparison = try comparisonParameter(context, week: week)
                let fields: FormFields
                do {
                    fields = try await formFields(request, upTo: Self.summaryFormLimit, multiline: ["text"])
                } catch let error as BadRequest where error.status == 413 {
                    throw BadRequest(
                        status: 413,
                        "\(error.message); the field \"text\" holds at most \(EditorSummary.maximumCharacters) characters"
                    )
                }
                try checkFormToken(fields, week: week, context)
                guard let text = fields["text"] else {
                    throw BadRequest(status: 422, "the field \"text\" (the summary) is required")
                }
                let replaced = try await edit { edits in
                    try await edits.replace(week: week, comparisonID: comparison, with: text, scope: .draftComparisons)
                }
                logger.notice(
                    "summary replaced from the editor page",
                    metadata: [
                        "week": "\(week)", "comparison": "\(comparison)", "characters": "\(replaced.text.count)",
                    ])
                try await record(
                    .editSummary, week, context, detail: "comparison \(comparison), \(replaced.text.count) characters")
                return redirect(week, done: "saved", comparison: comparison)
            } catch let error as BadRequest {
                return pages.failure(error, json: false)
            }
        }
        editor.post("issues/:week/summaries/:comparison/revert") { request, context in
            do {
                let week = try weekParameter(context)
                let comparison = try comparisonParameter(context, week: week)
                try checkFormToken(try await formFields(request), week: week, context)
                let removed = try await edit { edits in
                    try await edits.revert(week: week, comparisonID: comparison, scope: .draftComparisons)
                }
                logger.notice(
                    "summary reverted from the editor page",
                    metadata: ["week": "\(week)", "comparison": "\(comparison)", "had override": "\(removed)"])
                if removed { try await record(.revertSummary, week, context, detail: "comparison \(comparison)") }
                return redirect(week, done: removed ? "reverted" : "no-override", comparison: comparison)
            } catch let error as BadRequest {
                return pages.failure(error, json: false)
            }
        }
        editor.post("issues/:week/rebuild") { request, context in
            do {
                let week = try weekParameter(context)
                try checkFormToken(try await formFields(request), week: week, context)
                guard let drafts else {
                    throw BadRequest(
                        status: 503, "this server cannot rebuild drafts; run `newsletter preview --week \(week)`")
                }
                let before = try await store.issue(week)
                let wasApproved = before?.approvedHash != nil && before?.approvedHash == before?.draftHash
                let result: IssuePreview<Store>.Result
                do {
                    result = try await drafts.rebuildFromStoredSummaries(week)
                } catch let error as DraftRebuildError {
                    switch error {
                    case .noDraft:
                        throw BadRequest(status: 404, "\(error); run `newsletter preview --week \(week)` first")
                    case .selectionChanged, .summaryNotStored:
                        throw BadRequest(
                            status: 409,
                            "\(error). Nothing was changed: `newsletter preview --week \(week) --rebuild` builds it with the model."
                        )
                    }
                } catch let error as PreviewError {
                    // The outbox is the server's fault, not the editor's; the rest is the week's state.
                    if case .outboxUnwritable = error { throw BadRequest(status: 500, "\(error)") }
                    throw BadRequest(status: 409, "\(error)")
                } catch let error as IssueStoreError {
                    throw BadRequest(status: 409, "\(error)")
                }
                let hash = result.draft.hash
                logger.notice(
                    "draft rebuilt from the editor page",
                    metadata: [
                        "week": "\(week)", "hash": "\(hash.prefix(12))",
                        "approval": "\(result.stillApproved ? "kept" : wasApproved ? "withdrawn" : "none")",
                    ])
                try await record(
                    .rebuild, week, context,
                    detail: "draft \(hash.prefix(12))\(wasApproved && !result.stillApproved ? ", approval withdrawn" : "")")
                return redirect(
                    week, done: result.stillApproved ? "still-approved" : wasApproved ? "approval-withdrawn" : "rebuilt"
                )
            } catch let error as BadRequest {
                return pages.failure(error, json: false)
            }
        }
    }

    /// Runs an edit on the store's threads; its refusals become the page's 4xx.
    private func edit<T: Sendable>(_ work: (SummaryEdits<Store>) async throws -> T) async throws -> T {
        let edits = SummaryEdits(store: store)
        do {
            return try await work(edits)
        } catch let error as SummaryEditError {
            switch error {
            case .noComparison, .noDraft, .notInIssue: throw BadRequest(status: 404, error.description)
            case .alreadySent: throw BadRequest(status: 409, error.description)
            case .unusableText(let reason): throw BadRequest(status: 422, "the field \"text\": \(reason)")
            }
        }
    }

    private func comparisonParameter(_ context: some RequestContext, week: IssueWeek) throws -> Int64 {
        let text = try context.parameters.require("comparison")
        guard let id = Int64(text), id > 0 else {
            throw BadRequest(status: 404, "\"\(text)\" is not a comparison of \(week) (comparisons are numbered)")
        }
        return id
    }

    private func redirect(_ week: IssueWeek, done: String, comparison: Int64? = nil) -> Response {
        var response = Response.redirect(
            to: "/editor/issues/\(week)?done=\(done)" + (comparison.map { "#summary-\($0)" } ?? ""))
        for (name, value) in [
            ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"),
        ] {
            response.headers[HTTPField.Name(name)!] = value
        }
        return response
    }

    /// The page's summaries, each with what the editor may do with it: its form's text (the
    /// editor's saved text, else the draft's) and whether the draft does not show the stored
    /// state yet (saved or reverted, not rebuilt).
    func editableSummaries(_ issue: IssueRecord, week: IssueWeek) async throws -> [[String: Any]] {
        let rows = Self.summaryProvenance(issue.manifest)
        let inDraft = Set(issue.comparisonIDs)
        let ids = rows.compactMap { $0["id"] as? Int64 }.filter(inDraft.contains)
        var overrides: [Int64: String] = [:]
        for id in ids { overrides[id] = try await store.summaryOverride(week: week, comparisonID: id)?.text }
        // The guard's verdict on each editor's text, as advice: the editor's text ships whatever it says.
        var advice: [Int64: GuardVerdict] = [:]
        for (id, text) in overrides {
            guard let stored = try await store.comparison(id: id) else { continue }
            advice[id] = try? GuardVerdict.check(text, tool: nil, in: stored.comparison)
        }
        let editable = issue.status != .sent
        return rows.map { row in
            guard let id = row["id"] as? Int64, inDraft.contains(id) else { return row }
            var row = row
            let draftText = row["text"] as? String ?? ""
            let inDraftOverride = row["kind"] as? String == SummaryKind.edited.rawValue ? draftText : nil
            row["editable"] = editable
            row["editText"] = overrides[id] ?? draftText
            row["hasOverride"] = overrides[id] != nil
            if let verdict = advice[id] {
                row["hasAdvice"] = true
                row["adviceAccepted"] = verdict.accepted
                row["adviceReasons"] = verdict.reasons.map { ["check": $0.check, "message": $0.message] }
            }
            if overrides[id] != inDraftOverride {
                row["pendingNote"] =
                    overrides[id] != nil
                    ? "Your text is saved but not in the draft yet: rebuild the draft to see it."
                    : "The generated summary comes back when you rebuild the draft."
            }
            return row
        }
    }
}
