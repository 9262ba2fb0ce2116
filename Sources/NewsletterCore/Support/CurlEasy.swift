import CNewsletterCurl
import Foundation

/// A libcurl easy handle whose every `curl_easy_setopt` is checked: an option libcurl refuses
/// (an unknown protocol in this build, an out-of-memory copy) is an error naming the option,
/// never a transfer that silently runs with other settings.
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    /// libcurl writes here until curl_easy_cleanup, so it lives as long as the handle.
    private let errorBuffer: UnsafeMutablePointer<CChar>

    init() throws(CurlError) {
        Curl.ensureGlobalInit()
        guard let handle = curl_easy_init() else { throw CurlError(what: "curl_easy_init", code: CURLE_FAILED_INIT) }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        try check(nl_curl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer), "CURLOPT_ERRORBUFFER")
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    func set(_ option: CURLoption, _ value: Int, _ name: String) throws(CurlError) {
        try check(nl_curl_easy_setopt_long(handle, option, value), name)
    }

    /// nil resets a string option (libcurl copies the string).
    func set(_ option: CURLoption, _ value: String?, _ name: String) throws(CurlError) {
        try check(nl_curl_easy_setopt_string(handle, option, value), name)
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?, _ name: String) throws(CurlError) {
        try check(nl_curl_easy_setopt_pointer(handle, option, pointer), name)
    }

    func set(_ option: CURLoption, callback: nl_curl_data_callback, _ name: String) throws(CurlError) {
        try check(nl_curl_easy_setopt_data_callback(handle, option, callback), name)
    }

    func set(_ option: CURLoption, offset value: curl_off_t, _ name: String) throws(CurlError) {
        try check(nl_curl_easy_setopt_off_t(handle, option, value), name)
    }

    /// libcurl keeps the pointer, not a copy: the list must outlive the transfers that use it.
    func set(_ option: CURLoption, list: UnsafeMutablePointer<curl_slist>?, _ name: String) throws(CurlError) {
        try check(nl_curl_easy_setopt_slist(handle, option, list), name)
    }

    /// A number libcurl knows about the last transfer (the response code); nil when it has none.
    func info(long info: CURLINFO) -> Int? {
        var value = 0
        return nl_curl_easy_getinfo_long(handle, info, &value) == CURLE_OK ? value : nil
    }

    /// A string libcurl knows about the last transfer (content type, effective URL), copied.
    func info(string info: CURLINFO) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        guard nl_curl_easy_getinfo_string(handle, info, &value) == CURLE_OK, let value else { return nil }
        return String(cString: value)
    }

    func setDebugCallback(_ callback: nl_curl_debug_callback) throws(CurlError) {
        try check(nl_curl_easy_setopt_debug_callback(handle, callback), "CURLOPT_DEBUGFUNCTION")
    }

    /// Runs the transfer; a failure carries libcurl's own detail (the server's last words).
    func perform() throws(CurlError) {
        let (result, detail) = performReturningCode()
        guard result == CURLE_OK else { throw CurlError(what: "transfer", code: result, detail: detail) }
    }

    /// Runs the transfer and returns its code and libcurl's detail (empty when it has none), for
    /// a caller that decides itself what a failure means.
    func performReturningCode() -> (code: CURLcode, detail: String) {
        errorBuffer[0] = 0
        let result = curl_easy_perform(handle)
        return (result, result == CURLE_OK ? "" : String(cString: errorBuffer))
    }

    private func check(_ code: CURLcode, _ name: String) throws(CurlError) {
        guard code == CURLE_OK else { throw CurlError(what: name, code: code) }
    }
}

/// A libcurl call that failed: which one, and libcurl's words for why.
struct CurlError: Error, CustomStringConvertible {
    var what: String
    var code: CURLcode
    var detail: String = ""

    var description: String {
        let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        return what == "transfer" ? reason : "libcurl refused \(what): \(reason)"
    }
}
