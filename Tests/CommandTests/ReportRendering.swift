import Foundation
import Storage
import TestSupport
import XCTest

/// Opens an HTML report in headless Chromium (Debian's package, which scripts/setup.sh
/// installs) and checks what it rendered: the page's own count of drawn charts, no script
/// error, the SVG lines of every chart in the DOM after the script ran, and the lines'
/// colour in a screenshot.
enum ReportRendering {
    static let chromium = "/usr/bin/chromium"

    static func check(_ report: String, charts: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        guard FileManager.default.isExecutableFile(atPath: chromium) else {
            return XCTFail("\(chromium) is missing: scripts/setup.sh installs Debian's chromium package", file: file, line: line)
        }
        let profile = TestFiles.scratchDirectory("chromium-profile")
        let options = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile, "--allow-file-access-from-files"]
        let dom = try Subprocess.run(chromium, options + ["--dump-dom", "file://" + report], timeout: 120)
        XCTAssertEqual(dom.status, 0, dom.output, file: file, line: line)
        let body = dom.output.range(of: "<body[^>]*>", options: .regularExpression).map { String(dom.output[$0]) } ?? ""
        XCTAssertTrue(body.contains("data-charts=\"\(charts)\""), "the page drew other than \(charts) charts: \(body)", file: file, line: line)
        XCTAssertTrue(body.contains("data-errors=\"0\""), "script errors: \(body) \(dom.output.suffix(2000))", file: file, line: line)
        let figures = dom.output.components(separatedBy: "<figure class=\"chart\"").dropFirst()
        XCTAssertEqual(figures.count, charts, file: file, line: line)
        for figure in figures {
            // Each run: restored ratio against wall time and against epoch, and the loss terms.
            let plots = figure.components(separatedBy: "</figure>")[0]
            XCTAssertEqual(plots.components(separatedBy: "<svg").count - 1, 3, String(plots.prefix(300)), file: file, line: line)
            XCTAssertGreaterThanOrEqual(plots.components(separatedBy: "<polyline").count - 1, 3, String(plots.prefix(300)), file: file, line: line)
            XCTAssertTrue(plots.contains("<img src=\"data:image/png;base64,"), "no sample grid", file: file, line: line)
        }

        // The screenshot shows the lines in the first series' blue (#1f77b4); without the
        // script the page has neither charts nor grids, and nearly none of it.
        let drawn = try bluePixels(screenshotOf: report, options: options, height: 700 + 520 * charts, profile: profile)
        let inert = profile + "/inert.html"
        try String(contentsOfFile: report, encoding: .utf8).replacingOccurrences(of: "<script>", with: "<script type=\"text/plain\">")
            .write(toFile: inert, atomically: true, encoding: .utf8)
        let bare = try bluePixels(screenshotOf: inert, options: options, height: 700 + 520 * charts, profile: profile)
        XCTAssertGreaterThan(drawn, 300 * charts, "the screenshot shows too few chart lines", file: file, line: line)
        XCTAssertLessThan(bare, 50, "the page without its script", file: file, line: line)
    }

    private static func bluePixels(screenshotOf report: String, options: [String], height: Int, profile: String) throws -> Int {
        let screenshot = profile + "/report.png"
        let shot = try Subprocess.run(chromium, options + ["--window-size=1280,\(height)", "--screenshot=" + screenshot, "file://" + report],
                                      timeout: 120)
        XCTAssertEqual(shot.status, 0, shot.output)
        let image = try PNGFile.read(screenshot, channels: 3)
        XCTAssertEqual([image.width, image.height], [1280, height])
        var count = 0
        for index in stride(from: 0, to: image.pixels.count, by: 3)
        where abs(Int(image.pixels[index]) - 0x1f) < 20 && abs(Int(image.pixels[index + 1]) - 0x77) < 20 && abs(Int(image.pixels[index + 2]) - 0xb4) < 20 {
            count += 1
        }
        return count
    }
}
