import Foundation
import LoadEngine

/// A line chart as SVG text: no dependency, and readable in any browser or Markdown viewer.
public struct SVGChart {
    public struct Series {
        var name: String
        var color: String
        var points: [(x: Double, y: Double)]
        /// x values to mark with a red dot (errors in that second).
        var marks: [Double] = []

        public init(name: String, color: String, points: [(x: Double, y: Double)], marks: [Double] = []) {
            self.name = name
            self.color = color
            self.points = points
            self.marks = marks
        }
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    /// Tick positions and their labels on the x axis; nil for evenly spaced numbers.
    var xTicks: [(Double, String)]?
    /// Vertical dashed lines with a label: a scenario's events.
    var markers: [(x: Double, label: String)] = []
    var width = 720.0
    var height = 360.0

    public init(
        title: String, xLabel: String, yLabel: String, series: [Series], xTicks: [(Double, String)]? = nil,
        markers: [(x: Double, label: String)] = [], width: Double = 720, height: Double = 360
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.xTicks = xTicks
        self.markers = markers
        self.width = width
        self.height = height
    }

    public static let palette: [AuthMode: String] = [.session: "#1f77b4", .cachedSession: "#2ca02c", .jwt: "#d62728", .none: "#7f7f7f"]

    public func render() -> String {
        let left = 70.0, right = 40.0, top = 40.0, bottom = 50.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let allX = series.flatMap { $0.points.map(\.x) }
        let allY = series.flatMap { $0.points.map(\.y) }
        let minX = min(allX.min() ?? 0, xTicks?.first?.0 ?? .infinity)
        let maxX = max(allX.max() ?? 1, xTicks?.last?.0 ?? -.infinity, minX + 1e-9)
        let maxY = Self.niceCeiling(max(allY.max() ?? 1, 1e-9))
        func px(_ x: Double) -> Double { left + (x - minX) / (maxX - minX) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - y / maxY * plotHeight }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(width / 2))" y="22" text-anchor="middle" font-size="15">\(Self.escaped(title))</text>

            """
        for step in 0...5 {
            let value = maxY * Double(step) / 5
            let y = py(value)
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#e0e0e0\"/>\n"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(Self.escaped(Self.number(value)))</text>\n"
        }
        let ticks = xTicks ?? (0...5).map { step in
            let value = minX + (maxX - minX) * Double(step) / 5
            return (value, Self.number(value))
        }
        for (value, label) in ticks where value >= minX && value <= maxX {
            svg += "<line x1=\"\(f(px(value)))\" y1=\"\(f(top))\" x2=\"\(f(px(value)))\" y2=\"\(f(top + plotHeight))\" stroke=\"#f0f0f0\"/>\n"
            svg += "<text x=\"\(f(px(value)))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(Self.escaped(label))</text>\n"
        }
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#888\"/>\n"
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">\(Self.escaped(xLabel))</text>\n"
        svg += "<text x=\"16\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(top + plotHeight / 2)))\">\(Self.escaped(yLabel))</text>\n"
        for (index, line) in series.enumerated() {
            let points = line.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\" points=\"\(points)\"/>\n"
            for x in line.marks {
                svg += "<circle cx=\"\(f(px(x)))\" cy=\"\(f(top + 6))\" r=\"4\" fill=\"#e00000\"><title>errors at \(Self.number(x))</title></circle>\n"
            }
            let legendY = top + 16 + Double(index) * 16
            svg += "<line x1=\"\(f(left + 12))\" y1=\"\(f(legendY - 4))\" x2=\"\(f(left + 32))\" y2=\"\(f(legendY - 4))\" stroke=\"\(line.color)\" stroke-width=\"3\"/>\n"
            svg += "<text x=\"\(f(left + 38))\" y=\"\(f(legendY))\">\(Self.escaped(line.name))</text>\n"
        }
        for (index, marker) in markers.enumerated() where marker.x >= minX && marker.x <= maxX {
            let x = px(marker.x)
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>\n"
            let labelY = top + plotHeight - 6 - Double(index % 3) * 14
            svg += "<text x=\"\(f(x + 3))\" y=\"\(f(labelY))\" fill=\"#333\" font-size=\"11\">\(Self.escaped(marker.label))</text>\n"
        }
        if series.contains(where: { !$0.marks.isEmpty }) {
            svg += "<text x=\"\(f(left + plotWidth - 4))\" y=\"\(f(top + 20))\" text-anchor=\"end\" fill=\"#e00000\">red dots: seconds with errors</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    private func f(_ value: Double) -> String {
        String(Double(Int((value * 10).rounded())) / 10)
    }

    static func niceCeiling(_ value: Double) -> Double {
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2, 2.5, 5, 10] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    /// A number as charts and reports print it.
    public static func number(_ value: Double) -> String {
        if value == value.rounded() { return String(Int(value)) }
        return value < 10 ? String(Double(Int(value * 100)) / 100) : String(Double(Int(value * 10)) / 10)
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
