import CNewsletterCurl
import Foundation

/// SMTP through libcurl: one recipient per transaction, the connection kept open across a
/// session's messages, STARTTLS required unless plaintext was explicitly allowed.
public struct SMTPTransport: MailTransport {
    public struct Settings: Sendable, Equatable {
        /// `smtp://host:port` or `smtps://host:port`.
        public var url: String
        public var username: String?
        public var password: String?
        /// Plain `smtp://` without STARTTLS; meant for a relay on loopback.
        public var allowPlaintext = false
        public var connectTimeoutSeconds = 10
        /// Longest wait for any one server reply.
        public var commandTimeoutSeconds = 30
        /// Longest time for a whole message.
        public var messageTimeoutSeconds = 120
        /// CA bundle to verify the server's certificate with (a private relay's own CA);
        /// nil uses the system's.
        public var caFile: String?

        public init(url: String, username: String? = nil, password: String? = nil, allowPlaintext: Bool = false) {
            self.url = url
            self.username = username
            self.password = password
            self.allowPlaintext = allowPlaintext
        }
    }

    public var settings: Settings
    public var name: String { "smtp" }

    public init(settings: Settings) {
        self.settings = settings
    }

    public func makeSession() throws(TransportUnavailable) -> any MailSession {
        Curl.ensureGlobalInit()
        guard let handle = curl_easy_init() else {
            throw TransportUnavailable(reason: "libcurl could not create a handle")
        }
        return Session(handle: handle, settings: settings)
    }

    final class Session: MailSession {
        let handle: UnsafeMutableRawPointer
        let settings: Settings
        /// The server's reply lines of the current transaction, from libcurl's debug stream.
        var replies: [String] = []
        var upload: [UInt8] = []
        var uploadOffset = 0

        init(handle: UnsafeMutableRawPointer, settings: Settings) {
            self.handle = handle
            self.settings = settings
        }

        deinit { curl_easy_cleanup(handle) }

        func close() {}

        func send(_ message: [UInt8], from: String, to: String, reference: String) throws(TransportUnavailable)
            -> SendOutcome
        {
            // libcurl 7.88 does not check envelope addresses for CR/LF: never pass them on.
            for address in [from, to] where address.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                return .permanent(reply: "refused locally: the address contains CR, LF or NUL")
            }
            replies.removeAll(keepingCapacity: true)
            upload = message
            uploadOffset = 0
            let context = Unmanaged.passUnretained(self).toOpaque()
            let recipients = curl_slist_append(nil, "<\(to)>")
            defer { curl_slist_free_all(recipients) }
            var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
            let result: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
                nl_curl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress)
                nl_curl_easy_setopt_string(handle, CURLOPT_URL, settings.url)
                nl_curl_easy_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps")
                nl_curl_easy_setopt_long(
                    handle, CURLOPT_USE_SSL, settings.allowPlaintext ? 0 : Int(CURLUSESSL_ALL.rawValue))
                nl_curl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
                nl_curl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, settings.connectTimeoutSeconds)
                nl_curl_easy_setopt_long(handle, CURLOPT_SERVER_RESPONSE_TIMEOUT, settings.commandTimeoutSeconds)
                nl_curl_easy_setopt_long(handle, CURLOPT_TIMEOUT, settings.messageTimeoutSeconds)
                if let caFile = settings.caFile { nl_curl_easy_setopt_string(handle, CURLOPT_CAINFO, caFile) }
                if let username = settings.username { nl_curl_easy_setopt_string(handle, CURLOPT_USERNAME, username) }
                if let password = settings.password { nl_curl_easy_setopt_string(handle, CURLOPT_PASSWORD, password) }
                nl_curl_easy_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(from)>")
                nl_curl_easy_setopt_slist(handle, CURLOPT_MAIL_RCPT, recipients)
                nl_curl_easy_setopt_long(handle, CURLOPT_UPLOAD, 1)
                nl_curl_easy_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(message.count))
                nl_curl_easy_setopt_pointer(handle, CURLOPT_READDATA, context)
                nl_curl_easy_setopt_data_callback(handle, CURLOPT_READFUNCTION) { buffer, size, count, context in
                    let session = Unmanaged<Session>.fromOpaque(context!).takeUnretainedValue()
                    let length = min(size * count, session.upload.count - session.uploadOffset)
                    session.upload.withUnsafeBufferPointer { source in
                        buffer!.withMemoryRebound(to: UInt8.self, capacity: length) {
                            $0.update(from: source.baseAddress! + session.uploadOffset, count: length)
                        }
                    }
                    session.uploadOffset += length
                    return length
                }
                nl_curl_easy_setopt_long(handle, CURLOPT_VERBOSE, 1)
                nl_curl_easy_setopt_pointer(handle, CURLOPT_DEBUGDATA, context)
                nl_curl_easy_setopt_debug_callback(handle) { _, type, data, size, context in
                    guard type == CURLINFO_HEADER_IN, let data, let context else { return 0 }
                    let session = Unmanaged<Session>.fromOpaque(context).takeUnretainedValue()
                    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
                    session.replies.append(line.trimmingCharacters(in: .whitespacesAndNewlines))
                    return 0
                }
                return curl_easy_perform(handle)
            }
            withExtendedLifetime(self) {}
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // The reply that decided the transaction: the last error reply, else the last reply
            // before QUIT's "221".
            let decisive =
                replies.last { Int($0.prefix(3)).map { $0 >= 400 } ?? false }
                ?? replies.last { !$0.hasPrefix("221") }
            let reply = decisive ?? (detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail)
            switch result {
            case CURLE_OK:
                return .sent(reply: reply)
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_LOGIN_DENIED, CURLE_USE_SSL_FAILED,
                CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_UNSUPPORTED_PROTOCOL,
                CURLE_URL_MALFORMAT:
                throw TransportUnavailable(reason: "\(settings.url): \(detail.isEmpty ? reply : detail)")
            default:
                // Stuck in the middle of AUTH (the server never answered our credentials): that
                // is the server refusing us, not a problem with this recipient.
                if replies.last?.hasPrefix("334") == true {
                    throw TransportUnavailable(reason: "\(settings.url): authentication did not complete (\(detail))")
                }
                // The server's last reply decides: 5xx is permanent, anything else is worth a retry.
                if let code = decisive.flatMap({ Int($0.prefix(3)) }), (500..<600).contains(code) {
                    if code == 530 || code == 535 || code == 534 {  // authentication required / refused
                        throw TransportUnavailable(reason: "\(settings.url): \(reply)")
                    }
                    return .permanent(reply: reply)
                }
                return .transient(reply: decisive ?? (detail.isEmpty ? reply : detail))
            }
        }
    }
}
