import Foundation
import OpenAPIRuntime
import Testing

@testable import NewsletterCore

/// The API writes its dates itself (ICU was an eighth of a page's time): the text must be the
/// runtime's own RFC 3339 form, to the second, for any date a store can hold.
@Suite("API dates")
struct APIDateTranscoderTests {
    @Test func aDateIsWrittenAsTheRuntimesFormatterWritesIt() throws {
        var random = SeededRandom(seed: 26)
        var dates = [
            Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -0.5), Date(timeIntervalSince1970: 951_782_400),
            Date(timeIntervalSince1970: 1_798_761_599.999), Date(timeIntervalSince1970: 971_510_172.9997),
            Date(timeIntervalSince1970: 4_102_444_800),
        ]
        for _ in 0..<2_000 {
            dates.append(Date(timeIntervalSince1970: Double.random(in: -2_000_000_000...4_000_000_000, using: &random)))
        }
        let ours = APIDateTranscoder()
        let runtime = ISO8601DateTranscoder.iso8601
        for date in dates {
            #expect(try ours.encode(date) == runtime.encode(date), "\(date.timeIntervalSince1970)")
        }
        #expect(try ours.encode(Date(timeIntervalSince1970: 1_796_457_877.75)) == "2026-12-05T08:04:37Z")
    }

    @Test func aDateReadBackIsTheSecondItWasWrittenAt() throws {
        let transcoder = APIDateTranscoder()
        let date = Date(timeIntervalSince1970: 1_796_457_877)
        #expect(try transcoder.decode(transcoder.encode(date)) == date)
        #expect(throws: (any Error).self) { try transcoder.decode("5 December 2026") }
    }
}
