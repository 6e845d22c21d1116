import Foundation

/// The HTML report: one static file that needs no server and loads nothing. The runs' data
/// is embedded as JSON; a small script draws, per run, its restored ratio against wall time
/// and against epoch and its loss terms as SVG, beside its last sample grid (embedded PNG).
/// The page counts the charts it drew and any script error in the body's data attributes
/// (`data-charts`, `data-errors`), which a headless browser can read back.
struct ReportPage {
    let title: String
    let axes: [String]
    let runs: [RunSummary]

    var html: String {
        let table = SummaryTable(axes: axes, runs: runs)
        let header = table.header.dropLast(2).map { "<th>\(Self.escape($0))</th>" }.joined()
        let rows = runs.map { run in "<tr>" + table.row(run).dropLast(2).map { "<td>\(Self.escape($0))</td>" }.joined() + "</tr>" }.joined(separator: "\n")
        let seeds = SeedTable(axes: axes, runs: runs).map { seeds in
            "<h2>Over seeds</h2>\n<table class=\"summary\">" + Self.tableRow(seeds.header, cell: "th") + seeds.rows.map { Self.tableRow($0, cell: "td") }.joined()
                + "</table>"
        } ?? ""
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <title>\(Self.escape(title)): dfkd report</title>
        <script>
        window.addEventListener("error", function (event) {
          document.body.dataset.errors = String(Number(document.body.dataset.errors || 0) + 1);
          var note = document.createElement("pre"); note.className = "error"; note.textContent = String(event.message);
          document.body.appendChild(note);
        });
        </script>
        <style>\(Self.style)</style>
        </head>
        <body data-charts="0" data-errors="0">
        <h1>\(Self.escape(title))</h1>
        <p>\(runs.count) run(s), written \(Self.escape(ISO8601DateFormatter().string(from: Date()))) by dfkd \(DataFreeKD.version).</p>
        <table class="summary"><thead><tr>\(header)</tr></thead><tbody>
        \(rows)
        </tbody></table>
        \(seeds)
        <h2>All runs: restored ratio against wall time</h2>
        <div id="overview"></div>
        <h2>Each run</h2>
        <div id="runs"></div>
        <script type="application/json" id="report-data">\(data)</script>
        <script>\(Self.script)</script>
        </body></html>

        """
    }

    /// Every run's points and grid as JSON; "/" is escaped ("\\/"), so no "</script>" can occur.
    private var data: String {
        let objects: [[String: Any]] = runs.map { run in
            var series: [String: [[Double]]] = ["restored_by_minutes": [], "restored_by_epoch": []]
            var losses: [String: [[Double]]] = [:]
            for line in run.epochs {
                guard let epoch = line["epoch"] as? Int else { continue }
                if let restored = (line["restored_ratio"] as? NSNumber)?.doubleValue, restored.isFinite {
                    series["restored_by_epoch"]!.append([Double(epoch), restored])
                    if let seconds = (line["wall_seconds"] as? NSNumber)?.doubleValue { series["restored_by_minutes"]!.append([seconds / 60, restored]) }
                }
                for term in run.lossTerms {
                    if let value = (line[term] as? NSNumber)?.doubleValue, value.isFinite { losses[term, default: []].append([Double(epoch), value]) }
                }
            }
            var object: [String: Any] = ["name": run.name, "state": run.state, "labels": run.labels, "series": series, "losses": losses]
            if let grid = run.lastGrid, let bytes = FileManager.default.contents(atPath: grid) {
                object["grid"] = "data:image/png;base64," + bytes.base64EncodedString()
                object["grid_name"] = URL(fileURLWithPath: grid).lastPathComponent
            }
            return object
        }
        let json = try? JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys])
        return json.map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    private static func tableRow(_ cells: [String], cell: String) -> String {
        "<tr>" + cells.map { "<\(cell)>\(escape($0))</\(cell)>" }.joined() + "</tr>\n"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    private static let style = """
    body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
    table.summary { border-collapse: collapse; margin-bottom: 16px; }
    table.summary th, table.summary td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
    table.summary td:first-child, table.summary th:first-child { text-align: left; }
    figure.chart { border: 1px solid #ddd; margin: 0 0 16px; padding: 8px; }
    figure.chart figcaption { font-weight: 600; margin-bottom: 4px; }
    .plots { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
    .plots img { image-rendering: pixelated; width: 240px; border: 1px solid #ccc; }
    svg text { font: 11px system-ui, sans-serif; fill: #444; }
    pre.error { color: #b00; }
    """

    /// Draws the charts from the embedded data.
    private static let script = """
    (function () {
      var colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
      var svgNS = "http://www.w3.org/2000/svg";
      function element(name, attributes, parent) {
        var node = document.createElementNS(svgNS, name);
        for (var key in attributes) node.setAttribute(key, attributes[key]);
        if (parent) parent.appendChild(node);
        return node;
      }
      function text(parent, x, y, content, anchor) {
        var node = element("text", {x: x, y: y, "text-anchor": anchor || "start"}, parent);
        node.textContent = content;
        return node;
      }
      function format(value) { return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(1) : value.toPrecision(2); }
      // A line chart of named series of [x, y] points, with its extremes as tick labels.
      function lineChart(title, xLabel, yLabel, series) {
        var names = Object.keys(series).filter(function (name) { return series[name].length > 0; });
        // Several series get a legend to the right of the plot.
        var longest = Math.max.apply(null, names.map(function (name) { return name.length; }).concat([0]));
        var legendWidth = names.length > 1 ? Math.min(320, 16 + 6.5 * longest) : 0;
        var width = 340 + legendWidth, height = 220, left = 48, right = 10 + legendWidth, top = 22, bottom = 34;
        var svg = element("svg", {width: width, height: height, viewBox: "0 0 " + width + " " + height, "class": "plot"});
        text(svg, left, 14, title);
        var xs = [], ys = [];
        names.forEach(function (name) { series[name].forEach(function (p) { xs.push(p[0]); ys.push(p[1]); }); });
        if (xs.length === 0) { text(svg, width / 2, height / 2, "no epoch finished yet", "middle"); return svg; }
        var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
        if (x1 === x0) { x1 = x0 + 1; }
        // A margin keeps a line off the frame, also a constant one.
        var margin = y1 > y0 ? 0.05 * (y1 - y0) : 1;
        y0 -= margin; y1 += margin;
        function px(x) { return left + (x - x0) / (x1 - x0) * (width - left - right); }
        function py(y) { return height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom); }
        element("rect", {x: left, y: top, width: width - left - right, height: height - top - bottom, fill: "none", stroke: "#bbb"}, svg);
        text(svg, left, height - bottom + 14, format(x0), "start");
        text(svg, width - right, height - bottom + 14, format(x1), "end");
        text(svg, (left + width - right) / 2, height - 4, xLabel, "middle");
        text(svg, left - 4, height - bottom, format(y0), "end");
        text(svg, left - 4, top + 10, format(y1), "end");
        text(svg, 4, top + (height - top - bottom) / 2, yLabel, "start");
        names.forEach(function (name, index) {
          var colour = colours[index % colours.length];
          var points = series[name].map(function (p) { return px(p[0]).toFixed(1) + "," + py(p[1]).toFixed(1); }).join(" ");
          element("polyline", {points: points, fill: "none", stroke: colour, "stroke-width": 2, "class": "series"}, svg);
          if (names.length > 1) {
            var legend = text(svg, width - legendWidth + 4, top + 10 + 12 * index, name, "start");
            legend.setAttribute("style", "fill:" + colour);
          }
        });
        return svg;
      }
      var runs = JSON.parse(document.getElementById("report-data").textContent);
      var overview = {};
      runs.forEach(function (run) { overview[run.name] = run.series.restored_by_minutes; });
      document.getElementById("overview").appendChild(lineChart("restored ratio (%)", "wall time (min)", "", overview));
      var place = document.getElementById("runs"), drawn = 0;
      runs.forEach(function (run) {
        var figure = document.createElement("figure");
        figure.className = "chart";
        figure.dataset.run = run.name;
        var caption = document.createElement("figcaption");
        var labels = Object.keys(run.labels).map(function (key) { return key + " " + run.labels[key]; }).join(", ");
        caption.textContent = run.name + " (" + run.state + (labels ? "; " + labels : "") + ")";
        figure.appendChild(caption);
        var plots = document.createElement("div");
        plots.className = "plots";
        plots.appendChild(lineChart("restored ratio (%)", "wall time (min)", "", {restored: run.series.restored_by_minutes}));
        plots.appendChild(lineChart("restored ratio (%)", "epoch", "", {restored: run.series.restored_by_epoch}));
        plots.appendChild(lineChart("loss terms", "epoch", "", run.losses));
        if (run.grid) {
          var image = document.createElement("img");
          image.src = run.grid;
          image.alt = "last sample grid of " + run.name + " (" + run.grid_name + ")";
          image.title = run.grid_name;
          plots.appendChild(image);
        }
        figure.appendChild(plots);
        place.appendChild(figure);
        drawn += 1;
      });
      document.body.dataset.charts = String(drawn);
    })();
    """
}
