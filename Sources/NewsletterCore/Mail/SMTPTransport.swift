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
    /// How the reply of a message transmitted whole but never confirmed begins.
    public static let unconfirmed = "unconfirmed:"

    public init(settings: Settings) {
        self.settings = settings
    }

    public func makeSession() throws(TransportUnavailable) -> any MailSession {
        do {
            return try Session(settings: settings)
        } catch {
            throw TransportUnavailable(reason: "\(settings.url): \(error)")
        }
    }

    /// One SMTP connection, reused across messages. The handle is configured once, when the
    /// session starts; a message changes only its envelope (MAIL FROM, RCPT TO) and the upload.
    final class Session: MailSession {
        let curl: CurlEasy
        let settings: Settings
        /// The SMTP conversation of the current transaction, from libcurl's debug stream:
        /// commands we sent and the server's reply lines, in order.
        var conversation: [(sent: Bool, line: String)] = []
        var upload: [UInt8] = []
        var uploadOffset = 0

        init(settings: Settings) throws(CurlError) {
            curl = try CurlEasy()
            self.settings = settings
            try curl.set(CURLOPT_URL, settings.url, "CURLOPT_URL")
            try curl.set(CURLOPT_PROTOCOLS_STR, "smtp,smtps", "CURLOPT_PROTOCOLS_STR")
            try curl.set(
                CURLOPT_USE_SSL, settings.allowPlaintext ? 0 : Int(CURLUSESSL_ALL.rawValue), "CURLOPT_USE_SSL")
            try curl.set(CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL")
            try curl.set(CURLOPT_CONNECTTIMEOUT, settings.connectTimeoutSeconds, "CURLOPT_CONNECTTIMEOUT")
            try curl.set(
                CURLOPT_SERVER_RESPONSE_TIMEOUT, settings.commandTimeoutSeconds, "CURLOPT_SERVER_RESPONSE_TIMEOUT")
            try curl.set(CURLOPT_TIMEOUT, settings.messageTimeoutSeconds, "CURLOPT_TIMEOUT")
            if let caFile = settings.caFile { try curl.set(CURLOPT_CAINFO, caFile, "CURLOPT_CAINFO") }
            if let username = settings.username { try curl.set(CURLOPT_USERNAME, username, "CURLOPT_USERNAME") }
            if let password = settings.password { try curl.set(CURLOPT_PASSWORD, password, "CURLOPT_PASSWORD") }
            try curl.set(CURLOPT_UPLOAD, 1, "CURLOPT_UPLOAD")
            let context = Unmanaged.passUnretained(self).toOpaque()
            try curl.set(CURLOPT_READDATA, pointer: context, "CURLOPT_READDATA")
            try curl.set(CURLOPT_READFUNCTION, callback: { buffer, size, count, context in
                let session = Unmanaged<Session>.fromOpaque(context!).takeUnretainedValue()
                let length = min(size * count, session.upload.count - session.uploadOffset)
                session.upload.withUnsafeBufferPointer { source in
                    buffer!.withMemoryRebound(to: UInt8.self, capacity: length) {
                        $0.update(from: source.baseAddress! + session.uploadOffset, count: length)
                    }
                }
                session.uploadOffset += length
                return length
            }, "CURLOPT_READFUNCTION")
            try curl.set(CURLOPT_VERBOSE, 1, "CURLOPT_VERBOSE")
            try curl.set(CURLOPT_DEBUGDATA, pointer: context, "CURLOPT_DEBUGDATA")
            try curl.setDebugCallback { _, type, data, size, context in
                guard type == CURLINFO_HEADER_IN || type == CURLINFO_HEADER_OUT, let data, let context else { return 0 }
                let session = Unmanaged<Session>.fromOpaque(context).takeUnretainedValue()
                // Split as bytes (CR or LF), each line made a String once: splitting a String by
                // Characters was a measurable part of every message.
                let bytes = UnsafeRawBufferPointer(start: data, count: size)
                for line in bytes.split(whereSeparator: { $0 == 0x0A || $0 == 0x0D }) {
                    session.conversation.append((type == CURLINFO_HEADER_OUT, String(decoding: line, as: UTF8.self)))
                }
                return 0
            }
        }

        deinit {
            // QUIT is sent when the handle is cleaned up, after this object is gone: the debug
            // callback must not be handed it. (Setting a pointer option is an assignment in
            // libcurl; it cannot be refused.)
            do { try curl.set(CURLOPT_DEBUGDATA, pointer: nil, "CURLOPT_DEBUGDATA") } catch {
                preconditionFailure("\(error)")
            }
        }

        func close() {}

        func send(_ message: [UInt8], from: String, to: String, reference: String) throws(TransportUnavailable)
            -> SendOutcome
        {
            // libcurl 7.88 does not check envelope addresses for CR/LF: never pass them on.
            for address in [from, to] where address.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                return .permanent(reply: "refused locally: the address contains CR, LF or NUL")
            }
            conversation.removeAll(keepingCapacity: true)
            upload = message
            uploadOffset = 0
            guard let recipients = curl_slist_append(nil, "<\(to)>") else {
                throw TransportUnavailable(reason: "libcurl could not allocate the recipient list")
            }
            defer { curl_slist_free_all(recipients) }
            do {
                try curl.set(CURLOPT_MAIL_FROM, "<\(from)>", "CURLOPT_MAIL_FROM")
                try curl.set(CURLOPT_MAIL_RCPT, list: recipients, "CURLOPT_MAIL_RCPT")
                try curl.set(CURLOPT_INFILESIZE_LARGE, offset: curl_off_t(message.count), "CURLOPT_INFILESIZE_LARGE")
            } catch {
                throw TransportUnavailable(reason: "\(settings.url): \(error)")
            }
            let (result, detail) = curl.performReturningCode()
            withExtendedLifetime(self) {}
            return try classify(result, detail: detail)
        }

        /// Decides what a transaction's outcome means, from which command the server answered.
        /// Only what follows an accepted MAIL FROM is about this recipient; anything before it
        /// (greeting, EHLO, STARTTLS, AUTH, MAIL) is about the server, and stops the run.
        func classify(_ result: CURLcode, detail: String) throws(TransportUnavailable) -> SendOutcome {
            let failure = detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail
            /// The full (possibly multi-line) reply to the last command starting with `prefix`.
            func reply(to prefix: String) -> String? {
                guard let sent = conversation.lastIndex(where: { $0.sent && $0.line.uppercased().hasPrefix(prefix) })
                else {
                    return nil
                }
                let lines = conversation[(sent + 1)...].prefix { !$0.sent }.map(\.line)
                return lines.isEmpty ? nil : lines.joined(separator: " / ")
            }
            func code(_ reply: String?) -> Int? { reply.flatMap { Int($0.prefix(3)) } }

            if result == CURLE_OK { return .sent(reply: lastReply()) }
            let mail = reply(to: "MAIL FROM")
            guard let mailCode = code(mail), (200..<300).contains(mailCode) else {
                let last = conversation.last { !$0.sent }?.line
                throw TransportUnavailable(
                    reason: "\(settings.url): \(mail ?? last.map { "\($0) (\(failure))" } ?? failure)")
            }
            if let rcpt = reply(to: "RCPT TO"), let rcptCode = code(rcpt), rcptCode >= 400 {
                return rcptCode >= 500 ? .permanent(reply: rcpt) : .transient(reply: rcpt)
            }
            // The message went out whole: the reply to its final "." decides.
            if !upload.isEmpty && uploadOffset == upload.count {
                let final = conversation.last.flatMap { $0.sent ? nil : $0.line }
                if let final, let finalCode = Int(final.prefix(3)), finalCode >= 400, !final.hasPrefix("354") {
                    return finalCode >= 500 ? .permanent(reply: final) : .transient(reply: final)
                }
                // No answer to "." (timeout, dropped): the server may well have taken it. Sending it
                // again could deliver it twice, so it counts as sent, marked unconfirmed.
                return .sent(
                    reply:
                        "\(SMTPTransport.unconfirmed) the message was transmitted but the server did not confirm it (\(failure))"
                )
            }
            return .transient(reply: conversation.last { !$0.sent }.map { "\($0.line) (\(failure))" } ?? failure)
        }

        private func lastReply() -> String {
            conversation.last { !$0.sent && !$0.line.hasPrefix("221") }?.line ?? "250"
        }
    }
}
