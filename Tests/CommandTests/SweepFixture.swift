import Foundation
import TestSupport
import XCTest

/// Sweeps of the short distillation for the sweep tests: a sweep file in a scratch
/// directory, its runs' states and logs.
struct SweepFixture {
    let directory: String
    var file: String { directory + "/sweep.yaml" }
    var out: String { directory + "/out" }

    /// A sweep of short CPSC-DFKD runs: `grid` is the YAML text of its grid (indented two).
    init(_ name: String = #function, grid: String, epochs: Int = 2, ranks: Int = 1, extra: String = "") throws {
        directory = TestFiles.scratchDirectory(name)
        let text = """
        name: test
        ranks: \(ranks)
        options:
          teacher: \(ShortDistillation.teacher)
          student: lenet5-half
          method: cpsc
          dataset: builtin
          split: "\(ShortDistillation.split)"
          config: \(ShortDistillation.shared)/small.yaml
          epochs: \(epochs)
          iterations: 6
          grid-every: 1
          checkpoint-every: 2
          checkpoint-minutes: 0
        \(extra)
        grid:
        \(grid)

        """
        try text.write(toFile: file, atomically: true, encoding: .utf8)
    }

    /// Four runs, the last of whose teacher (in the returned directory) does not exist yet:
    /// that run fails until the test puts a teacher there.
    static func withALateTeacher(_ name: String = #function) throws -> (sweep: SweepFixture, late: String) {
        let late = TestFiles.scratchDirectory("late-teacher")
        let sweep = try SweepFixture(name, grid: """
          part:
            - {name: a, seed: 1}
            - {name: b, seed: 2}
            - {name: c, seed: 3}
            - {name: late, seed: 4, teacher: \(late)/teacher.h5}
        """)
        return (sweep, late)
    }

    func arguments(_ options: [String] = []) -> [String] { ["sweep", file, "--out", out] + options }

    func log(of run: String) -> String { (try? String(contentsOfFile: out + "/runs/\(run)/log.txt", encoding: .utf8)) ?? "" }

    func status(of run: String) -> String {
        ((try? String(contentsOfFile: out + "/runs/\(run)/status", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// summary.csv as rows of fields by column name (no field here holds a comma).
    func summary() throws -> [[String: String]] {
        let lines = try String(contentsOfFile: out + "/summary.csv", encoding: .utf8).split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = try XCTUnwrap(lines.first)
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }

    /// How many times the run was started: its log has one line per start.
    func starts(of run: String) -> Int { log(of: run).components(separatedBy: "distill: cpsc").count - 1 }
}
