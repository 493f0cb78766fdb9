// The YAML layer below the rule decoder: libyaml's events composed into nodes, with the
// limits hostile files need (alias copies, depth, duplicate keys, undefined aliases).
import AuditTestSupport
import Foundation
@testable import RuleLoader
import Testing

@Suite("YAML composing (libyaml events into nodes)")
struct YAMLComposerTests {
    /// The documents of `text` and the diagnostics as "code line:column message".
    func read(_ text: String) -> (roots: [YNode], problems: [String]) {
        let documents = YAMLReader.documents(in: text, file: "t.yml")
        return (
            documents.compactMap(\.root),
            documents.flatMap(\.diagnostics.diagnostics).map { "\($0.code.rawValue) \($0.line):\($0.column) \($0.message)" }
        )
    }

    func value(_ node: YNode?, _ key: String) -> YNode? { node?.pairs?.first { $0.key.scalar?.text == key }?.value }

    @Test("scalars keep text, style and tag; positions count lines and Unicode scalars from 1")
    func scalars() throws {
        let (roots, problems) = read("a: plain\nb: 'single'\nc: \"dq\\0nul\"\nd: |\n  lit\ne: >\n  fold\nf: !!str 12\ng: ! 12\nh: é \"x\"\nxé: 1\n")
        #expect(problems.isEmpty)
        let root = try #require(roots.first)
        let a = try #require(value(root, "a")?.scalar)
        #expect(a.text == "plain" && a.style == .plain && a.tag == "")
        let b = try #require(value(root, "b")?.scalar)
        #expect(b.style == .singleQuoted && b.tag == "tag:yaml.org,2002:str")
        // A NUL escape survives (the value's length is used, not its terminator).
        #expect(value(root, "c")?.scalar?.text == "dq\u{0}nul")
        #expect(value(root, "d")?.scalar.map { ($0.text, $0.style) } ?? ("", .plain) == ("lit\n", .literal))
        #expect(value(root, "e")?.scalar?.style == .folded)
        #expect(value(root, "f")?.scalar?.tag == "tag:yaml.org,2002:str")
        #expect(value(root, "g")?.scalar?.tag == "!")
        #expect(value(root, "h")?.position == SourcePosition(line: 10, column: 4))
        #expect(value(root, "xé")?.position == SourcePosition(line: 11, column: 5))
    }

    @Test("an alias is a copy of its anchored node; anchors may be redefined")
    func aliases() throws {
        let (roots, problems) = read("a: &x [1, {k: v}]\nb: *x\nc: &x z\nd: *x\n")
        #expect(problems.isEmpty)
        let root = try #require(roots.first)
        #expect(value(root, "b")?.items?.count == 2)
        #expect(value(value(root, "b")?.items?[1], "k")?.scalar?.text == "v")
        #expect(value(root, "d")?.scalar?.text == "z")
    }

    @Test("an undefined alias, and an alias to an anchor still being built, are errors at the alias")
    func undefinedAlias() {
        #expect(read("a: *nope\n").problems == ["yaml-syntax 1:4 found undefined alias"])
        #expect(read("a: &x [*x]\n").problems == ["yaml-syntax 1:8 found undefined alias"])
        // Anchors do not carry over to the next document.
        #expect(read("a: &x 1\n---\nb: *x\n").problems == ["yaml-syntax 3:4 found undefined alias"])
    }

    @Test("nesting: 1,000 levels load, 1,001 stop the document with an error")
    func depth() {
        let deep = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        #expect(read(deep).problems.isEmpty)
        let deeper = String(repeating: "[", count: 1001) + String(repeating: "]", count: 1001)
        #expect(read(deeper).problems == ["yaml-syntax 1:1001 the document is nested too deeply (more than 1000 levels)"])
        // Block style, far deeper: stopped, not a stack overflow.
        var block = ""
        for level in 0..<2_000 { block += String(repeating: " ", count: level) + "-\n" }
        #expect(read(block).problems.first?.contains("nested too deeply") == true)
    }

    @Test("duplicate keys: same text and type; the error names them all, at the first one's first place")
    func duplicateKeys() {
        #expect(read("a: 1\n'a': 2\n").problems == ["duplicate-key 1:1 duplicate key `a` in one mapping (YAML keys must be unique)"])
        #expect(
            read("z: 1\nb: 2\nz: 3\nb: 4\n").problems == [
                "duplicate-key 2:1 duplicate key `b`, `z` in one mapping (YAML keys must be unique)"
            ])
        // `1` is a number and "1" a string; nested mappings are checked too.
        #expect(read("1: a\n'1': b\n").problems.isEmpty)
        #expect(read("m: {x: 1, x: 2}\n").problems == ["duplicate-key 1:5 duplicate key `x` in one mapping (YAML keys must be unique)"])
    }

    @Test("a document over the node budget is refused at its root; the next document still loads")
    func budget() {
        var text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for (name, previous) in zip("bcdefg", "abcdef") {
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]\n"
        }
        text += "---\nok: 1\n"
        let (roots, problems) = read(text)
        #expect(problems == ["yaml-limit 1:1 the document expands to more than 200000 YAML nodes (anchors and aliases)"])
        #expect(roots.count == 1)
        #expect(value(roots.first, "ok")?.scalar?.text == "1")
    }

    @Test("the bundled rules, randomly damaged, never crash the loader; every problem has a place in the file")
    func mutatedRules() throws {
        let files = try FileManager.default.subpathsOfDirectory(atPath: PackagePaths.detections.path)
            .filter { $0.hasSuffix(".yml") }.sorted()
        try #require(files.count > 100)
        let tokens = ["\t", "{", "}", "[", "]", ":", "\"", "'", "&a ", "*a", "- ", "\n  ", "\n", "!!int ", "!x ", "---\n",
            "...\n", "%YAML 1.1\n", "? ", "#", ",", "\\", "\u{7}", "é", "|", ">", "<<: *a\n"].map { Array($0.utf8) }
        var rng = SplitMix64(seed: 0x5EED_6)
        for round in 0..<300 {
            let name = files[Int.random(in: 0..<files.count, using: &rng)]
            var bytes = Array(try Data(contentsOf: PackagePaths.detections.appendingPathComponent(name)))
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes.insert(contentsOf: tokens.randomElement(using: &rng)!, at: at)
                case 1: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...5, using: &rng)))
                default: bytes.replaceSubrange(at..<at + 1, with: tokens.randomElement(using: &rng)!)
                }
                if bytes.isEmpty { bytes = [0x0A] }
            }
            let lines = bytes.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            let file = RuleFile.parse(bytes: bytes, file: name)
            for d in file.diagnostics {
                #expect(d.line >= 0 && d.line <= lines && d.column >= 0, "round \(round), \(name): \(d)")
            }
        }
    }

    @Test("libyaml's errors keep its wording and place, with the context it gives")
    func syntaxErrors() {
        #expect(
            read("a: [1, 2\nb: c\n").problems == [
                "yaml-syntax 2:2 did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 4)"
            ])
        // A root scalar followed by a syntax error: no document, one error (libyaml gives the
        // scalar's event before it finds the `:`).
        let cut = read("title x\nid: y\n")
        #expect(cut.roots.isEmpty)
        #expect(cut.problems == ["yaml-syntax 2:3 mapping values are not allowed in this context"])
        // A control character: the reader's error names it and where it is.
        #expect(read("a: b\nc: d\u{7}\n").problems == ["yaml-syntax 2:5 control characters are not allowed (character U+7)"])
    }

    @Test("source lines split at the byte \"\\n\" as the scalar walk split them: CRLF, lone CR, multibyte text, no final newline")
    func sourceLinesMatchScalarSplit() {
        /// The split as it was done before, scalar by scalar.
        func reference(_ text: String) -> [String] {
            var lines: [String] = []
            var current = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                if scalar == "\n" {
                    if current.last == "\r" { current.removeLast() }
                    lines.append(String(current))
                    current = String.UnicodeScalarView()
                } else {
                    current.append(scalar)
                }
            }
            lines.append(String(current))
            return lines
        }
        var texts = [
            "", "\n", "\r\n", "a", "a\n", "a\r\nb\r\n", "a\rb\n", "\r", "é: ü\n\n  - \u{1F600}\r\nx",
            "title: x\r\n\r\n---\r\nid: y", "\u{301}\n\u{301}", "a\r\r\n",
        ]
        var rng = SystemRandomNumberGenerator()
        let pieces = ["a", "\n", "\r", "\r\n", "é", "\u{1F600}", " ", "|"]
        for _ in 0..<500 { texts.append((0..<Int.random(in: 0...12, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()) }
        for text in texts {
            #expect(SourceText(text).lines.map(String.init) == reference(text), "\(Array(text.utf8))")
        }
    }
}
