import Foundation
import HTTPTypes
import OpenAPIRuntime

/// A refused `/api/v1` request, answered as `application/problem+json` (RFC 9457): what went
/// wrong (`type`, `title`, `status`), in words (`detail`), and the request field at fault.
public struct APIProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case badRequest = "bad-request"
        case unauthorized
        case forbidden
        case notFound = "not-found"
        case conflict
        case contentTooLarge = "content-too-large"
        case unsupportedMediaType = "unsupported-media-type"
        case notAcceptable = "not-acceptable"
        case tooManyRequests = "too-many-requests"
        case internalError = "internal-error"

        var status: HTTPResponse.Status {
            switch self {
            case .badRequest: .badRequest
            case .unauthorized: .unauthorized
            case .forbidden: .forbidden
            case .notFound: .notFound
            case .conflict: .conflict
            case .contentTooLarge: .contentTooLarge
            case .unsupportedMediaType: .unsupportedMediaType
            case .notAcceptable: .notAcceptable
            case .tooManyRequests: .tooManyRequests
            case .internalError: .internalServerError
            }
        }
    }

    public var kind: Kind
    public var detail: String
    public var field: String?
    /// Whole seconds until the key may ask again (429 only).
    public var retryAfter: Int?

    public init(_ kind: Kind, _ detail: String, field: String? = nil, retryAfter: Int? = nil) {
        self.kind = kind
        self.detail = detail
        self.field = field
        self.retryAfter = retryAfter
    }

    public var description: String { field.map { "\(detail) (\($0))" } ?? detail }

    public static func badRequest(_ detail: String, field: String?) -> APIProblem {
        APIProblem(.badRequest, detail, field: field)
    }

    public static func notFound(_ detail: String) -> APIProblem { APIProblem(.notFound, detail) }

    /// The body, in the members' RFC order.
    struct Body: Encodable {
        var type: String
        var title: String
        var status: Int
        var detail: String
        var field: String?
    }

    var body: Body {
        Body(
            type: "urn:newsletter:problem:\(kind.rawValue)", title: kind.status.reasonPhrase, status: kind.status.code,
            detail: detail, field: field)
    }

    /// The response the problem is sent as.
    var response: (HTTPResponse, HTTPBody) {
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if kind == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding five plain members cannot fail.
        let data = (try? encoder.encode(body)) ?? Data()
        return (HTTPResponse(status: kind.status, headerFields: headers), HTTPBody(data))
    }
}

extension APIProblem {
    /// The problem an error from the generated server (or a handler) stands for: a handler's
    /// own `APIProblem` as it is; the generator's decoding and parameter errors as 400 (or
    /// its content-type errors as 415/406), naming the field where the error knows it; anything
    /// else is the server's fault, a 500 without details.
    static func from(_ error: any Error) -> APIProblem {
        if let problem = error as? APIProblem { return problem }
        guard let serverError = error as? ServerError else {
            return APIProblem(.internalError, "the server failed; the log says why")
        }
        if let problem = serverError.underlyingError as? APIProblem { return problem }
        if let suppressed = serverError.underlyingError as? AddressSuppressed {
            return APIProblem(.conflict, suppressed.description, field: "email")
        }
        let kind: Kind
        switch serverError.httpStatus {
        case .unsupportedMediaType: kind = .unsupportedMediaType
        case .notAcceptable: kind = .notAcceptable
        case .notFound: kind = .notFound
        case let status where status.kind == .clientError: kind = .badRequest
        default: return APIProblem(.internalError, "the server failed; the log says why")
        }
        if let decoding = serverError.underlyingError as? DecodingError {
            return APIProblem(kind, Self.describe(decoding), field: Self.field(of: decoding))
        }
        return APIProblem(kind, serverError.causeDescription, field: Self.parameterName(in: serverError.causeDescription))
    }

    /// The JSON path of the member a decoding error is about (`subscribers[3].email`).
    static func field(of error: DecodingError) -> String? {
        let path: [any CodingKey]
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            path = context.codingPath
        case .keyNotFound(let key, let context):
            path = context.codingPath + [key]
        @unknown default:
            return nil
        }
        guard !path.isEmpty else { return nil }
        var out = ""
        for key in path {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let context): "expected \(type): \(context.debugDescription)"
        case .valueNotFound(let type, let context): "a \(type) is missing: \(context.debugDescription)"
        case .keyNotFound(let key, _): "the member \"\(key.stringValue)\" is required"
        case .dataCorrupted(let context):
            "the body or a parameter is not valid: \(context.debugDescription)"
                + ((context.underlyingError as? CocoaError).map { " (\($0.localizedDescription))" } ?? "")
        @unknown default: "the request could not be read"
        }
    }

    /// The runtime names a parameter it could not read in its description ("... named: limit").
    static func parameterName(in description: String) -> String? {
        guard let range = description.range(of: "named: ") else { return nil }
        let name = description[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
        return name.isEmpty ? nil : String(name)
    }
}
