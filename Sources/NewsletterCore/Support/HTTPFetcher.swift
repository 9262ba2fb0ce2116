import CNewsletterCurl
import Foundation

/// A fetched http(s) resource.
public struct FetchedResource: Sendable {
    public var body: [UInt8]
    public var contentType: String?
    /// Where the body came from after redirects.
    public var effectiveURL: String
}

/// Fetches pages and feeds. A protocol so the ingester can be handed another fetcher.
public protocol ResourceFetching: Sendable {
    func fetch(_ url: String) throws(PageError) -> FetchedResource
}

/// HTTP(S) GET through libcurl: redirects followed (http and https only), bounded in size and
/// time, and every failure turned into a `PageError` that names the URL.
public struct CurlFetcher: ResourceFetching {
    public var maxBytes: Int
    public var timeoutSeconds: Int
    public var connectTimeoutSeconds: Int
    public var userAgent: String

    public init(maxBytes: Int, timeoutSeconds: Int, connectTimeoutSeconds: Int, userAgent: String) {
        self.maxBytes = maxBytes
        self.timeoutSeconds = timeoutSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.userAgent = userAgent
    }

    public func fetch(_ url: String) throws(PageError) -> FetchedResource {
        let request = CurlHTTPRequest(
            url: url, followsRedirects: true, timeoutSeconds: timeoutSeconds,
            connectTimeoutSeconds: connectTimeoutSeconds, maxResponseBytes: maxBytes, userAgent: userAgent,
            acceptsCompression: true)
        let response: CurlHTTPResponse
        do {
            response = try CurlHTTPClient.perform(request)
        } catch {
            switch error {
            case .tooLarge:
                throw PageError(
                    source: url, kind: .tooLarge,
                    message: "the response is larger than the \(ByteCount(maxBytes)) limit (ingest.max_page_bytes)")
            case .refusedSetting, .headerWithLineBreak:
                // A URL libcurl refuses may be megabytes long: the message names its start.
                let source = url.count > 200 ? String(url.prefix(200)) + "…" : url
                throw PageError(source: source, kind: .unreachable, message: "could not make the request: \(error)")
            case .transfer(_, let reason):
                throw PageError(source: url, kind: .unreachable, message: "could not fetch: \(reason)")
            }
        }
        guard (200..<300).contains(response.status) else {
            throw PageError(source: url, kind: .httpStatus, message: "the server answered HTTP \(response.status)")
        }
        return FetchedResource(body: response.body, contentType: response.contentType, effectiveURL: response.effectiveURL)
    }
}

enum Curl {
    /// curl_global_init must run once before any handle exists; a static let runs it exactly once.
    private static let initialized: Bool = nl_curl_global_init_default() == CURLE_OK

    static func ensureGlobalInit() {
        _ = initialized
    }

    /// A response body gathered in memory, up to `limit` bytes: past it the write callback
    /// refuses the data, which makes libcurl abort the transfer with CURLE_WRITE_ERROR.
    final class BodySink {
        let limit: Int
        var body: [UInt8] = []
        var overflowed = false

        init(limit: Int) { self.limit = limit }

        /// Points the handle's writes here; the sink must outlive the transfer.
        func attach(to curl: CurlEasy) throws(CurlError) {
            try curl.set(CURLOPT_WRITEDATA, pointer: Unmanaged.passUnretained(self).toOpaque(), "CURLOPT_WRITEDATA")
            try curl.set(CURLOPT_WRITEFUNCTION, callback: Self.write, "CURLOPT_WRITEFUNCTION")
        }

        /// The write callback: its context is a `BodySink`.
        static let write: nl_curl_data_callback = { data, size, count, context in
            let sink = Unmanaged<BodySink>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            guard sink.body.count + length <= sink.limit else {
                sink.overflowed = true
                return 0
            }
            data!.withMemoryRebound(to: UInt8.self, capacity: length) {
                sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
            }
            return length
        }
    }
}

/// "5.0 MiB", for limits in messages.
struct ByteCount: CustomStringConvertible {
    var bytes: Int
    init(_ bytes: Int) { self.bytes = bytes }

    var description: String {
        if bytes >= 1 << 20 { return String(format: "%.1f MiB", Double(bytes) / Double(1 << 20)) }
        if bytes >= 1 << 10 { return String(format: "%.1f KiB", Double(bytes) / Double(1 << 10)) }
        return "\(bytes) bytes"
    }
}
