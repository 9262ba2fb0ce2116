import Foundation
import Hummingbird

/// The pages about the editors themselves:
///
/// - `GET /editor/audit[?week=W]` (every role): the audit log, newest first.
/// - `GET /editor/users` (owners): the users and their roles, with forms to invite one, change
///   a role, or remove one (`POST /editor/users`, `…/users/role`, `…/users/remove`).
extension EditorRoutes {
    func registerAccountPages<Context: EditorRequestContext>(
        viewers: RouterGroup<Context>, owners: RouterGroup<Context>
    ) {
        viewers.get("audit") { request, context in
            var subject: String?
            if let week = request.uri.queryParameters.get("week") {
                guard let parsed = try? IssueWeek(parsing: String(week)) else {
                    return pages.failure(BadRequest(status: 400, "\"\(week)\" is not an ISO week such as 2026-W47"), json: false)
                }
                subject = parsed.description
            }
            let entries = try await store.auditEntries(subject: subject, limit: 500)
            var values: [String: Any] = [
                "title": "Audit log", "entries": Self.auditRows(entries), "empty": entries.isEmpty, "onAudit": true,
                // A flag, not the empty string: Mustache takes "" as true.
                "hasWeek": subject != nil, "week": subject ?? "",
            ]
            values.merge(try await navigation(current: nil, context)) { $1 }
            return editorPage("editor-audit", values)
        }
        owners.get("users") { _, context in
            try await usersPage(context)
        }
        owners.post("users") { request, context in
            try await ownerAction(request, context) { fields, actor in
                let role = try EditorRole(parsing: fields["role"] ?? "")
                let (user, token) = try await admin.invite(email: fields["email"] ?? "", role: role, actor: actor)
                let link = pages.settings.publicURL.trimmingSuffix("/") + "/editor/invite/" + token
                return try await usersPage(
                    context, notice: "\(user.email) is invited as \(user.role.rawValue). Send them this link (it works once, for \(accounts.invitationHours) hours; it is not shown again):",
                    link: link)
            }
        }
        owners.post("users/role") { request, context in
            try await ownerAction(request, context) { fields, actor in
                let email = fields["email"] ?? ""
                let role = try EditorRole(parsing: fields["role"] ?? "")
                try await admin.setRole(email: email, role: role, actor: actor)
                return try await usersPage(context, notice: "\(email) is now \(role.rawValue).")
            }
        }
        owners.post("users/remove") { request, context in
            try await ownerAction(request, context) { fields, actor in
                let email = fields["email"] ?? ""
                try await admin.remove(email: email, actor: actor)
                return try await usersPage(context, notice: "\(email) is removed; their sessions have ended.")
            }
        }
    }

    var admin: EditorUserAdmin { EditorUserAdmin(store: store, settings: accounts, time: time) }

    /// An owner's form post (users, keys): its form token checked, the account or key error as
    /// a 4xx naming it.
    func ownerAction<Context: EditorRequestContext>(
        _ request: Request, _ context: Context,
        _ body: (FormFields, String) async throws -> Response
    ) async throws -> Response {
        do {
            let fields = try await formFields(request)
            try checkFormToken(fields, scope: EditorFormToken.accountScope, context)
            do {
                return try await body(fields, context.editor?.actor ?? "unknown")
            } catch let error as EditorAccountError {
                throw BadRequest(status: Self.status(of: error), error.description)
            } catch let error as MailError {
                throw BadRequest(status: 422, "the field \"email\": \(error)")
            } catch let error as APIKeyError {
                throw BadRequest(status: 422, "the field \"name\": \(error)")
            }
        } catch let error as BadRequest {
            return pages.failure(error, json: false)
        }
    }

    /// 404 for a user who is not there, 409 for the last owner, 422 for what the form got wrong.
    static func status(of error: EditorAccountError) -> Int {
        switch error {
        case .noSuchUser: 404
        case .lastOwner: 409
        default: 422
        }
    }

    private func usersPage(_ context: some EditorRequestContext, notice: String? = nil, link: String? = nil)
        async throws -> Response
    {
        let users = try await store.editorUsers()
        var values: [String: Any] = [
            "title": "Users", "onUsers": true, "notice": notice ?? "", "hasNotice": notice != nil, "link": link ?? "",
            "users": users.map { user in
                [
                    "email": user.email, "role": user.role.rawValue, "invited": !user.hasPassword,
                    "roles": EditorRole.allCases.reversed().map { ["name": $0.rawValue, "selected": $0 == user.role] },
                ] as [String: Any]
            },
            "roles": EditorRole.allCases.reversed().map { ["name": $0.rawValue, "selected": $0 == .editor] },
        ]
        values.merge(try await navigation(current: nil, context)) { $1 }
        return editorPage("editor-users", values)
    }

    /// Audit entries as the pages show them (the template escapes every value).
    static func auditRows(_ entries: [AuditEntry]) -> [[String: Any]] {
        entries.map {
            [
                "at": EditorTime.text($0.at), "actor": $0.actor, "action": $0.action.rawValue,
                "subject": $0.subject, "detail": $0.detail,
            ]
        }
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
