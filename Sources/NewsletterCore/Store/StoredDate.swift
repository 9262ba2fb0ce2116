import Foundation
import GRDB

/// A date as GRDB stores it (`yyyy-MM-dd HH:mm:ss.SSS`, UTC), made with the C library.
///
/// GRDB formats every `Date` argument through a `DateFormatter` (ICU), which was a measurable
/// part of each message's ledger writes. This makes the same text: Foundation hands ICU the
/// time in milliseconds plus one half, and ICU truncates, so the millisecond is rounded to the
/// nearest (StoredDateTests compares the two over many dates).
enum StoredDate {
    static func databaseValue(_ date: Date) -> DatabaseValue {
        formattedHere.contains(date.timeIntervalSince1970) ? text(date).databaseValue : date.databaseValue
    }

    /// 1601-01-01 to 9999-12-31 UTC: four-digit years, after ICU's switch from the Julian
    /// calendar (1582), where the C library's proleptic Gregorian days agree with ICU's. Other
    /// dates are GRDB's to format.
    static let formattedHere = -11_644_473_600.0..<253_402_300_799.0

    /// The text of a date within `formattedHere`.
    static func text(_ date: Date) -> String {
        // The same arithmetic as CFDateFormatterCreateStringWithAbsoluteTime.
        let milliseconds = ((date.timeIntervalSinceReferenceDate + 978_307_200) * 1000 + 0.5).rounded(.down)
        let (wholeSeconds, millisecond) = Int64(milliseconds).quotientAndRemainderFlooring(by: 1000)
        var seconds = time_t(wholeSeconds)
        var parts = tm()
        // Within formattedHere gmtime_r cannot overflow; a failure would be a broken C library.
        guard gmtime_r(&seconds, &parts) != nil else { preconditionFailure("gmtime_r refused \(seconds)") }
        var out: [UInt8] = []
        out.reserveCapacity(23)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        out.append(UInt8(ascii: " "))
        digits(Int(parts.tm_hour), 2)
        out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        out.append(UInt8(ascii: "."))
        digits(Int(millisecond), 3)
        return String(decoding: out, as: UTF8.self)
    }
}

extension Int64 {
    fileprivate func quotientAndRemainderFlooring(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}
