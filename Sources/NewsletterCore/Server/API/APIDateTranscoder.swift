import Foundation
import OpenAPIRuntime

/// The document's `date-time` values, written as RFC 3339 in UTC to the second
/// (`2026-12-05T08:04:37Z`), the runtime's default form. The default goes through ICU for
/// every date, an eighth of the time of a page of subscribers; this writes the digits from
/// `gmtime_r`. Requests carry few dates, so reading keeps the runtime's parser.
struct APIDateTranscoder: DateTranscoder {
    private let standard = ISO8601DateTranscoder.iso8601

    func encode(_ date: Date) throws -> String {
        // To the millisecond first, then down to the second, as the runtime's formatter does.
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        var seconds = time_t((milliseconds / 1000).rounded(.down))
        var fields = tm()
        guard gmtime_r(&seconds, &fields) != nil, (0...9999).contains(Int(fields.tm_year) + 1900) else {
            return try standard.encode(date)
        }
        var text = [UInt8]()
        text.reserveCapacity(20)
        func append(_ value: Int32, digits: Int) {
            var divisor: Int32 = 1
            for _ in 1..<digits { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        append(fields.tm_year + 1900, digits: 4)
        text.append(UInt8(ascii: "-"))
        append(fields.tm_mon + 1, digits: 2)
        text.append(UInt8(ascii: "-"))
        append(fields.tm_mday, digits: 2)
        text.append(UInt8(ascii: "T"))
        append(fields.tm_hour, digits: 2)
        text.append(UInt8(ascii: ":"))
        append(fields.tm_min, digits: 2)
        text.append(UInt8(ascii: ":"))
        append(fields.tm_sec, digits: 2)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }

    func decode(_ text: String) throws -> Date { try standard.decode(text) }
}
