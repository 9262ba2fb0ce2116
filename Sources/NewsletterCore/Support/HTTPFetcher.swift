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
        Curl.ensureGlobalInit()
        guard let handle = curl_easy_init() else {
            throw PageError(source: url, kind: .unreachable, message: "libcurl could not create a handle")
        }
        defer { curl_easy_cleanup(handle) }
        let sink = Curl.BodySink(limit: maxBytes)
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let result: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            nl_curl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorPointer.baseAddress)
            nl_curl_easy_setopt_string(handle, CURLOPT_URL, url)
            nl_curl_easy_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
            nl_curl_easy_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
            nl_curl_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1)
            nl_curl_easy_setopt_long(handle, CURLOPT_MAXREDIRS, 5)
            nl_curl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            nl_curl_easy_setopt_long(handle, CURLOPT_TIMEOUT, timeoutSeconds)
            nl_curl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds)
            nl_curl_easy_setopt_off_t(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(maxBytes))
            nl_curl_easy_setopt_string(handle, CURLOPT_USERAGENT, userAgent)
            nl_curl_easy_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, "")
            sink.attach(to: handle)
            return curl_easy_perform(handle)
        }
        withExtendedLifetime(sink) {}

        if sink.overflowed || result == CURLE_FILESIZE_EXCEEDED {
            throw PageError(
                source: url, kind: .tooLarge,
                message: "the response is larger than the \(ByteCount(maxBytes)) limit (ingest.max_page_bytes)")
        }
        guard result == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let reason = detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail
            throw PageError(source: url, kind: .unreachable, message: "could not fetch: \(reason)")
        }
        var status = 0
        nl_curl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var contentType: UnsafeMutablePointer<CChar>?
        nl_curl_easy_getinfo_string(handle, CURLINFO_CONTENT_TYPE, &contentType)
        var effective: UnsafeMutablePointer<CChar>?
        nl_curl_easy_getinfo_string(handle, CURLINFO_EFFECTIVE_URL, &effective)
        guard (200..<300).contains(status) else {
            throw PageError(source: url, kind: .httpStatus, message: "the server answered HTTP \(status)")
        }
        return FetchedResource(
            body: sink.body, contentType: contentType.map { String(cString: $0) },
            effectiveURL: effective.map { String(cString: $0) } ?? url)
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
        func attach(to handle: UnsafeMutableRawPointer) {
            nl_curl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(self).toOpaque())
            nl_curl_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, Self.write)
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
