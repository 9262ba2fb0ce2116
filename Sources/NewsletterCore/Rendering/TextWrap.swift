/// Plain-text layout for the text email: paragraphs wrapped at a column, words never split
/// (a word longer than the line, such as a URL, gets a line of its own).
public enum TextWrap {
    public static let width = 72

    public static func wrap(_ text: String, width: Int = width, indent: String = "", firstIndent: String? = nil)
        -> String
    {
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = lines.isEmpty ? (firstIndent ?? indent) : indent
            var lineHasWord = false
            for word in paragraph.split(separator: " ") {
                if lineHasWord && line.count + 1 + word.count > width {
                    lines.append(line)
                    line = indent
                    lineHasWord = false
                }
                line += (lineHasWord ? " " : "") + word
                lineHasWord = true
            }
            lines.append(lineHasWord ? line : "")
        }
        return lines.joined(separator: "\n")
    }
}
