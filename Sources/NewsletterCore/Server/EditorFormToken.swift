import Crypto
import Foundation

/// The token every editor form carries (`form_token`), so that only a page this server rendered
/// for this editor can post to it: `SECONDS.MAC`, an HMAC-SHA256 keyed by the editor's own
/// secret (their session's token, or the shared editor token) over the form's subject (the
/// week, or `account` for the pages that are not an issue's) and the time the page was made,
/// good for `lifetime`. Another site can neither read it from the page (same-origin policy) nor
/// make one (it needs the session or the token), and one session's token is refused in another,
/// so a browser that sends the editor's cookie or Basic credentials along with a forged post
/// still gets a 403. It sits on top of the Fetch Metadata / Origin check, which old browsers and
/// some proxies defeat.
struct EditorFormToken: Sendable {
    /// The HMAC key's bytes (SymmetricKey itself is not Sendable).
    private let keyBytes: [UInt8]
    /// How long a page's forms stay usable; a page left open longer is reloaded.
    var lifetime: TimeInterval = 12 * 3600
    /// Tolerated clock difference for a token "from the future" (several servers, one token).
    var skew: TimeInterval = 300

    static let field = "form_token"

    init(editorToken: String) {
        keyBytes = Array(SHA256.hash(data: Data("newsletter editor forms\n\(editorToken)".utf8)))
    }

    /// Bound to one login: the session's token is the key, which only its cookie holds.
    init(sessionToken: String) {
        keyBytes = Array(SHA256.hash(data: Data("newsletter editor session forms\n\(sessionToken)".utf8)))
    }

    /// The subject of the editor forms that are not an issue's (log out, users).
    static let accountScope = "account"

    /// Forms keyed by another secret (the readers' pages: `ReaderFormToken`).
    init(keyBytes: [UInt8], lifetime: TimeInterval) {
        self.keyBytes = keyBytes
        self.lifetime = lifetime
    }

    func make(for week: IssueWeek, at time: Date) -> String { make(subject: week.description, at: time) }

    /// A token for forms about `subject` (what the page acts on).
    func make(subject: String, at time: Date) -> String {
        let seconds = Int64(time.timeIntervalSince1970.rounded(.down))
        return "\(seconds).\(mac(subject, seconds))"
    }

    enum Refusal: Error, Equatable, CustomStringConvertible {
        case missing, malformed, expired, forged

        var description: String {
            switch self {
            case .missing: "the form has no \"\(EditorFormToken.field)\": send it from the editor page"
            case .malformed, .forged:
                "the form's \"\(EditorFormToken.field)\" was not made by this server for this page: reload the page"
            case .expired: "the editor page is too old to act from: reload it and try again"
            }
        }
    }

    func check(_ presented: String?, for week: IssueWeek, at time: Date) throws(Refusal) {
        try check(presented, subject: week.description, at: time)
    }

    func check(_ presented: String?, subject: String, at time: Date) throws(Refusal) {
        guard let presented, !presented.isEmpty else { throw .missing }
        let parts = presented.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let seconds = Int64(parts[0]), parts[1].count == 64 else { throw .malformed }
        // Compared as digests, so the time taken says nothing about how much of the MAC was right.
        guard
            Array(SHA256.hash(data: Data(parts[1].utf8))) == Array(SHA256.hash(data: Data(mac(subject, seconds).utf8)))
        else { throw .forged }
        let age = time.timeIntervalSince1970 - TimeInterval(seconds)
        guard age <= lifetime, age >= -skew else { throw .expired }
    }

    private func mac(_ subject: String, _ seconds: Int64) -> String {
        Hex.encode(
            HMAC<SHA256>.authenticationCode(for: Data("\(subject)\n\(seconds)".utf8), using: SymmetricKey(data: keyBytes)))
    }
}
