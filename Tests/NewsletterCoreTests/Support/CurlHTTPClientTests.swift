import Foundation
import Testing

@testable import NewsletterCore

/// The one HTTP client that pages and model servers are fetched with: a setting libcurl refuses
/// is an error naming it (never a transfer that runs without it), and a header that would smuggle
/// in headers of its own is never sent.
struct CurlHTTPClientTests {
    /// libcurl refuses a string option longer than 8,000,000 bytes (CURL_MAX_INPUT_LENGTH).
    static let overlongURL = "http://127.0.0.1:9/" + String(repeating: "a", count: 8_000_001)

    @Test func aURLLibcurlRefusesIsReportedByThePageFetcherAsThatOption() {
        let fetcher = CurlFetcher(maxBytes: 1 << 20, timeoutSeconds: 5, connectTimeoutSeconds: 2, userAgent: "test")
        do {
            _ = try fetcher.fetch(Self.overlongURL)
            Issue.record("a URL libcurl refused was fetched")
        } catch {
            #expect(error.kind == .unreachable)
            // Named in the message; the 8 MB URL is never printed by a failure here.
            let named = error.message.contains("CURLOPT_URL")
            #expect(named, "\(error.message.prefix(300))")
            let short = error.source.count < 300
            #expect(short, "the message repeats an 8 MB URL")
        }
    }

    @Test func aURLLibcurlRefusesIsReportedByTheModelClientAsThatOptionAndNotRetried() {
        let client = ModelHTTPClient(baseURL: Self.overlongURL, timeoutSeconds: 5, connectTimeoutSeconds: 2)
        do {
            _ = try client.get("/health")
            Issue.record("a URL libcurl refused was requested")
        } catch {
            let named = error.description.contains("CURLOPT_URL")
            #expect(named, "\(error.description.prefix(300))")
            #expect(!error.isTransient, "a refused setting will be refused again")
        }
    }

    @Test func anAPIKeyWithALineBreakIsNeverSent() throws {
        let server = try FakeModelServer(.ok)
        let client = ModelHTTPClient(
            baseURL: server.baseURL, apiKey: "key\r\nX-Injected: yes", timeoutSeconds: 10, connectTimeoutSeconds: 5)
        do {
            _ = try client.postJSON("/v1/chat/completions", body: Data("{}".utf8))
            Issue.record("a header with a line break was sent")
        } catch {
            #expect(!error.description.contains("key"), "the message must not carry the key: \(error)")
        }
        #expect(try server.requests().isEmpty)
    }

    @Test func theFetcherStillFollowsRedirectsAndReportsStatusAndType() throws {
        let server = try FakeModelServer(.ok)
        let fetched = try CurlFetcher(maxBytes: 1 << 20, timeoutSeconds: 10, connectTimeoutSeconds: 5, userAgent: "t")
            .fetch(server.baseURL + "/health")
        #expect(String(decoding: fetched.body, as: UTF8.self).contains("ok"))
        #expect(fetched.contentType == "application/json")
        #expect(fetched.effectiveURL == server.baseURL + "/health")
        #expect(throws: PageError.self) {
            try CurlFetcher(maxBytes: 1 << 20, timeoutSeconds: 10, connectTimeoutSeconds: 5, userAgent: "t")
                .fetch(server.baseURL + "/nothing")
        }
    }
}
