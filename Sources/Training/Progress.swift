import Foundation

/// Progress of a long loop. On a terminal: one bar redrawn in place with rate and ETA. Not
/// on a terminal (a Slurm log, a pipe): a plain line every `interval` seconds, so the log
/// grows slowly and stays readable.
public final class ProgressReporter {
    private let total: Int
    private let unit: String
    private let label: String
    private let isTerminal: Bool
    private let interval: Double
    private let start = Date()
    private var lastPrint = Date.distantPast
    private let output: FileHandle

    public init(label: String, total: Int, unit: String = "steps", interval: Double = 30,
                output: FileHandle = .standardError) {
        self.label = label
        self.total = max(total, 1)
        self.unit = unit
        self.interval = interval
        self.output = output
        isTerminal = isatty(output.fileDescriptor) == 1
    }

    /// `done` of `total` units finished; `status` is appended (e.g. the running loss).
    public func update(_ done: Int, status: String = "") {
        let now = Date()
        let minimumGap = isTerminal ? 0.1 : interval
        guard done >= total || now.timeIntervalSince(lastPrint) >= minimumGap else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let remaining = rate > 0 ? Double(total - done) / rate : 0
        let fraction = Double(done) / Double(total)
        let figures = String(format: "%d/%d %@ %.1f %@/s, %@ elapsed, ETA %@", done, total, unit, rate, unit,
                             Self.clock(elapsed), Self.clock(remaining))
        if isTerminal {
            let width = 24
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            write("\r\u{1B}[2K\(label) [\(bar)] \(figures) \(status)")
            if done >= total { write("\n") }
        } else {
            write("\(label): \(String(format: "%.0f", 100 * fraction))% \(figures) \(status)\n")
        }
    }

    private func write(_ text: String) { output.write(Data(text.utf8)) }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
