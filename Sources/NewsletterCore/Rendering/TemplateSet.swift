import Foundation
import Mustache

/// The editable Mustache templates under `templates/`, loaded and checked before anything is
/// rendered: a syntax error, a missing template or an unknown partial is an error naming the
/// file and line, so nothing is written or sent from a broken template.
public struct TemplateSet: Sendable {
    public static let required = ["issue.html", "issue.txt"]

    private let library: MustacheLibrary
    public let directory: String
    /// The templates present, by name (`pages/signup.html` for `pages/signup.html.mustache`).
    public let names: Set<String>

    /// Checks that the templates a command needs beyond the issue's are present.
    public func require(_ wanted: [String]) throws(TemplateError) {
        for name in wanted where !names.contains(name) {
            throw .missingTemplate(name: "\(name).mustache", directory: directory)
        }
    }

    public static func load(directory: String) throws(TemplateError) -> TemplateSet {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .missingDirectory(directory)
        }
        var sources: [String: (path: String, text: String)] = [:]
        // The enumerator does not descend into a root that is a symbolic link: resolve it first.
        let root = URL(fileURLWithPath: directory).resolvingSymlinksInPath().standardized
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
            guard url.pathExtension == "mustache" else { continue }
            let relative = String(url.standardized.path.dropFirst(root.path.count + 1))
            let name = String(relative.dropLast(".mustache".count))
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw .unreadable(url.path)
            }
            sources[name] = (url.path, text)
        }
        for name in required where sources[name] == nil {
            throw .missingTemplate(name: "\(name).mustache", directory: directory)
        }
        var templates: [String: MustacheTemplate] = [:]
        for (name, source) in sources {
            do {
                templates[name] = try MustacheTemplate(string: source.text)
            } catch let error as MustacheTemplate.ParserError {
                throw .syntax(
                    file: source.path, line: error.context.lineNumber, column: error.context.columnNumber,
                    message: "\(error.error)")
            } catch {
                throw .syntax(file: source.path, line: nil, column: nil, message: "\(error)")
            }
        }
        // Mustache renders an unknown partial as nothing; here it is an error.
        for (_, source) in sources {
            // isNewline, not "\n": a template saved with CRLF has "\r\n" Characters.
            for (number, line) in source.text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                .enumerated()
            {
                for partial in partialNames(in: String(line)) where templates[partial] == nil {
                    throw .unknownPartial(file: source.path, line: number + 1, name: partial)
                }
            }
        }
        return TemplateSet(
            library: MustacheLibrary(templates: templates), directory: directory, names: Set(templates.keys))
    }

    public func render(_ context: [String: Any], template name: String) -> String {
        library.render(context, withTemplate: name) ?? ""
    }

    static func partialNames(in line: String) -> [String] {
        var names: [String] = []
        var rest = Substring(line)
        while let open = rest.range(of: "{{>") {
            rest = rest[open.upperBound...]
            guard let close = rest.range(of: "}}") else { break }
            names.append(rest[..<close.lowerBound].trimmingCharacters(in: .whitespaces))
            rest = rest[close.upperBound...]
        }
        return names
    }
}

public enum TemplateError: Error, Equatable, CustomStringConvertible {
    case missingDirectory(String)
    case missingTemplate(name: String, directory: String)
    case unreadable(String)
    case syntax(file: String, line: Int?, column: Int?, message: String)
    case unknownPartial(file: String, line: Int, name: String)

    public var description: String {
        switch self {
        case .missingDirectory(let path):
            "the templates directory \(path) does not exist (templates_dir in newsletter.toml)"
        case .missingTemplate(let name, let directory):
            "the template \(name) is missing from \(directory)"
        case .unreadable(let path):
            "cannot read the template \(path) as UTF-8"
        case .syntax(let file, let line, let column, let message):
            "\(file)\(line.map { ":\($0)" } ?? "")\(column.map { ":\($0)" } ?? ""): template syntax error: \(message)"
        case .unknownPartial(let file, let line, let name):
            "\(file):\(line): the partial {{> \(name)}} does not exist"
        }
    }
}
