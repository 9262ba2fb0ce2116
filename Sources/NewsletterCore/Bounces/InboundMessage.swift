import Foundation

/// A received message, read just far enough for bounce handling: headers unfolded, the MIME
/// tree walked by byte offsets (a 10 MB returned original is never copied or decoded), and
/// text parts decoded on demand. LF and CRLF line ends both work.
struct InboundMessage {
    let bytes: [UInt8]
    let headers: MessageHeaders
    /// Where the body starts in `bytes`.
    let bodyStart: Int
    let bodyEnd: Int

    init(bytes: [UInt8]) {
        self.init(bytes: bytes, range: 0..<bytes.count)
    }

    init(bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        let (headers, bodyStart) = MessageHeaders.parse(bytes, range: range)
        self.headers = headers
        self.bodyStart = bodyStart
        bodyEnd = range.upperBound
    }

    var contentType: ContentType { ContentType(headers["content-type"] ?? "text/plain") }

    /// The parts of a multipart body; throws when the boundary is missing or never appears.
    func parts() throws(BounceParseError) -> [InboundMessage] {
        let type = contentType
        guard type.isMultipart else { return [] }
        guard let boundary = type.parameters["boundary"], !boundary.isEmpty else {
            throw BounceParseError("malformed multipart: \(type.mimeType) without a boundary parameter")
        }
        let delimiter = Array("--\(boundary)".utf8)
        var starts: [(start: Int, end: Int, closing: Bool)] = []  // each delimiter line: where it and its line end
        var position = bodyStart
        while let found = Bytes.find(delimiter, in: bytes, from: position, to: bodyEnd) {
            position = found + delimiter.count
            // A delimiter starts a line and is not the start of a longer boundary.
            guard found == bodyStart || bytes[found - 1] == 10 else { continue }
            if position < bodyEnd, ![45, 13, 10, 32, 9].contains(bytes[position]) { continue }
            let closing = position + 1 < bodyEnd && bytes[position] == 45 && bytes[position + 1] == 45
            let lineEnd = Bytes.lineEnd(in: bytes, from: position, to: bodyEnd)
            starts.append((found, lineEnd, closing))
            if closing { break }
        }
        guard !starts.isEmpty else {
            throw BounceParseError("malformed multipart: the boundary \"\(boundary)\" never appears in the body")
        }
        var parts: [InboundMessage] = []
        for (index, delimiter) in starts.enumerated() where !delimiter.closing {
            // The line break before the next delimiter belongs to it (RFC 2046); a missing
            // closing delimiter (a truncated report) ends the last part at the body's end.
            var end = index + 1 < starts.count ? starts[index + 1].start : bodyEnd
            if index + 1 < starts.count {
                if end > delimiter.end, bytes[end - 1] == 10 { end -= 1 }
                if end > delimiter.end, bytes[end - 1] == 13 { end -= 1 }
            }
            parts.append(InboundMessage(bytes: bytes, range: delimiter.end..<max(delimiter.end, end)))
        }
        return parts
    }

    /// Every part in the tree, depth first (the message itself when it is not multipart).
    /// A message/rfc822 part is a leaf: what the original contains is not ours to walk.
    func leaves(depth: Int = 0) throws(BounceParseError) -> [InboundMessage] {
        guard contentType.isMultipart else { return [self] }
        guard depth < 8 else { throw BounceParseError("malformed multipart: nested more than 8 levels deep") }
        var all: [InboundMessage] = []
        for part in try parts() { all += try part.leaves(depth: depth + 1) }
        return all
    }

    /// The body's raw bytes.
    var rawBody: ArraySlice<UInt8> { bytes[bodyStart..<bodyEnd] }

    /// The body decoded from its transfer encoding as text, at most `limit` bytes of it.
    func text(limit: Int = 256 * 1024) -> String {
        let raw = Array(rawBody.prefix(limit * 2))
        let encoding = headers["content-transfer-encoding"]?.lowercased().trimmingCharacters(in: .whitespaces)
        let decoded: [UInt8]
        switch encoding {
        case "base64":
            let compact = raw.filter { !($0 == 10 || $0 == 13 || $0 == 32 || $0 == 9) }
            decoded = Data(base64Encoded: Data(compact)).map(Array.init) ?? raw
        case "quoted-printable": decoded = Bytes.decodeQuotedPrintable(raw)
        default: decoded = raw
        }
        return String(decoding: decoded.prefix(limit), as: UTF8.self)
    }

    /// A message/rfc822 part's own message, or a text/rfc822-headers part's headers.
    var embedded: InboundMessage { InboundMessage(bytes: bytes, range: bodyStart..<bodyEnd) }
}

/// Header fields, unfolded, names case-insensitive, in order.
struct MessageHeaders {
    var fields: [(name: String, value: String)] = []

    subscript(name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    func all(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

    /// Parses header lines from `range.lowerBound` up to the first empty line; returns where the
    /// body begins. A block that is all fields (a delivery-status group) has no body.
    static func parse(_ bytes: [UInt8], range: Range<Int>) -> (MessageHeaders, Int) {
        var headers = MessageHeaders()
        var position = range.lowerBound
        var current: (name: String, value: [UInt8])?
        func flush() {
            if let field = current {
                let value = String(decoding: field.value, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                headers.fields.append((field.name, value))
            }
            current = nil
        }
        while position < range.upperBound {
            let end = Bytes.lineEnd(in: bytes, from: position, to: range.upperBound)
            var lineEnd = end
            while lineEnd > position, bytes[lineEnd - 1] == 10 || bytes[lineEnd - 1] == 13 { lineEnd -= 1 }
            let line = bytes[position..<lineEnd]
            if line.isEmpty {
                flush()
                return (headers, end)
            }
            if line.first == 32 || line.first == 9 {
                current?.value.append(32)
                current?.value += line.drop { $0 == 32 || $0 == 9 }
            } else if let colon = line.firstIndex(of: 58) {
                flush()
                let name = String(decoding: bytes[position..<colon], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                current = (name.lowercased(), Array(bytes[(colon + 1)..<lineEnd]))
            } else {
                // Not a header line: the headers are over (a body without the empty line).
                flush()
                return (headers, position)
            }
            position = end
        }
        flush()
        return (headers, range.upperBound)
    }

    /// Splits a block of field groups separated by empty lines (a message/delivery-status body).
    static func groups(_ bytes: [UInt8], range: Range<Int>) -> [MessageHeaders] {
        var groups: [MessageHeaders] = []
        var position = range.lowerBound
        while position < range.upperBound {
            // Skip empty lines between groups.
            let end = Bytes.lineEnd(in: bytes, from: position, to: range.upperBound)
            if bytes[position..<end].allSatisfy({ $0 == 10 || $0 == 13 || $0 == 32 || $0 == 9 }) {
                position = end
                continue
            }
            let (group, next) = parse(bytes, range: position..<range.upperBound)
            if !group.fields.isEmpty { groups.append(group) }
            guard next > position else { break }
            position = next
        }
        return groups
    }
}

/// `multipart/report; report-type=delivery-status; boundary="x"`.
struct ContentType {
    var mimeType: String
    var parameters: [String: String] = [:]

    init(_ value: String) {
        let pieces = Self.splitParameters(value)
        mimeType = pieces.first?.lowercased().trimmingCharacters(in: .whitespaces) ?? "text/plain"
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let name = piece[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = piece[piece.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
            }
            parameters[name] = value
        }
    }

    var isMultipart: Bool { mimeType.hasPrefix("multipart/") }

    /// Splits on `;` outside quotes.
    private static func splitParameters(_ value: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var quoted = false
        for character in value {
            if character == "\"" { quoted.toggle() }
            if character == ";" && !quoted {
                pieces.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        pieces.append(current)
        return pieces
    }
}

enum Bytes {
    /// The index of `needle` in `haystack[from..<to]`: memchr to each candidate first byte,
    /// memcmp for the rest (Glibc's memmem is not visible to Swift).
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int, to: Int) -> Int? {
        guard !needle.isEmpty, to - from >= needle.count else { return nil }
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                let base = hay.baseAddress!
                var position = from
                let last = to - pin.count
                while position <= last {
                    guard let hit = memchr(base + position, Int32(pin[0]), last - position + 1) else { return nil }
                    let index = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + index, pin.baseAddress!, pin.count) == 0 { return index }
                    position = index + 1
                }
                return nil
            }
        }
    }

    /// Just past the next LF at or after `from` (or `to`).
    static func lineEnd(in bytes: [UInt8], from: Int, to: Int) -> Int {
        guard from < to else { return to }
        return bytes.withUnsafeBytes { raw in
            guard let found = memchr(raw.baseAddress! + from, 10, to - from) else { return to }
            return raw.baseAddress!.distance(to: UnsafeRawPointer(found)) + 1
        }
    }

    static func decodeQuotedPrintable(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var index = 0
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: byte - 48
            case 65...70: byte - 55
            case 97...102: byte - 87
            default: nil
            }
        }
        while index < input.count {
            let byte = input[index]
            if byte == 61 {
                if index + 1 < input.count, input[index + 1] == 10 {
                    index += 2
                    continue
                }
                if index + 2 < input.count, input[index + 1] == 13, input[index + 2] == 10 {
                    index += 3
                    continue
                }
                if index + 2 < input.count, let high = hex(input[index + 1]), let low = hex(input[index + 2]) {
                    out.append(high << 4 | low)
                    index += 3
                    continue
                }
            }
            out.append(byte)
            index += 1
        }
        return out
    }
}

/// Why a message in the bounce mailbox (or an imported file) could not be used.
public struct BounceParseError: Error, CustomStringConvertible, Sendable, Equatable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
