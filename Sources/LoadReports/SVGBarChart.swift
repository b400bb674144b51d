import Foundation
import LoadEngine

/// Horizontal bars with their values written at the end: capacities side by side.
struct SVGBarChart {
    struct Bar {
        var name: String
        var color: String
        var value: Double
        var valueLabel: String
    }

    var title: String
    var unit: String
    var bars: [Bar]
    var width = 720.0

    func render() -> String {
        let left = 180.0, right = 110.0, top = 40.0, barHeight = 26.0, gap = 10.0
        let height = top + Double(bars.count) * (barHeight + gap) + 30
        let plotWidth = width - left - right
        let maxValue = SVGChart.niceCeiling(max(bars.map(\.value).max() ?? 1, 1e-9))
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(width / 2))" y="22" text-anchor="middle" font-size="15">\(SVGChart.escaped(title))</text>

            """
        for (index, bar) in bars.enumerated() {
            let y = top + Double(index) * (barHeight + gap)
            let length = max(bar.value / maxValue * plotWidth, 1)
            svg += "<text x=\"\(Int(left - 8))\" y=\"\(Int(y + barHeight / 2 + 4))\" text-anchor=\"end\">\(SVGChart.escaped(bar.name))</text>\n"
            svg += "<rect x=\"\(Int(left))\" y=\"\(Int(y))\" width=\"\(Int(length))\" height=\"\(Int(barHeight))\" fill=\"\(bar.color)\"/>\n"
            svg += "<text x=\"\(Int(left + length + 6))\" y=\"\(Int(y + barHeight / 2 + 4))\">\(SVGChart.escaped(bar.valueLabel))</text>\n"
        }
        svg += "<text x=\"\(Int(left + plotWidth / 2))\" y=\"\(Int(height - 8))\" text-anchor=\"middle\">\(SVGChart.escaped(unit))</text>\n"
        svg += "</svg>\n"
        return svg
    }
}
