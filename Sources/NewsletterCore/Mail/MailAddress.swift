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
        guard local.allSatisfy({ Self.localCharacters.contains($0) }), !local.hasPrefix("."), !local.hasSuffix("."),
            !local.contains("..")
        else {
            throw .invalidAddress(address, "the part before @ may hold letters, digits and !#$%&'*+-/=?^_`{|}~. only")
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2,
            labels.allSatisfy({ label in
                !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                    && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            })
        else {
            throw .invalidAddress(address, "the domain must be a dotted host name such as example.com")
        }
        self.address = address
        self.displayName = displayName?.isEmpty == true ? nil : displayName
    }

    public var description: String { displayName.map { "\($0) <\(address)>" } ?? address }

    private static let localCharacters = Set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.")

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
