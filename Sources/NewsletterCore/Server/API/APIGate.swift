import Foundation
import HTTPTypes
import Logging
import OpenAPIRuntime

/// The key a `/api/v1` request was let in with, for its handler (consent needs `admin`; the
/// audit names `api-key:NAME`).
enum APIRequest {
    @TaskLocal static var key: APIKey?
}

/// Every `/api/v1` operation passes here first: the key (401), its scope for the operation
/// (403), its rate (429), its parameters against the document (400), the body's size (413);
/// then the generated server reads the request,
/// and whatever it or the handler refuses comes back as problem+json, never as a 500 for a
/// client's mistake. The key itself is never logged.
struct APIGate: ServerMiddleware {
    let keys: any APIKeyStore
    let limiter: RateLimiter
    let time: any TimeSource
    let maxBodyBytes: Int
    let logger: Logger
    var parameters = APIParameterRules.served
    /// A key's last use is written at most this often, so a busy key costs no write per request.
    static let lastUseResolution: TimeInterval = 60

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        do {
            let key = try await authenticate(request)
            let needed = parameters.scope(forOperation: operationID)
            guard key.scope.allows(needed) else {
                throw APIProblem(
                    .forbidden, "the key \"\(key.name)\" has scope \(key.scope.rawValue); \(operationID) needs \(needed.rawValue)")
            }
            if let wait = limiter.check(String(key.id)) {
                throw APIProblem(
                    .tooManyRequests, "the key \"\(key.name)\" is over its rate limit: retry in \(wait) s",
                    retryAfter: wait)
            }
            try parameters.check(
                operationID: operationID, request: request, pathParameters: metadata.pathParameters)
            let bounded = try await collect(body, declaredLength: request.headerFields[.contentLength])
            return try await APIRequest.$key.withValue(key) { try await next(request, bounded, metadata) }
        } catch {
            let problem = APIProblem.from(error)
            if problem.kind == .internalError {
                logger.error("api operation failed", metadata: ["operation": "\(operationID)", "error": "\(error)"])
            }
            return problem.response
        }
    }

    /// The key named by `Authorization: Bearer KEY`, if it is known and not revoked.
    private func authenticate(_ request: HTTPRequest) async throws -> APIKey {
        guard let header = request.headerFields[.authorization] else {
            throw APIProblem(.unauthorized, "no API key: send Authorization: Bearer KEY (newsletter api-keys create)")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIProblem(.unauthorized, "the Authorization header is not \"Bearer KEY\"", field: "Authorization")
        }
        let secret = parts[1].trimmingCharacters(in: .whitespaces)
        guard let key = try await keys.apiKey(secret: secret) else {
            throw APIProblem(.unauthorized, "the API key is not one this server issued", field: "Authorization")
        }
        if key.revokedAt != nil {
            throw APIProblem(.unauthorized, "the API key \"\(key.name)\" was revoked", field: "Authorization")
        }
        let now = time.now()
        if key.lastUsedAt.map({ now.timeIntervalSince($0) >= Self.lastUseResolution }) ?? true {
            try await keys.recordAPIKeyUse(id: key.id, at: now)
        }
        return key
    }

    /// The body, refused past `maxBodyBytes` (413) before the generated server buffers it.
    private func collect(_ body: HTTPBody?, declaredLength: String?) async throws -> HTTPBody? {
        guard let body else { return nil }
        if let declaredLength, let length = Int(declaredLength), length > maxBodyBytes {
            throw tooLarge()
        }
        var bytes: [UInt8] = []
        for try await chunk in body {
            guard bytes.count + chunk.count <= maxBodyBytes else { throw tooLarge() }
            bytes += chunk
        }
        return HTTPBody(bytes)
    }

    private func tooLarge() -> APIProblem {
        APIProblem(.contentTooLarge, "the request body is larger than \(maxBodyBytes) bytes ([api] max_body_bytes)")
    }
}
