import CNewsletterCurl
import Foundation

/// The bounce mailbox over IMAP or POP3, through libcurl: TLS (implicit, or STARTTLS required)
/// unless plaintext was allowed for a loopback server; one connection for the whole session.
public struct MailboxClient: Sendable {
    public struct Settings: Sendable, Equatable {
        /// `imap://host/INBOX`, `imaps://host:993/INBOX`, `pop3://host`, `pop3s://host`.
        public var url: String
        public var username: String?
        public var password: String?
        public var allowPlaintext = false
        public var caFile: String?
        public var connectTimeoutSeconds = 10
        public var timeoutSeconds = 300
        public var maxMessageBytes = 25 << 20

        public init(url: String, username: String?, password: String?) {
            self.url = url
            self.username = username
            self.password = password
        }

        /// The URL without a password, for messages and logs.
        public var displayURL: String {
            guard var components = URLComponents(string: url), components.password != nil else { return url }
            components.password = "****"
            return components.string ?? "(mailbox)"
        }
    }

    public enum Kind: Sendable { case imap, pop3 }

    public var settings: Settings

    public init(settings: Settings) {
        self.settings = settings
    }

    public var kind: Kind { settings.url.lowercased().hasPrefix("pop3") ? .pop3 : .imap }

    public func connect() throws(MailboxError) -> MailboxSession {
        do {
            return try MailboxSession(settings: settings, kind: kind)
        } catch {
            throw MailboxError(mailbox: settings.displayURL, reason: error.description)
        }
    }
}

/// One message in the mailbox: an IMAP UID or a POP3 message number (stable within a session).
public struct MailboxMessage: Sendable, Hashable, CustomStringConvertible {
    public var number: Int
    public var size: Int?
    public var description: String { "\(number)" }
}

public struct MailboxError: Error, CustomStringConvertible, Sendable {
    public var mailbox: String
    public var reason: String
    public var description: String { "the bounce mailbox \(mailbox): \(reason)" }
}

/// A logged-in mailbox. Deletions are final only when the session ends cleanly (IMAP EXPUNGE in
/// `finish()`, POP3's QUIT); a session that dies first leaves every message where it was, to be
/// fetched (and recognised as already stored) again.
public final class MailboxSession {
    let settings: MailboxClient.Settings
    let kind: MailboxClient.Kind
    private let curl: CurlEasy
    private let base: String

    init(settings: MailboxClient.Settings, kind: MailboxClient.Kind) throws(CurlError) {
        self.settings = settings
        self.kind = kind
        curl = try CurlEasy()
        var base = settings.url
        while base.hasSuffix("/") { base.removeLast() }
        if kind == .imap, (URL(string: base)?.path ?? "").isEmpty { base += "/INBOX" }
        self.base = base
        let protocols = kind == .imap ? "imap,imaps" : "pop3,pop3s"
        try curl.set(CURLOPT_PROTOCOLS_STR, protocols, "CURLOPT_PROTOCOLS_STR")
        try curl.set(
            CURLOPT_USE_SSL, settings.allowPlaintext ? Int(CURLUSESSL_NONE.rawValue) : Int(CURLUSESSL_ALL.rawValue),
            "CURLOPT_USE_SSL")
        try curl.set(CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL")
        try curl.set(CURLOPT_CONNECTTIMEOUT, settings.connectTimeoutSeconds, "CURLOPT_CONNECTTIMEOUT")
        try curl.set(CURLOPT_TIMEOUT, settings.timeoutSeconds, "CURLOPT_TIMEOUT")
        if let caFile = settings.caFile { try curl.set(CURLOPT_CAINFO, caFile, "CURLOPT_CAINFO") }
        if let username = settings.username { try curl.set(CURLOPT_USERNAME, username, "CURLOPT_USERNAME") }
        if let password = settings.password { try curl.set(CURLOPT_PASSWORD, password, "CURLOPT_PASSWORD") }
        try curl.set(CURLOPT_WRITEFUNCTION, callback: Curl.BodySink.write, "CURLOPT_WRITEFUNCTION")
    }

    /// Every message in the mailbox (IMAP: not already flagged deleted).
    public func list() throws(MailboxError) -> [MailboxMessage] {
        switch kind {
        case .imap:
            return try searchUIDs("UNDELETED").map { MailboxMessage(number: $0) }
        case .pop3:
            // LIST: "1 1234" per message.
            let reply = try command(base + "/", custom: nil)
            return reply.split(whereSeparator: \.isNewline).compactMap { line in
                let words = line.split(separator: " ")
                guard words.count >= 1, let number = Int(words[0]) else { return nil }
                return MailboxMessage(number: number, size: words.count > 1 ? Int(words[1]) : nil)
            }
        }
    }

    /// The message's bytes, as stored.
    public func retrieve(_ message: MailboxMessage) throws(MailboxError) -> [UInt8] {
        if let size = message.size, size > settings.maxMessageBytes {
            throw MailboxError(
                mailbox: settings.displayURL,
                reason: "message \(message) is \(ByteCount(size)), over bounces.max_message_bytes")
        }
        let url = kind == .imap ? "\(base)/;UID=\(message.number)" : "\(base)/\(message.number)"
        return try transfer(url, custom: nil, noBody: false)
    }

    /// Marks the message for deletion; it goes when the session ends cleanly.
    public func delete(_ message: MailboxMessage) throws(MailboxError) {
        switch kind {
        case .imap: _ = try command(base, custom: "UID STORE \(message.number) +FLAGS.SILENT (\\Deleted)")
        case .pop3: _ = try transfer("\(base)/\(message.number)", custom: "DELE", noBody: true)
        }
    }

    /// IMAP: EXPUNGE what is flagged deleted, by this session or one that died before its
    /// EXPUNGE (those messages were stored too: only stored messages are ever flagged). POP3
    /// commits at QUIT, which libcurl sends when the handle goes.
    ///
    /// By UID (RFC 4315 `UID EXPUNGE`) and in groups: libcurl holds a transfer's response
    /// lines to 300 kB, which one EXPUNGE of a few hundred messages passes.
    public func finish() throws(MailboxError) {
        guard kind == .imap else { return }
        let flagged = try searchUIDs("DELETED")
        for start in stride(from: 0, to: flagged.count, by: Self.uidsPerExpunge) {
            let group = flagged[start..<min(start + Self.uidsPerExpunge, flagged.count)]
            _ = try command(base, custom: "UID EXPUNGE \(group.map(String.init).joined(separator: ","))")
        }
    }

    static let uidsPerExpunge = 50

    /// The UIDs an IMAP `UID SEARCH` with `criteria` answers ("* SEARCH 3 7 12").
    private func searchUIDs(_ criteria: String) throws(MailboxError) -> [Int] {
        let reply = try command(base, custom: "UID SEARCH \(criteria)")
        return reply.split(whereSeparator: \.isNewline).flatMap { line -> [Int] in
            let words = line.split(separator: " ")
            guard words.count >= 2, words[0] == "*", words[1].uppercased() == "SEARCH" else { return [] }
            return words.dropFirst(2).compactMap { Int($0) }
        }
    }

    private func command(_ url: String, custom: String?) throws(MailboxError) -> String {
        String(decoding: try transfer(url, custom: custom, noBody: false), as: UTF8.self)
    }

    private func transfer(_ url: String, custom: String?, noBody: Bool) throws(MailboxError) -> [UInt8] {
        let sink = Curl.BodySink(limit: settings.maxMessageBytes)
        do {
            try curl.set(CURLOPT_URL, url, "CURLOPT_URL")
            try curl.set(CURLOPT_CUSTOMREQUEST, custom, "CURLOPT_CUSTOMREQUEST")
            try curl.set(CURLOPT_NOBODY, noBody ? 1 : 0, "CURLOPT_NOBODY")
            try curl.set(CURLOPT_WRITEDATA, pointer: Unmanaged.passUnretained(sink).toOpaque(), "CURLOPT_WRITEDATA")
            try curl.perform()
        } catch {
            if sink.overflowed {
                throw MailboxError(
                    mailbox: settings.displayURL,
                    reason:
                        "a message is larger than bounces.max_message_bytes (\(ByteCount(settings.maxMessageBytes)))")
            }
            throw MailboxError(mailbox: settings.displayURL, reason: error.description)
        }
        withExtendedLifetime(sink) {}
        return sink.body
    }
}
