import Foundation
import HTTPTypes
import NewsletterAPI

/// What the document declares of each operation: the key scope it needs, and its path and
/// query parameters, checked before the generated server reads them: it decodes each on its
/// own and its errors do not say which parameter failed, nor does it enforce `minimum`,
/// `maximum`, `maxLength` or `required`-ness of the values' bounds. Read from the served
/// document, so the rules cannot drift from it either.
struct APIParameterRules: Sendable {
    struct Rule: Sendable {
        enum Kind: Sendable { case integer, string, boolean }
        var name: String
        var location: String
        var required: Bool
        var kind: Kind
        var choices: [String]?
        var minimum: Int64?
        var maximum: Int64?
        var maxLength: Int?
    }

    let rules: [String: [Rule]]
    /// The key scope each operation needs: webhooks (and keys) `admin`, whatever the method;
    /// other reads `read`, other changes `write`. `APIGate` asks by the operation the router
    /// matched, never by the request's path: the router takes `/api/v1//webhooks` for
    /// `/api/v1/webhooks`, which a path prefix does not.
    let scopes: [String: APIScope]

    /// The rules and scope of every operation in `document` (an OpenAPI 3.1 document as JSON).
    init(document: [UInt8]) {
        var rules: [String: [Rule]] = [:]
        var scopes: [String: APIScope] = [:]
        let adminRoots = ["/webhooks", "/api-keys"]
        let root = (try? JSONSerialization.jsonObject(with: Data(document))) as? [String: Any] ?? [:]
        let schemas = ((root["components"] as? [String: Any])?["schemas"] as? [String: Any]) ?? [:]
        func resolve(_ schema: [String: Any]) -> [String: Any] {
            guard let ref = schema["$ref"] as? String, let name = ref.split(separator: "/").last,
                let target = schemas[String(name)] as? [String: Any]
            else { return schema }
            return target
        }
        func rule(_ parameter: [String: Any]) -> Rule? {
            guard let name = parameter["name"] as? String, let location = parameter["in"] as? String,
                location == "query" || location == "path"
            else { return nil }
            let schema = resolve(parameter["schema"] as? [String: Any] ?? [:])
            let kind: Rule.Kind =
                switch schema["type"] as? String {
                case "integer": .integer
                case "boolean": .boolean
                default: .string
                }
            return Rule(
                name: name, location: location, required: parameter["required"] as? Bool ?? false, kind: kind,
                choices: schema["enum"] as? [String], minimum: (schema["minimum"] as? NSNumber)?.int64Value,
                maximum: (schema["maximum"] as? NSNumber)?.int64Value, maxLength: schema["maxLength"] as? Int)
        }
        for case let (path, item as [String: Any]) in root["paths"] as? [String: Any] ?? [:] {
            let shared = (item["parameters"] as? [[String: Any]] ?? []).compactMap(rule)
            let admin = adminRoots.contains { path == $0 || path.hasPrefix($0 + "/") }
            for method in ["get", "head", "options", "put", "post", "delete", "patch"] {
                guard let operation = item[method] as? [String: Any], let id = operation["operationId"] as? String
                else { continue }
                rules[id] = shared + (operation["parameters"] as? [[String: Any]] ?? []).compactMap(rule)
                scopes[id] = admin ? .admin : ["get", "head", "options"].contains(method) ? .read : .write
            }
        }
        self.rules = rules
        self.scopes = scopes
    }

    static let served = APIParameterRules(document: APIDocument.json)

    /// An operation the document does not name (none should reach here) needs `admin`.
    func scope(forOperation operationID: String) -> APIScope { scopes[operationID] ?? .admin }

    /// The first parameter of `operationID` that breaks its rule, as a 400 naming it.
    func check(operationID: String, request: HTTPRequest, pathParameters: [String: Substring]) throws(APIProblem) {
        guard let rules = rules[operationID] else { return }
        let query = Self.queryItems(request.path ?? "")
        for rule in rules {
            let values = rule.location == "path" ? pathParameters[rule.name].map { [String($0)] } ?? [] : query[rule.name] ?? []
            guard let value = values.first else {
                if rule.required { throw .badRequest("the \(rule.location) parameter \(rule.name) is required", field: rule.name) }
                continue
            }
            if values.count > 1 {
                throw .badRequest("the \(rule.location) parameter \(rule.name) is given \(values.count) times", field: rule.name)
            }
            try rule.check(value)
        }
    }

    /// `a=1&b=x%20y` as names to values, percent-decoded (`+` is a space, as forms send it).
    static func queryItems(_ path: String) -> [String: [String]] {
        guard let mark = path.firstIndex(of: "?") else { return [:] }
        var items: [String: [String]] = [:]
        for pair in path[path.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            items[decode(parts[0]), default: []].append(parts.count > 1 ? decode(parts[1]) : "")
        }
        return items
    }
}

extension APIParameterRules.Rule {
    func check(_ value: String) throws(APIProblem) {
        func refuse(_ why: String) -> APIProblem { .badRequest("the \(location) parameter \(name) \(why)", field: name) }
        switch kind {
        case .integer:
            guard let number = Int64(value) else { throw refuse("must be a whole number, not \"\(value.prefix(40))\"") }
            if let minimum, number < minimum { throw refuse("must be at least \(minimum), not \(number)") }
            if let maximum, number > maximum { throw refuse("must be at most \(maximum), not \(number)") }
        case .boolean:
            guard value == "true" || value == "false" else { throw refuse("must be true or false") }
        case .string:
            if let maxLength, value.count > maxLength {
                throw refuse("is \(value.count) characters long, more than \(maxLength)")
            }
            if let choices, !choices.contains(value) {
                throw refuse("must be one of \(choices.joined(separator: ", ")), not \"\(value.prefix(40))\"")
            }
        }
    }
}
