import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The token the preferences page's "Erase me" forms carry (`form_token`): an HMAC-SHA256,
/// keyed by a secret the store makes for itself (`store_secret` row `reader-forms`), over the
/// hash of the page's link token and the time the page was made, good for an hour. The link
/// token already names the reader; this one says the post came from a page this server
/// rendered for that link, lately (a form kept in an old tab, or made elsewhere, is refused).
struct ReaderFormToken: Sendable {
    static let secretName = "reader-forms"
    static let field = "form_token"
    private let core: EditorFormToken

    init(key: [UInt8], lifetime: TimeInterval = 3600) {
        core = EditorFormToken(keyBytes: key, lifetime: lifetime)
    }

    func make(linkToken: String, at time: Date) -> String {
        core.make(subject: Self.subject(linkToken), at: time)
    }

    func check(_ presented: String?, linkToken: String, at time: Date) throws(BadRequest) {
        do {
            try core.check(presented, subject: Self.subject(linkToken), at: time)
        } catch .expired {
            throw BadRequest(status: 403, "this page is too old to act from: open your preferences again and retry")
        } catch {
            throw BadRequest(
                status: 403,
                "the form's \"\(Self.field)\" was not made by this server for this link: use the preferences page")
        }
    }

    private static func subject(_ linkToken: String) -> String { "erase\n\(LinkToken.hash(linkToken))" }
}

/// The reader's own data, from the preferences page: a JSON download of what the list holds
/// about them, and erasure (with a confirmation step). The link token is the authority, as for
/// the rest of the page; the erase posts also carry the page's `ReaderFormToken`.
extension SubscriberRoutes {
    func registerReaderData(on router: Router<some RequestContext>) {
        router.get("/preferences/:token/data") { _, context in
            let token = try context.parameters.require("token")
            guard SubscriberInput.looksLikeToken(token), let data = try await store.readerData(unsubscribeToken: token) else {
                return pages.unknownLink()
            }
            var headers = PageRenderer.headers(contentType: "application/json; charset=utf-8")
            headers[.contentDisposition] = "attachment; filename=\"my-data.json\""
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(data: try data.json())))
        }
        router.post("/preferences/:token/erase") { request, context in
            do {
                _ = try admit(request, context)
                let fields = try await formFields(request)
                let token = try context.parameters.require("token")
                guard SubscriberInput.looksLikeToken(token), let subscriber = try await store.subscriber(unsubscribeToken: token)
                else { return pages.unknownLink() }
                let forms = ReaderFormToken(key: try await store.readerFormKey())
                let now = time.now()
                try forms.check(fields[ReaderFormToken.field], linkToken: token, at: now)
                guard fields["confirm"] == "yes" else {
                    return pages.page(
                        "erase-confirm",
                        [
                            "title": "Erase your data", "email": subscriber.email,
                            "action": "/preferences/\(token)/erase", "formToken": forms.make(linkToken: token, at: now),
                        ])
                }
                switch try await store.erase(unsubscribeToken: token) {
                case .erased: return pages.page("erased", ["title": "Erased"])
                case .alreadyErased, .unknown: return pages.unknownLink()
                }
            } catch let error as BadRequest {
                return pages.failure(error, json: false)
            }
        }
    }

    /// The preferences page's links and form token for the reader's own data.
    func readerDataValues(token: String) async throws -> [String: Any] {
        let forms = ReaderFormToken(key: try await store.readerFormKey())
        return [
            "dataURL": "/preferences/\(token)/data", "eraseAction": "/preferences/\(token)/erase",
            "formToken": forms.make(linkToken: token, at: time.now()),
        ]
    }
}
