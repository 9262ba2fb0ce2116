/// Why one source could not be turned into a comparison. Always names the source, and the
/// line where there is one, so an editor can open the file at the right place.
public struct PageError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case empty
        case binary
        case invalidUTF8
        case tooLarge
        case notAComparison
        case missingSection
        case wrongToolCount
        case truncated
        case malformed
        case unreachable
        case httpStatus
        case brokenFeed
        case unsupported
        case notFound
        case storeFailed
    }

    public var source: String
    public var line: Int?
    public var kind: Kind
    public var message: String

    public init(source: String, line: Int? = nil, kind: Kind, message: String) {
        self.source = source
        self.line = line
        self.kind = kind
        self.message = message
    }

    public var description: String {
        if let line { return "\(source):\(line): \(message)" }
        return "\(source): \(message)"
    }
}

/// A parse problem before the source is known; `PageParser` callers attach it.
struct LayoutError: Error {
    var line: Int?
    var kind: PageError.Kind
    var message: String

    func at(_ source: String) -> PageError {
        PageError(source: source, line: line, kind: kind, message: message)
    }
}
