import Crypto
import Foundation

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
