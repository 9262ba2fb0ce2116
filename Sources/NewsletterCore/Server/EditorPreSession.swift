import Crypto
import Foundation
import Hummingbird

/// The CSRF guard of the forms posted before there is a session to bind them to: the login and
/// the invitation's password. Without it another site could post its own address and password
/// to `/editor/login` from a victim's browser and have them work, unknowing, in the attacker's
/// account (login CSRF).
///
/// `GET` of the form sets a random cookie (`newsletter_login`: 256 bits from the system CSPRNG;
/// `HttpOnly; Secure; SameSite=Strict; Path=/editor`, an hour), and the form carries a
/// `form_token` keyed by that cookie (``EditorFormToken``, over what the form is for). A post
/// counts only when the two match: another site can neither read the cookie nor the page.
struct EditorPreSession: Sendable {
    static let cookieName = "newsletter_login"
    /// How long a login or invitation form stays usable.
    static let lifetime: TimeInterval = 3600

    /// The cookie's value, the key of the forms' tokens.
    let value: String

    /// What a form is for, the subject of its token: a login form's token is refused by the
    /// invitation, and one invitation's by another's.
    enum Purpose {
        case login
        case invitation(token: String)

        var subject: String {
            switch self {
            case .login: "login"
            case .invitation(let token): "invitation \(LinkToken.hash(token))"
            }
        }
    }

    /// The browser's own pre-session when it sends one (a second tab's form keeps working), or
    /// a new one.
    init(_ request: Request) {
        if let sent = request.cookies[Self.cookieName]?.value, Self.wellFormed(sent) {
            value = sent
        } else {
            value = LinkToken.make()
        }
    }

    /// `LinkToken.make()`'s shape: 43 base64url characters.
    private static func wellFormed(_ value: String) -> Bool {
        value.utf8.count == 43
            && value.utf8.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    var cookie: Cookie {
        Cookie(
            name: Self.cookieName, value: value, maxAge: Int(Self.lifetime), path: "/editor", secure: true,
            httpOnly: true, sameSite: .strict)
    }

    /// Sent once logged in: the pre-session has done its work.
    static var expired: Cookie {
        Cookie(name: cookieName, value: "", maxAge: 0, path: "/editor", secure: true, httpOnly: true, sameSite: .strict)
    }

    private var forms: EditorFormToken {
        EditorFormToken(
            keyBytes: Array(SHA256.hash(data: Data("newsletter editor login forms\n\(value)".utf8))),
            lifetime: Self.lifetime)
    }

    /// The `form_token` of a form for `purpose`, made at `time`.
    func formToken(_ purpose: Purpose, at time: Date) -> String {
        forms.make(subject: purpose.subject, at: time)
    }

    /// Why a login or invitation post was refused (403): each says what to do.
    enum Refusal: Error, Equatable, CustomStringConvertible {
        /// No pre-session cookie: the post did not come from a form this browser loaded here,
        /// or the browser refuses cookies.
        case noCookie
        /// The form's token is missing, or not this cookie's, or over an hour old.
        case form(EditorFormToken.Refusal)

        var description: String {
            switch self {
            case .noCookie:
                "The post came without the login page's cookie (another site's form, or cookies turned off for this site): use the form below"
            case .form(.expired): "The form was over an hour old: use the form below"
            case .form: "The post did not come from this server's form in this browser: use the form below"
            }
        }
    }

    /// Refuses a post whose `form_token` was not made for `purpose` with the browser's
    /// pre-session cookie.
    static func check(_ request: Request, _ fields: FormFields, _ purpose: Purpose, at time: Date) throws(Refusal) {
        guard let sent = request.cookies[cookieName]?.value, wellFormed(sent) else { throw .noCookie }
        do {
            try EditorPreSession(request).forms.check(fields[EditorFormToken.field], subject: purpose.subject, at: time)
        } catch {
            throw .form(error)
        }
    }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
