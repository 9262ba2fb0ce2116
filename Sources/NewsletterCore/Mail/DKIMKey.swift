import Crypto
import Foundation
import _CryptoExtras

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
