import Foundation

/// What an editor user may do. Each role may do all that the roles below it may: a viewer
/// sees; an editor also edits, rebuilds, test-sends and approves; an owner also manages the
/// users (and the keys and webhooks pages).
public enum EditorRole: String, Sendable, Codable, CaseIterable, Comparable {
    case viewer, editor, owner

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .editor: 1
        case .owner: 2
        }
    }

    public static func < (lhs: EditorRole, rhs: EditorRole) -> Bool { lhs.rank < rhs.rank }

    /// Whether this role may do what `needed` may.
    public func allows(_ needed: EditorRole) -> Bool { self >= needed }

    /// A role named on the command line or in a form; the error names the choices.
    public init(parsing text: String) throws(EditorAccountError) {
        guard let role = EditorRole(rawValue: text.lowercased()) else { throw .unknownRole(text) }
        self = role
    }
}

/// An editor user as the pages and `newsletter users list` show it (never its password hash).
public struct EditorUser: Sendable, Equatable, Codable {
    public var id: Int64
    public var email: String
    public var role: EditorRole
    /// False while the user has only an invitation (no password set yet).
    public var hasPassword: Bool
    public var createdAt: Date

    public init(id: Int64, email: String, role: EditorRole, hasPassword: Bool, createdAt: Date) {
        self.id = id
        self.email = email
        self.role = role
        self.hasPassword = hasPassword
        self.createdAt = createdAt
    }
}

/// Why an account operation was refused, in words for the editor or the CLI.
public enum EditorAccountError: Error, Equatable, CustomStringConvertible, Sendable {
    case exists(String)
    case noSuchUser(String)
    case unknownRole(String)
    case passwordTooLong(bytes: Int)
    case passwordTooShort(characters: Int)
    case passwordHasNUL
    case invitationUnusable
    /// The user is the only owner: removing or demoting them would leave the editor to the
    /// shared token (or to nobody).
    case lastOwner(String)

    public var description: String {
        switch self {
        case .exists(let email): "an editor user \(email) exists already (`newsletter users role` changes a role)"
        case .noSuchUser(let email): "there is no editor user \(email) (`newsletter users list` shows them)"
        case .unknownRole(let text): "\"\(text)\" is not a role: owner, editor or viewer"
        case .passwordTooLong(let bytes):
            "the password is \(bytes) bytes; at most \(EditorPassword.maximumBytes) are allowed (bcrypt reads no further)"
        case .passwordTooShort(let characters):
            "the password is \(characters) characters; at least \(EditorPassword.minimumCharacters) are needed"
        case .passwordHasNUL: "the password contains a NUL character"
        case .invitationUnusable: "this invitation link is unknown, used or expired: ask an owner for a new one"
        case .lastOwner(let email):
            "\(email) is the only owner, and the editor must keep one: make another user an owner first (`newsletter users role EMAIL owner`, or the users page), then remove or change \(email)"
        }
    }
}

/// The editor users, their invitations and sessions, as each store keeps them. Tokens
/// (sessions, invitations) are kept only as their SHA-256 (`LinkToken.hash`).
public protocol EditorAccountStore: Sendable {
    /// Adds a user; `passwordHash` nil for one who is only invited. Throws `.exists`.
    func addEditorUser(email: String, role: EditorRole, passwordHash: String?, at time: Date) async throws
        -> EditorUser
    func editorUsers() async throws -> [EditorUser]
    /// The user and the stored password hash (nil: invited only), for a login.
    func editorCredentials(email: String) async throws -> (user: EditorUser, passwordHash: String?)?
    /// Removes the user with its sessions and invitations; false when there was none. Throws
    /// `.lastOwner`, changing nothing, for the only owner.
    func removeEditorUser(email: String) async throws -> Bool
    /// False when there is no such user. Throws `.lastOwner`, changing nothing, when the only
    /// owner would become an editor or viewer.
    func setEditorRole(email: String, role: EditorRole) async throws -> Bool
    /// Whether any owner exists: from then on the shared editor token is refused.
    func editorOwnerExists() async throws -> Bool
    /// Stores an invitation (its token's hash) for an existing user, replacing any older one.
    func addEditorInvitation(email: String, tokenHash: String, expiresAt: Date, at time: Date) async throws
    /// The user an unused, unexpired invitation is for (nil otherwise), without spending it.
    func editorInvitation(tokenHash: String, at time: Date) async throws -> EditorUser?
    /// Sets the password and spends the invitation in one transaction; nil when it was not usable.
    func redeemEditorInvitation(tokenHash: String, passwordHash: String, at time: Date) async throws -> EditorUser?
    func addEditorSession(userID: Int64, tokenHash: String, expiresAt: Date, at time: Date) async throws
    /// The user of an unexpired session (expired sessions are forgotten on the way).
    func editorSession(tokenHash: String, at time: Date) async throws -> EditorUser?
    func removeEditorSession(tokenHash: String) async throws
}
