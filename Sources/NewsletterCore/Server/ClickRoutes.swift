import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// `GET /r/{id}` (and HEAD, and `/r/{id}/{reader token}` under per-reader tracking): a 302 to
/// the stored target of a link of a sent issue, counted by `ClickCounter`. Any other id is
/// 404: an id of the wrong shape is refused before the store is asked, an unknown id or a
/// draft's looks the same, so drafts cannot be found by trying ids. The Location header is only
/// ever a stored target, checked again here (`TrackedLink.isRedirectable`).
public struct ClickRoutes<Store: ClickStore>: Sendable {
    public var store: Store
    public var counter: ClickCounter
    /// Verifies per-reader tokens; nil counts every click for nobody in particular.
    public var readerKey: ClickReaderKey?
    public var trustForwardedFor: Bool
    /// Links of sent issues already looked up: a sent issue stays sent, so a hit never goes stale.
    private let known = SentLinks()

    public init(store: Store, counter: ClickCounter, readerKey: ClickReaderKey?, trustForwardedFor: Bool) {
        self.store = store
        self.counter = counter
        self.readerKey = readerKey
        self.trustForwardedFor = trustForwardedFor
    }

    public func register(on router: Router<some RequestContext>) {
        for path in ["/r/:id", "/r/:id/:reader"] {
            router.get(RouterPath(path)) { request, context in try await redirect(request, context) }
            router.on(RouterPath(path), method: .head) { request, context in try await redirect(request, context) }
        }
    }

    func redirect(_ request: Request, _ context: some RequestContext) async throws -> Response {
        guard let id = context.parameters.get("id"), TrackedLink.isWellFormedID(id[...]) else { return notFound }
        let link: TrackedLink
        if let cached = known[id] {
            link = cached
        } else {
            guard let stored = try await store.sentLink(id: id) else { return notFound }
            known[id] = stored
            link = stored
        }
        guard TrackedLink.isRedirectable(link.target) else { return notFound }
        let reader = context.parameters.get("reader")
        let subscriberID = reader.flatMap { readerKey?.subscriber(token: $0[...], week: link.week) }
        let userAgent = request.headers[.userAgent]
        counter.count(
            linkID: link.id, subscriberID: subscriberID,
            message: subscriberID.map { "\(link.week)/\($0)" }
                ?? "\(link.week)/\(client(request, context))/\(userAgent ?? "")",
            scanner: ScannerRule.looksLikeScanner(isHead: request.method == .head, userAgent: userAgent))
        var headers = HTTPFields()
        headers[.location] = link.target
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return Response(status: .found, headers: headers)
    }

    /// The client's address, for the burst rule when the link names no reader.
    private func client(_ request: Request, _ context: some RequestContext) -> String {
        if trustForwardedFor, let forwarded = request.headers[values: HTTPField.Name("X-Forwarded-For")!].last,
            let last = forwarded.split(separator: ",").last
        {
            return last.trimmingCharacters(in: .whitespaces)
        }
        return (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress ?? "-"
    }

    private var notFound: Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(
            status: .notFound, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "Not found\n")))
    }
}

/// The sent links the redirect has looked up, at most `limit` (then it starts afresh).
final class SentLinks: Sendable {
    private let links = Mutex<[String: TrackedLink]>([:])
    let limit = 100_000

    subscript(id: String) -> TrackedLink? {
        get { links.withLock { $0[id] } }
        set {
            links.withLock { links in
                if links.count >= limit { links.removeAll(keepingCapacity: true) }
                links[id] = newValue
            }
        }
    }
}
