import Foundation

/// The fields of a form post (`application/x-www-form-urlencoded`) or a flat JSON object, as
/// strings, checked: invalid UTF-8, CR/LF/NUL in a value, or an unsupported body is a
/// ``BadRequest`` naming the problem.
public struct FormFields: Sendable, Equatable {
    public var values: [String: String]
    /// Every value of each field, in order: a group of checkboxes sends one name many times
    /// (`values` keeps the last); in JSON, an array of strings.
    public var repeated: [String: [String]]

    public subscript(_ name: String) -> String? { values[name] }

    /// All the values of a field sent more than once (or once, or never).
    public func all(_ name: String) -> [String] { repeated[name] ?? values[name].map { [$0] } ?? [] }

    public init(values: [String: String], repeated: [String: [String]] = [:]) {
        self.values = values
        self.repeated = repeated
    }

    /// Parses `body` according to its content type; an empty body is an empty form. The fields
    /// named in `multiline` (a textarea) may hold line breaks; NUL is refused everywhere.
    public static func parse(_ body: [UInt8], contentType: String?, multiline: Set<String> = [])
        throws(BadRequest) -> FormFields
    {
        let type = (contentType ?? "").split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        if body.isEmpty { return FormFields(values: [:]) }
        switch type {
        case "application/x-www-form-urlencoded":
            return try urlEncoded(body, multiline: multiline)
        case "application/json":
            return try json(body, multiline: multiline)
        default:
            throw BadRequest(
                status: 415,
                "send the form as application/x-www-form-urlencoded or application/json, not \(type.isEmpty ? "an untyped body" : type)")
        }
    }

    static func urlEncoded(_ body: [UInt8], multiline: Set<String> = []) throws(BadRequest) -> FormFields {
        var values: [String: String] = [:]
        var repeated: [String: [String]] = [:]
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try decode(parts[0], field: nil)
            let value = parts.count > 1 ? try decode(parts[1], field: name, multiline: multiline.contains(name)) : ""
            values[name] = value
            repeated[name, default: []].append(value)
        }
        return FormFields(values: values, repeated: repeated)
    }

    /// Percent-decoding with `+` as a space; the result must be UTF-8 without control characters.
    static func decode(_ bytes: ArraySlice<UInt8>, field: String?, multiline: Bool = false) throws(BadRequest) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex,
                    let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
                else {
                    throw BadRequest(status: 400, "\(describe(field)) has a % not followed by two hex digits")
                }
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        guard let string = String(validating: out, as: UTF8.self) else {
            throw BadRequest(status: 400, "\(describe(field)) is not valid UTF-8")
        }
        try rejectControlCharacters(string, field: field, multiline: multiline)
        return string
    }

    static func json(_ body: [UInt8], multiline: Set<String> = []) throws(BadRequest) -> FormFields {
        guard String(validating: body, as: UTF8.self) != nil else {
            throw BadRequest(status: 400, "the JSON body is not valid UTF-8")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(body))
        } catch {
            throw BadRequest(status: 400, "the body is not valid JSON")
        }
        guard let dictionary = object as? [String: Any] else {
            throw BadRequest(status: 400, "the JSON body must be an object such as {\"email\": \"you@example.com\"}")
        }
        var values: [String: String] = [:]
        var repeated: [String: [String]] = [:]
        for (name, value) in dictionary {
            if let array = value as? [Any] {
                var strings: [String] = []
                for element in array {
                    guard let string = element as? String else {
                        throw BadRequest(status: 400, "the field \"\(name)\" must be a list of strings")
                    }
                    try rejectControlCharacters(string, field: name)
                    strings.append(string)
                }
                repeated[name] = strings
                continue
            }
            guard let string = value as? String else {
                if value is NSNull { continue }
                throw BadRequest(status: 400, "the field \"\(name)\" must be a string")
            }
            try rejectControlCharacters(string, field: name, multiline: multiline.contains(name))
            values[name] = string
        }
        return FormFields(values: values, repeated: repeated)
    }

    static func rejectControlCharacters(_ value: String, field: String?, multiline: Bool = false) throws(BadRequest) {
        if multiline {
            if value.unicodeScalars.contains("\0") {
                throw BadRequest(status: 400, "\(describe(field)) contains NUL, which no field may hold")
            }
            return
        }
        if value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
            throw BadRequest(status: 400, "\(describe(field)) contains CR, LF or NUL, which no field may hold")
        }
    }

    private static func describe(_ field: String?) -> String {
        field.map { "the field \"\($0)\"" } ?? "a field name"
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// A request the server refuses, with the status and a message naming what was wrong.
public struct BadRequest: Error, Equatable, CustomStringConvertible {
    public var status: Int
    public var message: String

    public init(status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }
}
