import Foundation

extension Configuration {
    /// `[dkim]`: who signs and with which keys. Only paths live in the configuration; the keys
    /// are read from their files (mode 0600) when the configuration is loaded.
    public struct DKIM: Sendable, Equatable {
        /// `d=`, e.g. `example.org` (the From domain or a parent of it, for DMARC alignment).
        public var domain: String?
        /// `s=` of the RSA key: the record lives at `<selector>._domainkey.<domain>`.
        public var selector: String?
        /// The RSA key's PEM file (or `NEWSLETTER_DKIM_KEY_FILE`).
        public var privateKey: String?
        /// An optional second, Ed25519 key (RFC 8463), signing alongside the RSA one.
        public var ed25519Selector: String?
        public var ed25519PrivateKey: String?
        /// The keys, once `load` has read them; nil when DKIM is not configured.
        public var signer: DKIMSigner?

        public init() {}

        public var isConfigured: Bool {
            domain != nil || selector != nil || privateKey != nil || ed25519Selector != nil
                || ed25519PrivateKey != nil
        }

        static let keys = [
            "dkim.domain", "dkim.selector", "dkim.private_key", "dkim.ed25519_selector", "dkim.ed25519_private_key",
        ]

        static func read(from reader: inout SettingsReader) throws(ConfigurationError) -> DKIM {
            var dkim = DKIM()
            dkim.domain = try reader.string("dkim.domain", nonEmpty: true)?.lowercased()
            dkim.selector = try reader.string("dkim.selector", nonEmpty: true)
            dkim.privateKey = try reader.path("dkim.private_key")
            dkim.ed25519Selector = try reader.string("dkim.ed25519_selector", nonEmpty: true)
            dkim.ed25519PrivateKey = try reader.path("dkim.ed25519_private_key")
            for (key, value) in [
                ("dkim.domain", dkim.domain), ("dkim.selector", dkim.selector),
                ("dkim.ed25519_selector", dkim.ed25519Selector),
            ] {
                if let value, !isDomainName(value) {
                    throw reader.invalid(
                        key, "\"\(value)\" is not a domain name or selector (letters, digits, '-', '.' between labels)")
                }
            }
            if let privateKey = dkim.privateKey, privateKey.contains("BEGIN ") {
                throw reader.invalid("dkim.private_key", "takes the path of a PEM file, not the key itself")
            }
            if let privateKey = dkim.ed25519PrivateKey, privateKey.contains("BEGIN ") {
                throw reader.invalid("dkim.ed25519_private_key", "takes the path of a PEM file, not the key itself")
            }
            return dkim
        }

        /// Every setting a signature needs is there, and each key file holds a usable key of
        /// the right kind; then `signer` is set.
        mutating func check(file: String, loadingKeys: Bool) throws(ConfigurationError) {
            guard isConfigured, loadingKeys else { return }
            func missing(_ key: String, _ why: String) -> ConfigurationError {
                .invalidValue(file: file, key: key, message: "is required \(why)")
            }
            guard let domain else { throw missing("dkim.domain", "when any dkim setting is given") }
            guard let selector else { throw missing("dkim.selector", "when any dkim setting is given") }
            guard let privateKey else {
                throw missing(
                    "dkim.private_key",
                    "when any dkim setting is given (or set \(Configuration.Environment.dkimKeyFile))")
            }
            if (ed25519Selector == nil) != (ed25519PrivateKey == nil) {
                throw ed25519Selector == nil
                    ? missing("dkim.ed25519_selector", "with dkim.ed25519_private_key")
                    : missing("dkim.ed25519_private_key", "with dkim.ed25519_selector")
            }
            if let ed25519Selector, ed25519Selector.lowercased() == selector.lowercased() {
                throw .invalidValue(
                    file: file, key: "dkim.ed25519_selector",
                    message: "must differ from dkim.selector (each key has its own DNS record)")
            }
            var keys: [DKIMKey] = []
            do {
                keys.append(
                    try DKIMKey.load(
                        path: privateKey, selector: selector, algorithm: .rsaSHA256, setting: "dkim.private_key"))
                if let ed25519Selector, let ed25519PrivateKey {
                    keys.append(
                        try DKIMKey.load(
                            path: ed25519PrivateKey, selector: ed25519Selector, algorithm: .ed25519SHA256,
                            setting: "dkim.ed25519_private_key"))
                }
            } catch {
                throw .invalidValue(file: file, key: error.setting, message: "\(error.path): \(error.problem)")
            }
            signer = DKIMSigner(domain: domain, keys: keys)
        }

        public static func isDomainName(_ text: String) -> Bool {
            let labels = text.split(separator: ".", omittingEmptySubsequences: false)
            return text.utf8.count <= 253
                && labels.allSatisfy { label in
                    !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                        && label.unicodeScalars.allSatisfy {
                            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                                || $0 == "-" || $0 == "_"
                        }
                }
        }
    }

    /// Receivers honour one-click unsubscribe (RFC 8058) only with an https URI: mail that goes
    /// out over SMTP past loopback must carry one. A relay on loopback (tests, the demo, a local
    /// Postfix) is allowed an http `server.public_url`.
    public func requireOneClickUnsubscribeURL() throws(ConfigurationError) {
        let hosts = smtp.relays(concurrency: 1).compactMap { URL(string: $0.url)?.host }
        guard let host = hosts.first(where: { !Self.isLoopback($0) }) else { return }
        guard URL(string: issue.publicURL)?.scheme?.lowercased() != "https" else { return }
        throw .invalidValue(
            file: file ?? "built-in defaults", key: "server.public_url",
            message:
                "\"\(issue.publicURL)\" is not https; List-Unsubscribe needs an https link for one-click unsubscribe (RFC 8058) when mail goes to \(host), which is not loopback"
        )
    }

    /// 127.0.0.0/8, ::1 and localhost.
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let lowered = bare.lowercased()
        if lowered == "localhost" || lowered.hasSuffix(".localhost") || lowered == "::1" { return true }
        var address = in_addr()
        if inet_pton(AF_INET, bare, &address) == 1 { return (UInt32(bigEndian: address.s_addr) >> 24) == 127 }
        var address6 = in6_addr()
        guard inet_pton(AF_INET6, bare, &address6) == 1 else { return false }
        return withUnsafeBytes(of: &address6) { $0.dropLast().allSatisfy { $0 == 0 } && $0.last == 1 }
    }
}
