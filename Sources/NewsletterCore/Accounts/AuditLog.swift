import Foundation

/// What was done, in the audit log: the editor's actions here; the API, the webhooks and the
/// readers' own pages add theirs (`AuditAction("api-key.create")`).
public struct AuditAction: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let approve = AuditAction("issue.approve")
    public static let editSummary = AuditAction("issue.summary-edit")
    public static let revertSummary = AuditAction("issue.summary-revert")
    public static let rebuild = AuditAction("issue.rebuild")
    public static let testSend = AuditAction("issue.test-send")
    public static let archiveHide = AuditAction("archive.hide")
    public static let archiveShow = AuditAction("archive.show")
    public static let subscriberChange = AuditAction("subscriber.change")
    public static let userAdd = AuditAction("user.add")
    public static let userInvite = AuditAction("user.invite")
    public static let userRemove = AuditAction("user.remove")
    public static let userRole = AuditAction("user.role")
}

/// One line of the audit log: who (`actor`: an editor's address, `token` for the shared editor
/// token, `cli`, `api-key:NAME`, `reader`), did what, to what (`subject`: an issue's week, an
/// address), with what detail, and when.
public struct AuditEntry: Sendable, Equatable, Codable {
    public var id: Int64?
    public var at: Date
    public var actor: String
    public var action: AuditAction
    public var subject: String
    public var detail: String

    public init(id: Int64? = nil, at: Date, actor: String, action: AuditAction, subject: String, detail: String = "") {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detail = detail
    }
}

/// The audit log's rows, as each store keeps them.
public protocol AuditLogStore: Sendable {
    func recordAudit(_ entry: AuditEntry) async throws
    /// The newest first; only those about `subject` when it is given.
    func auditEntries(subject: String?, limit: Int) async throws -> [AuditEntry]
}

/// The one call that records an action: `AuditLog(store:time:).record(actor:action:subject:detail:)`,
/// stamped by the injected clock.
public struct AuditLog: Sendable {
    public var store: any AuditLogStore
    public var time: any TimeSource

    public init(store: any AuditLogStore, time: any TimeSource = SystemTime()) {
        self.store = store
        self.time = time
    }

    public func record(actor: String, action: AuditAction, subject: String, detail: String = "") async throws {
        try await store.recordAudit(
            AuditEntry(at: time.now(), actor: actor, action: action, subject: subject, detail: detail))
    }
}
