// Files and sets: multi-document files, directories, duplicate ids and names across files,
// references, and input that is not UTF-8 or not YAML (a diagnostic, never a crash).
import DetectionEngine
import Foundation
import RuleLoader
import Testing

private let idA = "11111111-1111-4111-8111-111111111111"
private let idB = "22222222-2222-4222-8222-222222222222"
private let idC = "33333333-3333-4333-8333-333333333333"

@Suite("Files and rule sets")
struct RuleSetTests {
    // MARK: Multi-document files

    @Test("documents are split at `---`; each is checked on its own")
    func multiDocument() {
        let file = load(
            """
            # a comment before the first document
            \(minimalRule(id: idA, title: "First"))---
            title: Broken
            id: \(idB)
            logsource: {product: kubernetes
            ---
            \(minimalRule(id: idC, title: "Third"))...
            """)
        #expect(file.documents.map(\.metadata.title) == ["First", "Third"])
        #expect(file.documents.map(\.metadata.origin.index) == [0, 2])
        #expect(file.documents.map(\.metadata.origin.position.line) == [2, 16])
        #expect(file.errors.map(\.code) == [.yamlSyntax])
        // libyaml reports the unclosed `{` where the document ends: at the next `---`.
        #expect(file.errors.first.map { "\($0.line):\($0.column)" } == "15:1")
    }

    @Test("`--- ` with content on the marker line, directives, and `...` document ends")
    func markersAndDirectives() {
        let inline = load(
            """
            --- {title: Inline, id: \(idA), logsource: {product: kubernetes}, detection: {sel: {verb: get}, condition: sel}}
            --- {title: Second, id: \(idB), logsource: {product: kubernetes}, detection: {sel: {verb: get}, condition: sel}}
            """)
        #expect(inline.errors.isEmpty, "\(inline.errors)")
        #expect(inline.documents.map(\.metadata.title) == ["Inline", "Second"])
        #expect(
            inline.documents.map(\.metadata.origin.position) == [
                SourcePosition(line: 1, column: 5), SourcePosition(line: 2, column: 5),
            ])

        let directives = load(
            """
            %YAML 1.2
            ---
            \(minimalRule(id: idA, title: "One"))...
            %YAML 1.2
            ---
            \(minimalRule(id: idB, title: "Two"))
            """)
        #expect(directives.errors.isEmpty, "\(directives.errors)")
        #expect(directives.documents.map(\.metadata.title) == ["One", "Two"])
        #expect(directives.documents.map(\.metadata.origin.position.line) == [3, 15])
    }

    @Test("a file of comments only, an empty file, and an empty document")
    func emptyInputs() {
        let comments = load("# nothing here\n\n# still nothing\n")
        #expect(comments.documents.isEmpty)
        #expect(comments.diagnostics.map(\.code) == [.emptyDocument])
        #expect(comments.diagnostics.first?.severity == .warning)
        #expect(comments.diagnostics.first?.line == 0)
        let empty = load("")
        #expect(empty.documents.isEmpty && empty.diagnostics.map(\.code) == [.emptyDocument])
        let trailing = load(minimalRule(id: idA) + "---\n")
        #expect(trailing.documents.count == 1)
        #expect(trailing.errors.isEmpty)
    }

    @Test("CRLF line endings and a byte order mark")
    func crlfAndBOM() {
        let text =
            minimalRule(id: idA).replacingOccurrences(of: "\n", with: "\r\n") + "---\r\n"
            + minimalRule(id: idB)
            .replacingOccurrences(of: "\n", with: "\r\n").replacingOccurrences(
                of: "verb: create", with: "verb|contans: create")
        let file = RuleFile.parse(bytes: [0xEF, 0xBB, 0xBF] + Array(text.utf8), file: "crlf.yml")
        #expect(file.documents.count == 1)
        #expect(file.places(.unknownModifier) == ["18:14"])
    }

    // MARK: Bad input

    @Test("invalid UTF-8 is reported at its line and column; other documents still load")
    func invalidUTF8() {
        var bytes = Array((minimalRule(id: idA) + "---\n").utf8)
        let badLine = Array("title: caf\u{E9}".utf8.dropLast(2)) + [0xE9, 0x0A]  // Latin-1 é
        bytes += badLine + Array(minimalRule(id: idB).split(separator: "\n", maxSplits: 1)[1].utf8) + [0x0A]
        let file = RuleFile.parse(bytes: bytes, file: "latin1.yml")
        #expect(file.places(.badEncoding) == ["11:11"])
        #expect(file.documents.map(\.metadata.id) == [idA])
    }

    @Test("UTF-16 input is refused with one diagnostic")
    func utf16() {
        let file = RuleFile.parse(
            bytes: [0xFF, 0xFE] + Array("title: x".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] },
            file: "u16.yml")
        #expect(file.diagnostics.map(\.code) == [.badEncoding])
        #expect(file.documents.isEmpty)
    }

    @Test(
        "binary and non-YAML input gives diagnostics, not a crash",
        arguments: [
            "{\"title\": \"json\", \"detection\": [1, 2]",
            "\u{0}\u{1}\u{2}binary\u{7}",
            "title: [unclosed\n",
            "key: value\n  bad indentation: x\n",
            "*undefined_alias\n",
            "!!binary AAAA\n",
            "title: t\n\tdetection: tab\n",
            String(repeating: "[", count: 5000),
            String(repeating: "- ", count: 3000) + "x\n",
            "? [complex, key]\n: value\n",
            "@reserved\n",
            "title: t\ndetection:\n  sel: &x {verb: *x}\n",
        ])
    func hostile(_ text: String) {
        let file = load(text)
        #expect(!file.diagnostics.isEmpty)
        #expect(file.documents.isEmpty)
        for d in file.diagnostics { #expect(d.line >= 0 && d.column >= 0) }
    }

    @Test("random bytes never crash the loader")
    func randomBytes() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("title: id-\n:{}[]'\"|>&*!%@`#,?- \t\r\u{0}é~".utf8) + [0xFF, 0xC3]
        for _ in 0..<300 {
            let count = Int.random(in: 0..<200, using: &rng)
            let bytes = (0..<count).map { _ in alphabet.randomElement(using: &rng)! }
            let file = RuleFile.parse(bytes: bytes, file: "random.yml")
            #expect(file.diagnostics.allSatisfy { $0.file == "random.yml" && $0.line >= 0 })
        }
    }

    // MARK: Sets

    @Test("activity/ folders inside a directory load only when asked; given as a path they always load")
    func activityFolders() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let (a, b, c) = ("0a6c3f7e-1d55-4c8e-9a0b-7f2d4e6a1b01", "0a6c3f7e-1d55-4c8e-9a0b-7f2d4e6a1b02", "0a6c3f7e-1d55-4c8e-9a0b-7f2d4e6a1b03")
        try dir.write("execution/a.yml", minimalRule(id: a))
        try dir.write("activity/b.yml", minimalRule(id: b))
        try dir.write("nested/activity/c.yml", minimalRule(id: c))
        func ids(_ set: RuleSet) -> [String] { set.documents.compactMap(\.metadata.id).sorted() }
        #expect(ids(RuleSet.load(paths: [dir.path])) == [a])
        #expect(ids(RuleSet.load(paths: [dir.path], activity: true)) == [a, b, c])
        #expect(ids(RuleSet.load(paths: [dir.url.appendingPathComponent("activity").path])) == [b])
        #expect(RulePack.load(paths: [dir.path], activity: true).plan.rules.count == 3)
    }

    @Test("duplicate ids and names across files: the later document is rejected")
    func duplicates() throws {
        let set = RuleSet(sources: [
            ("a.yml", minimalRule(id: idA, title: "Original", extra: "name: shared_name\n")),
            ("b.yml", minimalRule(id: idA, title: "Copy")),
            ("c.yml", minimalRule(id: idC, title: "Same name", extra: "name: shared_name\n")),
        ])
        #expect(set.documents.map(\.metadata.title) == ["Original"])
        let duplicateID = try #require(set.with(.duplicateID).first)
        #expect(duplicateID.file == "b.yml")
        #expect("\(duplicateID.line):\(duplicateID.column)" == "2:5")
        #expect(duplicateID.message.contains("`Original` at a.yml:1:1"))
        let duplicateName = try #require(set.with(.duplicateName).first)
        #expect(duplicateName.file == "c.yml" && duplicateName.line == 3 && duplicateName.column == 7)
        #expect(set.errors.count == 2)
    }

    @Test("correlation references resolve by id or name; missing and rejected ones reject the correlation")
    func references() {
        let correlation = { (title: String, rules: String) in
            """
            title: \(title)
            correlation:
                type: temporal
                rules: \(rules)
                group-by: [user.username]
                timespan: 5m

            """
        }
        let set = RuleSet(sources: [
            (
                "rules.yml",
                minimalRule(id: idA, title: "A", extra: "name: rule_a\n") + "---\n" + minimalRule(id: idB, title: "B")
            ),
            ("broken.yml", minimalRule(id: idC, title: "Broken", extra: "name: broken\nlevel: extreme\n")),
            (
                "corr.yml",
                correlation("ok", "[rule_a, \(idB)]") + "---\n" + correlation("missing", "[rule_a, nowhere]")
                    + "---\n" + correlation("on broken", "[broken, rule_a]") + "---\nname: chained\n"
                    + correlation("chained", "[broken]")
                    + "---\n" + correlation("on chained", "[chained]")
            ),
            (
                "filter.yml",
                """
                title: f
                id: 44444444-4444-4444-8444-444444444444
                logsource: {product: kubernetes}
                filter:
                    rules: [rule_a, ghost]
                    sel: {verb: get}
                    condition: sel

                """
            ),
        ])
        #expect(set.correlations.map(\.title) == ["ok"])
        #expect(set.filters.count == 1)
        let references = set.with(.unknownRuleReference)
        #expect(
            references.map { "\($0.file):\($0.line):\($0.column) \($0.severity.rawValue)" } == [
                "corr.yml:11:21 error", "corr.yml:18:13 error", "corr.yml:26:13 error", "corr.yml:33:13 error",
                "filter.yml:5:21 warning",
            ])
        #expect(references[0].message.contains("`nowhere`"))
        #expect(references[1].message.contains("failed to load"))
        #expect(references[3].message.contains("which was rejected"))
    }

    @Test("correlations referring to each other in a cycle are rejected")
    func cycles() {
        let set = RuleSet(sources: [
            (
                "cycle.yml",
                """
                title: one
                name: one
                correlation: {type: temporal, rules: [two], timespan: 1m}
                ---
                title: two
                name: two
                correlation: {type: temporal, rules: [one], timespan: 1m}
                ---
                title: self
                name: self
                correlation: {type: event_count, rules: [self], timespan: 1m, condition: {gt: 1}}
                """
            )
        ])
        #expect(set.correlations.isEmpty)
        #expect(set.with(.unknownRuleReference).map(\.line) == [3, 7, 11])
    }

    @Test("directories: recursive, *.yml and *.yaml only, sorted, hidden entries skipped, each file once")
    func directories() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try dir.write("b/second.yaml", minimalRule(id: idB, title: "b/second"))
        try dir.write("a.yml", minimalRule(id: idA, title: "a"))
        try dir.write("b/a/first.YML", minimalRule(id: idC, title: "b/a/first"))
        try dir.write("notes.txt", "not a rule")
        try dir.write(".hidden/x.yml", "title: [broken")
        try dir.write(".skip.yml", "title: [broken")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/b/loop", withDestinationPath: dir.path)
        let set = RuleSet.load(paths: [dir.path, dir.path + "/a.yml"])
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
        #expect(set.rules.map(\.title) == ["a", "b/a/first", "b/second"])
        #expect(set.files.count == 3)
        #expect(set.files[0].file == dir.path + "/a.yml")
    }

    @Test("an explicit file loads whatever its name; a missing path is an io-error")
    func explicitPaths() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try dir.write("rule.sigma", minimalRule(id: idA))
        let set = RuleSet.load(paths: [path, dir.path + "/missing.yml"])
        #expect(set.rules.count == 1)
        let io = try #require(set.with(.ioError).first)
        #expect(io.file == dir.path + "/missing.yml" && io.line == 0)
        #expect(io.description.hasPrefix(dir.path + "/missing.yml: error: cannot access"))
    }

    @Test("the same id in two files on disk")
    func duplicateIDsOnDisk() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try dir.write("one.yml", minimalRule(id: idA, title: "one"))
        try dir.write("two.yml", minimalRule(id: idA, title: "two"))
        let set = RuleSet.load(paths: [dir.path])
        #expect(set.rules.map(\.title) == ["one"])
        #expect(set.with(.duplicateID).map { ($0.file as NSString).lastPathComponent } == ["two.yml"])
    }

    @Test("invalid UTF-8 on disk")
    func invalidUTF8OnDisk() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        var data = Data(minimalRule(id: idA).utf8)
        data.replaceSubrange(7..<8, with: [0xC3, 0x28])  // "title: " then a broken two-byte sequence
        try dir.write("bad.yml", data)
        let set = RuleSet.load(paths: [dir.path])
        #expect(set.rules.isEmpty)
        #expect(set.with(.badEncoding).map { "\($0.line):\($0.column)" } == ["1:8"])
    }
}

@Suite("Document splitting")
struct DocumentSplittingTests {
    @Test("`--- # comment` starts a document without content of its own")
    func markerWithComment() {
        let file = load(
            "--- # first\n" + minimalRule(id: "11111111-1111-4111-8111-111111111111") + "--- # second\n"
                + minimalRule(id: "22222222-2222-4222-8222-222222222222"))
        #expect(file.diagnostics.isEmpty, "\(file.diagnostics)")
        #expect(file.documents.map(\.metadata.origin.position.line) == [2, 12])
    }

    @Test("old Mac line breaks (\\r only): libyaml sees the documents, the loader keeps them")
    func carriageReturnsOnly() {
        let text =
            (minimalRule(id: "11111111-1111-4111-8111-111111111111") + "---\n"
            + minimalRule(id: "22222222-2222-4222-8222-222222222222"))
            .replacingOccurrences(of: "\n", with: "\r")
        let file = load(text)
        #expect(file.errors.isEmpty, "\(file.errors)")
        #expect(file.documents.count == 2)
        #expect(file.documents.map(\.metadata.origin.position.line) == [1, 11])
    }
}
