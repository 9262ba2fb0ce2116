/// An email address with an optional display name, checked before it can reach a header or
/// the SMTP envelope: libcurl 7.88 passes envelope addresses to the server as they are, so a CR
/// or LF in one would let input write its own SMTP commands.
public struct MailAddress: Sendable, Hashable, CustomStringConvertible {
    public let address: String
    public let displayName: String?

    public init(_ address: String, displayName: String? = nil) throws(MailError) {
        try Self.rejectControlCharacters(address, field: "address")
        if let displayName { try Self.rejectControlCharacters(displayName, field: "display name") }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, let local = parts.first, let domain = parts.last else {
            throw .invalidAddress(address, "it needs exactly one @")
        }
        guard !local.isEmpty, local.utf8.count <= 64 else {
            throw .invalidAddress(address, "the part before @ must be 1–64 characters")
        }
        guard address.utf8.count <= 254 else { throw .invalidAddress(address, "it is longer than 254 characters") }
        // Checked as bytes: every allowed character is one ASCII byte, so any other Character
        // (non-ASCII, or a letter with a combining mark) holds a byte outside the sets. Sending
        // checks each recipient, and per-Character tests were a measurable part of a message.
        let dot = UInt8(ascii: ".")
        guard local.utf8.allSatisfy(Self.isLocalByte), local.utf8.first != dot, local.utf8.last != dot,
            !zip(local.utf8, local.utf8.dropFirst()).contains(where: { $0 == dot && $1 == dot })
        else {
            throw .invalidAddress(address, "the part before @ may hold letters, digits and !#$%&'*+-/=?^_`{|}~. only")
        }
        let hyphen = UInt8(ascii: "-")
        let labels = domain.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2,
            labels.allSatisfy({ label in
                !label.isEmpty && label.count <= 63 && label.first != hyphen && label.last != hyphen
                    && label.allSatisfy { Self.isLetterOrDigit($0) || $0 == hyphen }
            })
        else {
            throw .invalidAddress(address, "the domain must be a dotted host name such as example.com")
        }
        self.address = address
        self.displayName = displayName?.isEmpty == true ? nil : displayName
    }

    public var description: String { displayName.map { "\($0) <\(address)>" } ?? address }

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: false
        }
    }

    private static func isLocalByte(_ byte: UInt8) -> Bool {
        isLetterOrDigit(byte) || localPunctuation.contains(byte)
    }

    private static let localPunctuation = Set("!#$%&'*+-/=?^_`{|}~.".utf8)

    static func rejectControlCharacters(_ value: String, field: String) throws(MailError) {
        if let bad = value.unicodeScalars.first(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
            throw .controlCharacter(field: field, character: bad == "\r" ? "CR" : bad == "\n" ? "LF" : "NUL")
        }
    }
}

/// A message that cannot be built, and why.
public enum MailError: Error, Equatable, CustomStringConvertible {
    case invalidAddress(String, String)
    case controlCharacter(field: String, character: String)

    public var description: String {
        switch self {
        case .invalidAddress(let address, let reason):
            "\"\(address)\" is not a usable email address: \(reason)"
        case .controlCharacter(let field, let character):
            "the \(field) contains a \(character) character, which could inject mail headers or SMTP commands; refused"
        }
    }
}
