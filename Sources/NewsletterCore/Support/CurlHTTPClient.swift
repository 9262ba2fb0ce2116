import CNewsletterCurl
import Foundation

/// One HTTP(S) request, as both the page fetcher and the model client make it.
struct CurlHTTPRequest {
    var url: String
    /// POSTed when set; a GET otherwise.
    var body: Data? = nil
    /// Whole header lines ("Content-Type: application/json"); none may hold a line break.
    var headers: [String] = []
    /// Redirects are followed (http and https only, at most five) when true.
    var followsRedirects = false
    var timeoutSeconds: Int
    var connectTimeoutSeconds: Int
    /// A larger answer aborts the transfer (`CurlHTTPFailure.tooLarge`).
    var maxResponseBytes: Int
    var userAgent: String? = nil
    /// Every encoding libcurl can decode is offered and decoded.
    var acceptsCompression = false
    /// Only https, and the server checked against this CA bundle instead of the system's.
    var caFile: String? = nil
    /// CURLOPT_CONNECT_TO entries ("::203.0.113.5:443"): where to connect whatever the URL's
    /// host resolves to, so an address checked before the transfer is the one it reaches; such
    /// a transfer never goes through a proxy.
    var connectTo: [String] = []
}

/// An answer of any status: what to make of the status is the caller's business.
struct CurlHTTPResponse {
    var status: Int
    var body: [UInt8]
    var contentType: String?
    /// Where the body came from after redirects.
    var effectiveURL: String
}

/// Why a request got no answer, in terms a caller maps onto its own errors.
enum CurlHTTPFailure: Error, CustomStringConvertible {
    /// libcurl refused one of the request's settings (a URL longer than it takes, say): the
    /// request was never sent, and sending it with other settings would be wrong.
    case refusedSetting(CurlError)
    /// A header line holds a CR or LF: sent, it would add headers of its own.
    case headerWithLineBreak(name: String)
    /// The answer was larger than `maxResponseBytes`.
    case tooLarge
    /// The transfer failed: libcurl's code and its detail.
    case transfer(code: CURLcode, reason: String)

    var description: String {
        switch self {
        case .refusedSetting(let error): "\(error)"
        case .headerWithLineBreak(let name): "the \(name) header holds a line break"
        case .tooLarge: "the answer is larger than the limit"
        case .transfer(_, let reason): reason
        }
    }
}

/// HTTP through a `CurlEasy` handle, so every option set is checked: the one client that pages,
/// feeds and model servers are fetched with. Blocking, a handle per request.
enum CurlHTTPClient {
    static func perform(_ request: CurlHTTPRequest) throws(CurlHTTPFailure) -> CurlHTTPResponse {
        for line in request.headers where line.contains(where: \.isNewline) {
            throw .headerWithLineBreak(name: String(line.prefix { $0 != ":" }.prefix(40)))
        }
        let sink = Curl.BodySink(limit: request.maxResponseBytes)
        var headers: UnsafeMutablePointer<curl_slist>? = nil
        for line in request.headers { headers = curl_slist_append(headers, line) }
        var connectTo: UnsafeMutablePointer<curl_slist>? = nil
        for entry in request.connectTo { connectTo = curl_slist_append(connectTo, entry) }
        // libcurl keeps the lists' pointers: they live until the transfer is over.
        defer {
            curl_slist_free_all(headers)
            curl_slist_free_all(connectTo)
        }
        let curl: CurlEasy
        do {
            curl = try CurlEasy()
            try configure(curl, for: request, headers: headers, connectTo: connectTo, sink: sink)
        } catch {
            throw .refusedSetting(error)
        }
        let (code, detail) = withExtendedLifetime(sink) { curl.performReturningCode() }
        if sink.overflowed || code == CURLE_FILESIZE_EXCEEDED { throw .tooLarge }
        guard code == CURLE_OK else {
            throw .transfer(code: code, reason: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        return CurlHTTPResponse(
            status: curl.info(long: CURLINFO_RESPONSE_CODE) ?? 0, body: sink.body,
            contentType: curl.info(string: CURLINFO_CONTENT_TYPE),
            effectiveURL: curl.info(string: CURLINFO_EFFECTIVE_URL) ?? request.url)
    }

    private static func configure(
        _ curl: CurlEasy, for request: CurlHTTPRequest, headers: UnsafeMutablePointer<curl_slist>?,
        connectTo: UnsafeMutablePointer<curl_slist>?, sink: Curl.BodySink
    ) throws(CurlError) {
        try curl.set(CURLOPT_URL, request.url, "CURLOPT_URL")
        try curl.set(CURLOPT_PROTOCOLS_STR, "http,https", "CURLOPT_PROTOCOLS_STR")
        if request.followsRedirects {
            try curl.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https", "CURLOPT_REDIR_PROTOCOLS_STR")
            try curl.set(CURLOPT_FOLLOWLOCATION, 1, "CURLOPT_FOLLOWLOCATION")
            try curl.set(CURLOPT_MAXREDIRS, 5, "CURLOPT_MAXREDIRS")
        }
        try curl.set(CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL")
        try curl.set(CURLOPT_TIMEOUT, request.timeoutSeconds, "CURLOPT_TIMEOUT")
        try curl.set(CURLOPT_CONNECTTIMEOUT, request.connectTimeoutSeconds, "CURLOPT_CONNECTTIMEOUT")
        try curl.set(CURLOPT_MAXFILESIZE_LARGE, offset: curl_off_t(request.maxResponseBytes), "CURLOPT_MAXFILESIZE_LARGE")
        if let userAgent = request.userAgent { try curl.set(CURLOPT_USERAGENT, userAgent, "CURLOPT_USERAGENT") }
        if request.acceptsCompression { try curl.set(CURLOPT_ACCEPT_ENCODING, "", "CURLOPT_ACCEPT_ENCODING") }
        if let caFile = request.caFile { try curl.set(CURLOPT_CAINFO, caFile, "CURLOPT_CAINFO") }
        if headers != nil { try curl.set(CURLOPT_HTTPHEADER, list: headers, "CURLOPT_HTTPHEADER") }
        if connectTo != nil {
            try curl.set(CURLOPT_CONNECT_TO, list: connectTo, "CURLOPT_CONNECT_TO")
            // Straight to the address checked: through a proxy named by the environment
            // (http_proxy, ALL_PROXY) the proxy would resolve the host itself, after the check.
            try curl.set(CURLOPT_PROXY, "", "CURLOPT_PROXY")
        }
        try sink.attach(to: curl)
        if let body = request.body {
            try curl.set(CURLOPT_POST, 1, "CURLOPT_POST")
            try curl.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: curl_off_t(body.count), "CURLOPT_POSTFIELDSIZE_LARGE")
            // COPYPOSTFIELDS copies the bytes, so they need not outlive this call.
            let refused: CurlError? = body.withUnsafeBytes { bytes in
                do throws(CurlError) {
                    try curl.set(
                        CURLOPT_COPYPOSTFIELDS, pointer: UnsafeMutableRawPointer(mutating: bytes.baseAddress),
                        "CURLOPT_COPYPOSTFIELDS")
                    return nil
                } catch {
                    return error
                }
            }
            if let refused { throw refused }
        }
    }
}
