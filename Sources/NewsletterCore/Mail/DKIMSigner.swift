import Crypto
import Foundation
import _CryptoExtras

/// DKIM signatures (RFC 6376) over a finished message: `rsa-sha256` and, with a second key,
/// `ed25519-sha256` (RFC 8463), relaxed/relaxed. The signatures are prepended to the message's
/// bytes, which are then sent unchanged, so `bh=` covers exactly the body that goes out.
public struct DKIMSigner: Sendable, Equatable {
    /// `d=`: the signing domain (aligned with the From domain for DMARC).
    public var domain: String
    /// One signature per key, in this order (RSA first: every receiver checks it).
    public var keys: [DKIMKey]

    public init(domain: String, keys: [DKIMKey]) {
        self.domain = domain
        self.keys = keys
    }

    /// The headers each signature covers, when present. RFC 8058 requires List-Unsubscribe and
    /// List-Unsubscribe-Post to be signed; From is listed once more than it occurs, so a From
    /// added later breaks the signature instead of showing a forged sender next to a valid one.
    public static let signedHeaders = [
        "From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
        "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "Feedback-ID",
    ]
    static let oversigned: Set<String> = ["from"]

    /// The message with one DKIM-Signature header per key in front of it.
    public func sign(_ message: [UInt8], at date: Date) throws -> [UInt8] {
        let parsed = DKIMCanonical.split(message)
        let bodyHash = Data(SHA256.hash(data: DKIMCanonical.relaxedBody(parsed.body))).base64EncodedString()
        var present: [String: Int] = [:]
        for field in parsed.fields { present[field.lowercasedName, default: 0] += 1 }
        var names: [String] = []
        for name in Self.signedHeaders.map({ $0.lowercased() }) {
            let count = present[name] ?? 0
            names += Array(repeating: name, count: count + (Self.oversigned.contains(name) ? 1 : 0))
        }
        let headerData = DKIMCanonical.relaxedHeaders(names, in: parsed.fields)
        var signatures: [UInt8] = []
        for key in keys {
            let unsigned =
                "DKIM-Signature: v=1; a=\(key.algorithm.rawValue); c=relaxed/relaxed; d=\(domain);\r\n"
                + "\ts=\(key.selector); t=\(Int(date.timeIntervalSince1970));\r\n\th=\(Self.fold(names));\r\n"
                + "\tbh=\(bodyHash);\r\n\tb="
            let signed = headerData + DKIMCanonical.relaxedHeader(Array(unsigned.utf8), trailingCRLF: false)
            let b = try key.signature(for: signed).base64EncodedString()
            signatures += Array(unsigned.utf8) + Array(Self.foldValue(b).utf8) + MIME.crlf
        }
        return signatures + message
    }

    /// `h=` names joined by colons, folded after a colon before a line grows past ~70 characters.
    static func fold(_ names: [String]) -> String {
        var out = ""
        var column = 3
        for (index, name) in names.enumerated() {
            let piece = name + (index < names.count - 1 ? ":" : "")
            if column + piece.count > 72 {
                out += "\r\n\t "
                column = 2
            }
            out += piece
            column += piece.count
        }
        return out
    }

    /// A base64 value split into lines of 72 (verifiers remove folding white space from b=).
    static func foldValue(_ value: String) -> String {
        var chunks: [Substring] = []
        var rest = value[...]
        while !rest.isEmpty {
            chunks.append(rest.prefix(70))
            rest = rest.dropFirst(70)
        }
        return chunks.joined(separator: "\r\n\t ")
    }
}

/// Relaxed canonicalization (RFC 6376 section 3.4.2 and 3.4.4), over bytes.
enum DKIMCanonical {
    struct Field {
        /// The field as it appears, folds included, without the final CRLF.
        var raw: [UInt8]
        var lowercasedName: String
    }

    /// The header fields (unfolded into one entry each) and the body after the empty line.
    static func split(_ message: [UInt8]) -> (fields: [Field], body: ArraySlice<UInt8>) {
        var fields: [Field] = []
        var index = 0
        var lineStart = 0
        while index < message.count {
            guard message[index] == 10 else {
                index += 1
                continue
            }
            let lineEnd = index > lineStart && message[index - 1] == 13 ? index - 1 : index
            let line = message[lineStart..<lineEnd]
            index += 1
            lineStart = index
            if line.isEmpty { return (fields, message[index...]) }
            if let first = line.first, first == 32 || first == 9, !fields.isEmpty {
                fields[fields.count - 1].raw += [13, 10] + line
            } else {
                let name = line.prefix { $0 != 58 }
                fields.append(
                    Field(
                        raw: Array(line),
                        lowercasedName: String(decoding: name, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                            .lowercased()))
            }
        }
        return (fields, message[message.count...])
    }

    /// The fields named in `h=`, each name taking the next instance from the bottom up; a name
    /// with no instance left contributes nothing (which is what makes over-signing work).
    static func relaxedHeaders(_ names: [String], in fields: [Field]) -> [UInt8] {
        var used: [String: Int] = [:]
        var out: [UInt8] = []
        for name in names {
            let instances = fields.filter { $0.lowercasedName == name }
            let taken = used[name, default: 0]
            used[name] = taken + 1
            guard taken < instances.count else { continue }
            out += relaxedHeader(instances[instances.count - 1 - taken].raw, trailingCRLF: true)
        }
        return out
    }

    /// `Name : a  \r\n\tb ` becomes `name:a b`.
    static func relaxedHeader(_ raw: [UInt8], trailingCRLF: Bool) -> [UInt8] {
        let colon = raw.firstIndex(of: 58) ?? raw.endIndex
        let name = String(decoding: raw[..<colon], as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
        var value: [UInt8] = []
        var pendingSpace = false
        for byte in raw[(colon < raw.endIndex ? colon + 1 : colon)...] where byte != 13 && byte != 10 {
            if byte == 32 || byte == 9 {
                pendingSpace = true
                continue
            }
            if pendingSpace && !value.isEmpty { value.append(32) }
            pendingSpace = false
            value.append(byte)
        }
        return Array(name.utf8) + [58] + value + (trailingCRLF ? [13, 10] : [])
    }

    /// White space runs become one space, white space at line ends and empty lines at the end go,
    /// and a non-empty body ends with CRLF.
    static func relaxedBody(_ body: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var line: [UInt8] = []
        var pendingSpace = false
        var emptyLines = 0
        func endLine() {
            if line.isEmpty {
                emptyLines += 1
            } else {
                for _ in 0..<emptyLines { out += [13, 10] }
                emptyLines = 0
                out += line + [13, 10]
            }
            line.removeAll(keepingCapacity: true)
            pendingSpace = false
        }
        var index = body.startIndex
        while index < body.endIndex {
            let byte = body[index]
            index += 1
            if byte == 13 && index < body.endIndex && body[index] == 10 { continue }
            if byte == 10 {
                endLine()
            } else if byte == 32 || byte == 9 {
                pendingSpace = true
            } else {
                if pendingSpace { line.append(32) }
                pendingSpace = false
                line.append(byte)
            }
        }
        if !line.isEmpty { endLine() }
        return out
    }
}

/// One signing key and its selector.
public struct DKIMKey: Sendable, Equatable {
    public enum Algorithm: String, Sendable {
        case rsaSHA256 = "rsa-sha256"
        case ed25519SHA256 = "ed25519-sha256"

        /// `k=` in the DNS record.
        public var keyType: String { self == .rsaSHA256 ? "rsa" : "ed25519" }
    }

    enum Material: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        /// The 32-byte seed, checked when read (swift-crypto's Curve25519 key is not Sendable on
        /// Linux; building it from the seed costs next to nothing).
        case ed25519(seed: Data)
    }

    static func ed25519Key(_ seed: Data) throws -> Curve25519.Signing.PrivateKey {
        try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    public let selector: String
    let material: Material

    public var algorithm: Algorithm {
        if case .rsa = material { return .rsaSHA256 }
        return .ed25519SHA256
    }

    /// `p=`: the SubjectPublicKeyInfo for RSA, the raw 32 bytes for Ed25519 (RFC 8463).
    public var publicKeyBase64: String {
        switch material {
        case .rsa(let key): key.publicKey.derRepresentation.base64EncodedString()
        case .ed25519(let seed):
            ((try? Self.ed25519Key(seed))?.publicKey.rawRepresentation ?? Data()).base64EncodedString()
        }
    }

    public var bits: Int? {
        if case .rsa(let key) = material { return key.keySizeInBits }
        return nil
    }

    public static func == (lhs: DKIMKey, rhs: DKIMKey) -> Bool {
        lhs.selector == rhs.selector && lhs.publicKeyBase64 == rhs.publicKeyBase64
    }

    /// RSA: PKCS#1 v1.5 over SHA-256 (the library's default padding is PSS, which DKIM does not
    /// use). Ed25519: RFC 8463 signs the SHA-256 hash of the header data, not the data itself.
    func signature(for headerData: [UInt8]) throws -> Data {
        let digest = SHA256.hash(data: headerData)
        switch material {
        case .rsa(let key):
            return try key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation
        case .ed25519(let seed):
            return try Self.ed25519Key(seed).signature(for: Data(digest))
        }
    }

    /// Checks a signature with the public key derived from this private key (`dkim check`).
    func isValidSignature(_ signature: Data, for headerData: [UInt8]) -> Bool {
        let digest = SHA256.hash(data: headerData)
        switch material {
        case .rsa(let key):
            return key.publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: .insecurePKCS1v1_5)
        case .ed25519(let seed):
            return (try? Self.ed25519Key(seed))?.publicKey.isValidSignature(signature, for: Data(digest)) ?? false
        }
    }

    /// The TXT record a receiver looks up at `<selector>._domainkey.<domain>`.
    public func dnsRecord(domain: String) -> (name: String, value: String) {
        ("\(selector)._domainkey.\(domain)", "v=DKIM1; k=\(algorithm.keyType); p=\(publicKeyBase64)")
    }

    /// The record as a zone-file line, the value split into quoted strings of at most 255
    /// characters (a TXT record's strings cannot be longer; receivers join them).
    public func zoneLine(domain: String) -> String {
        let (name, value) = dnsRecord(domain: domain)
        var strings: [String] = []
        var rest = value[...]
        while !rest.isEmpty {
            strings.append("\"\(rest.prefix(255))\"")
            rest = rest.dropFirst(255)
        }
        return "\(name). IN TXT ( \(strings.joined(separator: "\n\t")) )"
    }

    // MARK: Keys in PEM files

    /// PKCS#8 for Ed25519 (RFC 8410): this DER prefix, then the 32-byte seed.
    static let ed25519PKCS8Prefix: [UInt8] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]

    /// A new key: RSA of `bits`, or Ed25519; with its PEM (PKCS#8 for both).
    public static func generate(selector: String, algorithm: Algorithm, bits: Int = 2048) throws -> (
        key: DKIMKey, pem: String
    ) {
        switch algorithm {
        case .rsaSHA256:
            let key = try _RSA.Signing.PrivateKey(keySize: .init(bitCount: bits))
            return (DKIMKey(selector: selector, material: .rsa(key)), key.pkcs8PEMRepresentation)
        case .ed25519SHA256:
            let key = Curve25519.Signing.PrivateKey()
            let der = Data(ed25519PKCS8Prefix) + key.rawRepresentation
            let body = der.base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
            return (
                DKIMKey(selector: selector, material: .ed25519(seed: key.rawRepresentation)),
                "-----BEGIN PRIVATE KEY-----\n\(body)\n-----END PRIVATE KEY-----\n"
            )
        }
    }

    /// Reads the private key in `path` (named by `setting` in errors) and checks that it is
    /// the kind `algorithm` needs, RSA of at least 2048 bits, and not readable by every user.
    public static func load(
        path: String, selector: String, algorithm: Algorithm, setting: String
    ) throws(DKIMKeyError) -> DKIMKey {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw DKIMKeyError(setting: setting, path: path, problem: "no such file")
        }
        guard (status.st_mode & 0o170000) == 0o100000 else {  // S_IFMT, S_IFREG
            throw DKIMKeyError(setting: setting, path: path, problem: "not a regular file")
        }
        let mode = status.st_mode & 0o777
        if mode & 0o007 != 0 || mode & 0o020 != 0 {
            throw DKIMKeyError(
                setting: setting, path: path,
                problem:
                    "mode \(String(mode, radix: 8)) lets other users read or change the private key; `chmod 600 \(path)`"
            )
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DKIMKeyError(
                setting: setting, path: path, problem: "cannot be read (\(String(cString: strerror(errno))))")
        }
        guard let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN ") else {
            throw DKIMKeyError(setting: setting, path: path, problem: "not a PEM file (-----BEGIN … PRIVATE KEY-----)")
        }
        let ed25519Seed = Self.ed25519Seed(fromPEM: text)
        switch algorithm {
        case .rsaSHA256:
            if ed25519Seed != nil {
                throw DKIMKeyError(
                    setting: setting, path: path,
                    problem:
                        "is an Ed25519 key; this setting takes an RSA key (Ed25519 goes in dkim.ed25519_private_key)")
            }
            let key: _RSA.Signing.PrivateKey
            do {
                key = try _RSA.Signing.PrivateKey(unsafePEMRepresentation: text)
            } catch {
                throw DKIMKeyError(
                    setting: setting, path: path,
                    problem: "not an RSA private key of at least 2048 bits (\(text.firstPEMLabel ?? "no PEM label"))")
            }
            guard key.keySizeInBits >= 2048 else {
                throw DKIMKeyError(
                    setting: setting, path: path,
                    problem: "the RSA key has \(key.keySizeInBits) bits; DKIM needs at least 2048 (RFC 8301)")
            }
            return DKIMKey(selector: selector, material: .rsa(key))
        case .ed25519SHA256:
            guard let seed = ed25519Seed, (try? Self.ed25519Key(seed)) != nil else {
                let rsa = (try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: text)) != nil
                throw DKIMKeyError(
                    setting: setting, path: path,
                    problem: rsa
                        ? "is an RSA key; this setting takes an Ed25519 key (RSA goes in dkim.private_key)"
                        : "not an Ed25519 private key in PKCS#8 PEM (\(text.firstPEMLabel ?? "no PEM label"))")
            }
            return DKIMKey(selector: selector, material: .ed25519(seed: seed))
        }
    }

    static func ed25519Seed(fromPEM text: String) -> Data? {
        guard let begin = text.range(of: "-----BEGIN PRIVATE KEY-----"),
            let end = text.range(of: "-----END PRIVATE KEY-----", range: begin.upperBound..<text.endIndex)
        else { return nil }
        let base64 = text[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
        guard let der = Data(base64Encoded: String(base64)), der.count == 48,
            Array(der.prefix(16)) == ed25519PKCS8Prefix
        else { return nil }
        return der.suffix(32)
    }
}

extension String {
    /// `RSA PRIVATE KEY` from `-----BEGIN RSA PRIVATE KEY-----`.
    fileprivate var firstPEMLabel: String? {
        guard let begin = range(of: "-----BEGIN "), let end = range(of: "-----", range: begin.upperBound..<endIndex)
        else { return nil }
        return String(self[begin.upperBound..<end.lowerBound])
    }
}

/// A DKIM key setting that cannot be used, naming the setting and the file.
public struct DKIMKeyError: Error, Equatable, CustomStringConvertible {
    public var setting: String
    public var path: String
    public var problem: String
    public var description: String { "\(setting): \(path): \(problem)" }
}

/// Signs every message on its way into the transport it wraps, so whatever goes out (issues,
/// test sends, editor previews, confirmations and welcomes, `.eml` files) carries the signature.
public struct DKIMSigningTransport: MailTransport {
    public var inner: any MailTransport
    public var signer: DKIMSigner
    /// The signature's `t=`.
    public var now: @Sendable () -> Date

    public init(inner: any MailTransport, signer: DKIMSigner, now: @escaping @Sendable () -> Date = { Date() }) {
        self.inner = inner
        self.signer = signer
        self.now = now
    }

    public var name: String { inner.name }

    public func makeSession() throws(TransportUnavailable) -> any MailSession {
        Session(inner: try inner.makeSession(), signer: signer, now: now)
    }

    final class Session: MailSession {
        let inner: any MailSession
        let signer: DKIMSigner
        let now: @Sendable () -> Date

        init(inner: any MailSession, signer: DKIMSigner, now: @escaping @Sendable () -> Date) {
            self.inner = inner
            self.signer = signer
            self.now = now
        }

        func send(_ message: [UInt8], from: String, to: String, reference: String) throws(TransportUnavailable)
            -> SendOutcome
        {
            let signed: [UInt8]
            do {
                signed = try signer.sign(message, at: now())
            } catch {
                // Unsigned mail would be binned by the receivers that matter: stop instead.
                throw TransportUnavailable(reason: "DKIM signing failed: \(error)")
            }
            return try inner.send(signed, from: from, to: to, reference: reference)
        }

        func close() { inner.close() }
    }
}

extension DKIMSigner {
    /// What `dkim check` reports for one key.
    public struct KeyCheck: Sendable {
        public var key: DKIMKey
        public var verifies: Bool
        public var problem: String?
    }

    /// Signs a probe message now and checks each signature in the signed bytes against the
    /// public key derived from its private key: body hash recomputed from the body, header
    /// data rebuilt from the signature's own `h=` with its `b=` value removed.
    public func check(at date: Date = Date()) -> [KeyCheck] {
        let probe = Array(
            ("From: <dkim-check@\(domain)>\r\nTo: <dkim-check@\(domain)>\r\nSubject: dkim check\r\n"
                + "Date: \(OutgoingMessage.rfc5322Date(date))\r\nMessage-ID: <\(Hex.random(8))@\(domain)>\r\n"
                + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nA probe.  \r\n\r\n").utf8)
        let signed: [UInt8]
        do {
            signed = try sign(probe, at: date)
        } catch {
            return keys.map { KeyCheck(key: $0, verifies: false, problem: "signing failed: \(error)") }
        }
        let parsed = DKIMCanonical.split(signed)
        let signatures = parsed.fields.filter { $0.lowercasedName == "dkim-signature" }
        return zip(keys, signatures).map { (key, field) -> KeyCheck in
            let tags = Self.tags(field.raw)
            let bodyHash = Data(SHA256.hash(data: DKIMCanonical.relaxedBody(parsed.body))).base64EncodedString()
            guard tags["bh"] == bodyHash else { return KeyCheck(key: key, verifies: false, problem: "bh= differs") }
            guard tags["s"] == key.selector, tags["a"] == key.algorithm.rawValue, tags["d"] == domain,
                let b = tags["b"], let signature = Data(base64Encoded: b)
            else { return KeyCheck(key: key, verifies: false, problem: "tags differ") }
            let names = (tags["h"] ?? "").split(separator: ":").map { $0.lowercased() }
            let withoutB = Self.removingSignatureValue(field.raw)
            let data =
                DKIMCanonical.relaxedHeaders(names, in: parsed.fields)
                + DKIMCanonical.relaxedHeader(withoutB, trailingCRLF: false)
            let verifies = key.isValidSignature(signature, for: data)
            return KeyCheck(key: key, verifies: verifies, problem: verifies ? nil : "the signature does not verify")
        }
    }

    /// `tag=value` pairs of a DKIM-Signature field, white space removed.
    static func tags(_ raw: [UInt8]) -> [String: String] {
        let text = String(decoding: raw, as: UTF8.self)
        let value = text.drop { $0 != ":" }.dropFirst()
        var tags: [String: String] = [:]
        for pair in value.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let strip = { (s: Substring) in String(s.filter { !$0.isWhitespace }) }
            tags[strip(parts[0])] = strip(parts[1])
        }
        return tags
    }

    /// The field with everything between `b=` and the next `;` (or the end) removed.
    static func removingSignatureValue(_ raw: [UInt8]) -> [UInt8] {
        var index = 0
        while index + 1 < raw.count {
            let atTagStart =
                index == 0 || raw[index - 1] == 59 || raw[index - 1] == 32 || raw[index - 1] == 9
                || raw[index - 1] == 10
            if atTagStart && raw[index] == 98 && raw[index + 1] == 61 {  // "b="
                let end = raw[(index + 2)...].firstIndex(of: 59) ?? raw.endIndex
                return Array(raw[..<(index + 2)]) + Array(raw[end...])
            }
            index += 1
        }
        return raw
    }
}
