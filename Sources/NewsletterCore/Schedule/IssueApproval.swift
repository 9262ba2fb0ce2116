import Foundation

/// Approving a week's frozen draft by its hash, written once for the editor page, `newsletter
/// approve` and the API: the hash the approver reviewed (at least its first 6 hex digits) must
/// still be the stored draft's, the store approves those exact bytes (checking again in its own
/// transaction), and the audit log records who approved. Approving again what is approved
/// already changes nothing and records nothing.
public struct IssueApproval: Sendable {
    public var store: any IssueStore & AuditLogStore
    public var time: any TimeSource
    /// Who approves, as the audit log names them: an editor's address, `token`, `cli`, `api-key:NAME`.
    public var actor: String

    public init(store: any IssueStore & AuditLogStore, time: any TimeSource = SystemTime(), actor: String) {
        self.store = store
        self.time = time
        self.actor = actor
    }

    /// What an approval did.
    public struct Approved: Sendable, Equatable {
        /// The week's issue as it was before (its subject, its draft).
        public var issue: IssueRecord
        /// The full hash of the draft approved.
        public var hash: String
        /// It was approved with this hash already: nothing changed.
        public var already: Bool
    }

    /// At least 6 and at most 64 hex digits, lowercased: the form every caller takes a hash in.
    public static func expectedHash(_ text: String) throws(IssueApprovalError) -> String {
        let hash = text.lowercased()
        guard (6...64).contains(hash.count), hash.allSatisfy(\.isHexDigit) else { throw .malformedHash(text) }
        return hash
    }

    /// Approves the week's draft if its hash begins with `expected` (any draft when nil: the
    /// CLI without `--hash`). Throws `.malformedHash`, or `.refused` with the store's reason:
    /// no draft, another draft (`draftChanged`, naming the stored hash), or sent already.
    public func approve(_ week: IssueWeek, expecting expected: String?) async throws -> Approved {
        let prefix = try expected.map { (text) throws(IssueApprovalError) in try Self.expectedHash(text) }
        guard let issue = try await store.issue(week), let hash = issue.draftHash else {
            throw IssueApprovalError.refused(.noDraft(week))
        }
        if let prefix, !hash.hasPrefix(prefix) {
            throw IssueApprovalError.refused(.draftChanged(week, stored: hash, expected: prefix))
        }
        if issue.status == .approved && issue.approvedHash == hash {
            return Approved(issue: issue, hash: hash, already: true)
        }
        do {
            try await store.approve(week, hash: hash, at: time.now())
        } catch let refusal as IssueStoreError {
            throw IssueApprovalError.refused(refusal)
        }
        try await AuditLog(store: store, time: time).record(
            actor: actor, action: .approve, subject: week.description, detail: "draft \(hash.prefix(12))")
        return Approved(issue: issue, hash: hash, already: false)
    }
}

/// Why an approval was refused; nothing was stored.
public enum IssueApprovalError: Error, Equatable, CustomStringConvertible {
    /// Not a draft hash: at least its first 6 hex digits are needed.
    case malformedHash(String)
    /// The store's reason: no draft, another draft than the one reviewed, or sent already.
    case refused(IssueStoreError)

    public var description: String {
        switch self {
        case .malformedHash(let text):
            "\"\(text.prefix(80))\" is not a draft hash: give at least its first 6 hex digits (at most 64)"
        case .refused(let reason): reason.description
        }
    }
}
