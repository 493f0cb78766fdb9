import AnalyzerKit
import DetectionEngine
import Foundation
import Testing

/// The HTML report's content and its bounds (the rendering itself is checked in Chromium by
/// the CLI tests).
struct HTMLReportTests {
    static func render(_ alerts: [Alert], limits: ReportCollector.Limits = .init()) -> (html: String, collector: ReportCollector) {
        let c = ReportCollector(limits: limits)
        var tally = MatrixTally()
        for a in alerts {
            c.count(a)
            c.record(a)
            tally.add(a.rule.threatMatrix)
        }
        var context = HTMLReport.Context()
        context.inputs = ["audit.log"]
        context.events = 1000
        context.suppression = "off"
        let html = HTMLReport(collector: c, matrix: MatrixReport(alerts: tally), context: context).render()
        return (html, c)
    }

    static func occurrences(_ needle: String, in s: String) -> Int { s.components(separatedBy: needle).count - 1 }

    @Test func everyTechniqueIsACellWithItsCount() {
        let alerts = (0..<7).map { Fixtures.alert(at: Double($0)) } + [Fixtures.alert(Fixtures.secretsRule, at: 9, group: [("user.username", "x")], count: 30)]
        let (html, _) = Self.render(alerts)
        // A technique of several tactics has a cell in each column.
        let cells = ThreatMatrix.Tactic.allCases.reduce(0) { $0 + ThreatMatrix.techniques(of: $1).count }
        #expect(Self.occurrences("data-technique=\"MS-TA", in: html) == cells)
        for t in ThreatMatrix.techniques { #expect(html.contains("data-technique=\"\(t.id)\"")) }
        #expect(html.contains("data-technique=\"MS-TA9006\" data-count=\"7\""))
        #expect(html.contains("data-technique=\"MS-TA9025\" data-count=\"1\""))
        #expect(html.contains("data-technique=\"MS-TA9001\" data-count=\"0\""))
        for v in ["yes", "partial", "no"] { #expect(html.contains("class=\"cell vis-\(v)\"")) }
        #expect(Self.occurrences("<details class=\"alert", in: html) == 8)
        #expect(html.contains("<b id=\"alerts-raised\">8</b>"))
        // Self-contained: nothing is fetched.
        for fetch in ["src=\"http", "href=\"http", "@import", "url(", "<link"] { #expect(!html.contains(fetch), "\(fetch)") }
    }

    @Test func hostileValuesAreEscapedEverywhere() {
        let evil = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'&"
        let a = Fixtures.alert(user: evil, namespace: "ns\"<b>", name: "<svg onload=alert(3)>")
        let (html, _) = Self.render([a])
        for raw in ["<script>alert", "<img src=x", "<svg onload", "\"><img", "ns\"<b>"] {
            #expect(!html.contains(raw), "\(raw) reached the page unescaped")
        }
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;&amp;"))
        // The one script is the report's own.
        #expect(Self.occurrences("<script>", in: html) == 1)
    }

    @Test func evidenceIsEmbeddedIndentedAndCut() {
        var limits = ReportCollector.Limits()
        limits.maxEventBytes = 200
        let (html, _) = Self.render([Fixtures.alert()], limits: limits)
        #expect(html.contains("(cut at 200 bytes)"))
        #expect(html.contains("{\n  &quot;kind&quot;: &quot;Event&quot;,\n  &quot;apiVersion&quot;"))
        #expect(html.contains("Evidence: 1 of 1 event shown."))
        let (whole, _) = Self.render([Fixtures.alert()])
        #expect(whole.contains("&quot;metadata&quot;: {},"), "an empty object stays on its line")
    }

    @Test func theAlertBoundKeepsHigherLevelsAndSaysWhatItLeftOut() {
        var limits = ReportCollector.Limits()
        limits.maxAlerts = 5
        let low = RuleInfo(id: "low", title: "Low Noise", level: .low, threatMatrix: ["MS-TA9008"])
        let critical = RuleInfo(id: "crit", title: "The Critical One", level: .critical, threatMatrix: ["MS-TA9006"])
        let alerts = (0..<20).map { Fixtures.alert(low, at: Double($0)) } + [Fixtures.alert(critical, at: 30)]
            + (21..<25).map { Fixtures.alert(low, at: Double($0 + 20)) }
        let (html, c) = Self.render(alerts, limits: limits)
        #expect(c.sent == 25 && c.notEmbedded == 20)
        #expect(c.alerts.count == 5)
        #expect(c.alerts.contains { $0.alert.rule.id == "crit" })
        #expect(html.contains("The Critical One"))
        #expect(html.contains("20 of 25 alerts are not in this file"))
        // Counts cover every alert, embedded or not.
        #expect(html.contains("data-technique=\"MS-TA9008\" data-count=\"24\""))
    }

    @Test func timelineRowsAreTheTopActors() {
        let alerts = (0..<30).map { Fixtures.alert(user: "user-\($0 % 20)", at: Double($0 * 60)) }
        let (html, c) = Self.render(alerts)
        #expect(c.actors.distinctKeys == 20)
        #expect(Self.occurrences("class=\"actor\"", in: html) == 15)
        #expect(Self.occurrences("<circle", in: html) >= 15)
        #expect(html.contains("the 15 actors with the most alerts of 20"))
    }
}
