import CNewsletterXML2
import Foundation

/// A parsed libxml2 document; the tree lives as long as this object.
final class LibXMLDocument {
    private let document: xmlDocPtr

    private init(_ document: xmlDocPtr) {
        self.document = document
    }

    deinit { xmlFreeDoc(document) }

    /// HTML as browsers read it: libxml2's forgiving HTML parser, never touching the network.
    static func html(_ bytes: [UInt8], url: String?) -> LibXMLDocument? {
        let document = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                htmlReadMemory($0.baseAddress, Int32($0.count), url, "UTF-8", nl_html_parse_options())
            }
        }
        return document.map(LibXMLDocument.init)
    }

    /// Well-formed XML (feeds), without entity expansion or network access; a syntax error is
    /// reported with its line.
    static func xml(_ bytes: [UInt8], url: String?) throws(LayoutError) -> LibXMLDocument {
        guard let context = xmlNewParserCtxt() else {
            throw LayoutError(kind: .brokenFeed, message: "libxml2 could not allocate a parser")
        }
        defer { xmlFreeParserCtxt(context) }
        var first = nl_xml_first_error()
        let document = withUnsafeMutablePointer(to: &first) { slot in
            nl_xml_capture_first_error(context, slot)
            return bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) {
                    xmlCtxtReadMemory(context, $0.baseAddress, Int32($0.count), url, nil, nl_xml_parse_options())
                }
            }
        }
        if let document, context.pointee.wellFormed != 0 {
            return LibXMLDocument(document)
        }
        if let document { xmlFreeDoc(document) }
        let reason: String
        let line: Int32
        if first.set != 0 {
            reason = withUnsafeBytes(of: first.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            line = first.line
        } else {
            reason = context.pointee.lastError.message.map { String(cString: $0) } ?? "unknown error"
            line = context.pointee.lastError.line
        }
        throw LayoutError(
            line: line > 0 ? Int(line) : nil, kind: .brokenFeed,
            message: "not well-formed XML: \(reason.trimmingCharacters(in: .whitespacesAndNewlines))")
    }

    var root: LibXMLNode? {
        xmlDocGetRootElement(document).map(LibXMLNode.init)
    }
}

/// A borrowed view of one node; valid while its document is alive.
struct LibXMLNode {
    let pointer: xmlNodePtr

    var isElement: Bool { pointer.pointee.type == XML_ELEMENT_NODE }
    var isText: Bool { pointer.pointee.type == XML_TEXT_NODE || pointer.pointee.type == XML_CDATA_SECTION_NODE }

    /// The local name, lowercased (HTML names are case-insensitive; feed names are lowercase).
    var name: String {
        pointer.pointee.name.map { String(cString: $0).lowercased() } ?? ""
    }

    var line: Int { Int(xmlGetLineNo(pointer)) }

    /// The node's own text (text nodes only).
    var content: String {
        pointer.pointee.content.map { String(cString: $0) } ?? ""
    }

    /// All descendant text, concatenated.
    var text: String {
        guard let raw = xmlNodeGetContent(pointer) else { return "" }
        defer { nl_xml_free(raw) }
        return String(cString: raw)
    }

    var children: [LibXMLNode] {
        var result: [LibXMLNode] = []
        var child = pointer.pointee.children
        while let node = child {
            result.append(LibXMLNode(pointer: node))
            child = node.pointee.next
        }
        return result
    }

    var elements: [LibXMLNode] { children.filter(\.isElement) }

    func attribute(_ name: String) -> String? {
        guard let raw = xmlGetProp(pointer, name) else { return nil }
        defer { nl_xml_free(raw) }
        return String(cString: raw)
    }

    func firstElement(named name: String) -> LibXMLNode? {
        elements.first { $0.name == name }
    }

    /// Depth-first, document order.
    func descendants(where predicate: (LibXMLNode) -> Bool) -> [LibXMLNode] {
        var found: [LibXMLNode] = []
        for child in elements {
            if predicate(child) { found.append(child) }
            found.append(contentsOf: child.descendants(where: predicate))
        }
        return found
    }
}
