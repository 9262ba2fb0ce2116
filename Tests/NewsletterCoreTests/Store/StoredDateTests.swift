import Foundation
import GRDB
import Testing

@testable import NewsletterCore

/// The ledger formats its times itself; a stored time must read the same as GRDB's own.
struct StoredDateTests {
    @Test func theTextIsGRDBsForEveryDate() {
        var generator = SystemRandomNumberGenerator()
        var dates = (0..<20_000).map { _ in
            Date(timeIntervalSince1970: Double.random(in: 0..<4_102_444_800, using: &generator))
        }
        // Millisecond and second boundaries, where rounding decides the digits.
        let now = Date(timeIntervalSince1970: 1_796_000_000)
        for offset in [0, 0.0004999, 0.0005, 0.0005001, 0.9994999, 0.9995, 0.9999999, 59.9995, 86_399.9996] {
            dates.append(now.addingTimeInterval(offset))
            dates.append(Date(timeIntervalSince1970: 951_782_400 + offset))  // 2000-02-29
        }
        dates += [Date(timeIntervalSince1970: 0), Date(timeIntervalSinceReferenceDate: 0), Date()]
        // Before 1970 (floor, not truncation, of negative times), and the ends of the range
        // formatted here; outside it GRDB's own formatting is used.
        dates += (0..<2_000).map { _ in
            Date(timeIntervalSince1970: Double.random(in: -11_644_473_600..<0, using: &generator))
        }
        dates += [-11_644_473_600, -1.0004, -0.0005, 253_402_300_799.999, 253_402_300_800, -11_644_473_600.5]
            .map { Date(timeIntervalSince1970: $0) }
        dates += [.distantPast, .distantFuture]
        let differing = dates.filter { StoredDate.databaseValue($0) != $0.databaseValue }
        #expect(
            differing.isEmpty,
            "\(differing.prefix(3).map { "\($0.timeIntervalSince1970): \(StoredDate.text($0)) vs \($0.databaseValue)" })"
        )
    }

    @Test func aStoredTimeReadsBackAsTheSameMillisecond() throws {
        let date = Date(timeIntervalSince1970: 1_796_000_000.1234)
        #expect(StoredDate.text(date) == "2026-11-30 00:53:20.123")
        let read = try #require(Date.fromDatabaseValue(StoredDate.databaseValue(date)))
        #expect(abs(read.timeIntervalSince(date)) < 0.001)
    }
}
