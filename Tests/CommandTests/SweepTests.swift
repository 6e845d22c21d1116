import Foundation
import Storage
import TestSupport
import XCTest

/// `dfkd sweep` without Slurm, on this machine: the grid's expansion and names, runs side by
/// side on their own cores, a failed run rerun alone, a killed sweep finished by running it
/// again, and the summary and the HTML report (rendered in headless Chromium).
final class SweepTests: XCTestCase {
    func testTheGridExpandsIntoRunsNamedByTheirValues() throws {
        let sweep = try SweepFixture(grid: """
          config: [\(ShortDistillation.shared)/small.yaml, [\(ShortDistillation.shared)/small.yaml, extra.yaml]]
          seed: [1, 2]
          pair:
            - {name: half, student: lenet5-half}
            - {student: lenet5, student-lr: 0.001}
        """)
        try "student-lr: 0.003\n".write(toFile: sweep.directory + "/extra.yaml", atomically: true, encoding: .utf8)
        let list = try Subprocess.run(DFKDCommand.binary, sweep.arguments(["--list"]), workingDirectory: sweep.directory)
        XCTAssertEqual(list.status, 0, list.output)
        let runs = list.output.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        // The first axis varies slowest; a config file shows by its name, other values with their axis.
        XCTAssertEqual(runs.map { $0[0] }, ["small_seed-1_half", "small_seed-1_lenet5-0.001", "small_seed-2_half", "small_seed-2_lenet5-0.001",
                                            "small+extra_seed-1_half", "small+extra_seed-1_lenet5-0.001", "small+extra_seed-2_half",
                                            "small+extra_seed-2_lenet5-0.001"], list.output)
        XCTAssertTrue(runs.allSatisfy { $0[1] == "pending" && $0[2].hasPrefix(sweep.out + "/runs/") }, list.output)
        // The grid's config files come after the shared one, relative paths taken from the working directory.
        let layered = runs[4][3]
        XCTAssertTrue(layered.contains("--config \(ShortDistillation.shared)/small.yaml --config \(ShortDistillation.shared)/small.yaml "
                                       + "--config \(sweep.directory)/extra.yaml"), layered)
        XCTAssertTrue(runs[1][3].contains("--student lenet5 ") && runs[0][3].contains("--student lenet5-half"), list.output)
        // Settings go to the run's own config file, layered last.
        XCTAssertTrue(runs[1][3].hasSuffix("--config \(runs[1][2])/settings.yaml"), runs[1][3])

        for (grid, message) in [("  seed: [1, 1]", "several runs are named seed-1"),
                                ("  sed: [1, 2]", "grid: sed is not an option or a setting"),
                                ("  pair:\n    - {teacher-file: a.h5}", "grid: pair: unknown key teacher-file"),
                                ("  seed: 1", "grid: seed: expected a list of values"),
                                ("  pair:\n    - {name: ../up, seed: 1}", "the run name '../up' may hold only"),
                                ("  student-lr: [0.1, -1]", "student-lr is -1, expected a finite number greater than 0")] {
            let bad = try SweepFixture("bad", grid: grid)
            let result = try DFKDCommand.run(bad.arguments(["--list"]))
            XCTAssertEqual(result.status, 1, result.output)
            let named = message.hasPrefix("student-lr") ? "run student-lr--1: " + bad.file : bad.file
            XCTAssertTrue(result.output.contains(named + ": " + message), "\(grid): \(result.output)")
        }
    }

    func testTheShippedSweepFilesExpandIntoRunnableRuns() throws {
        // Tables 4, 5 and 6 have a run per row file of configs/ablations/, on MNIST for each of two pairs;
        // GIP's loss ablation every combination of its losses; the method comparison 6 methods x 3 seeds.
        let expected = ["cpsc-table4-builtin": 7, "cpsc-table4-mnist": 14, "cpsc-table5-builtin": 3, "cpsc-table5-mnist": 6,
                        "cpsc-table6-builtin": 3, "cpsc-table6-mnist": 6, "gip-losses-builtin": 15, "gip-losses-mnist": 15,
                        "methods-builtin": 18, "methods-mnist": 18, "lenet-fashion": 6, "lenet-mnist": 6, "methods-fashion": 15]
        let directory = TestFiles.repositoryRoot + "/configs/sweeps"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertEqual(files.map { String($0.dropLast(5)) }, expected.keys.sorted())
        let out = TestFiles.scratchDirectory()
        for file in files {
            let list = try Subprocess.run(DFKDCommand.binary, ["sweep", directory + "/" + file, "--list", "--out", out + "/" + file],
                                          workingDirectory: TestFiles.repositoryRoot)
            XCTAssertEqual(list.status, 0, "\(file): \(list.output)")
            XCTAssertEqual(list.output.split(separator: "\n").count, expected[String(file.dropLast(5))], "\(file): \(list.output)")
        }
    }

    func testAFailedRunIsRerunAloneAndTheReportDrawsEveryRun() throws {
        let (sweep, late) = try SweepFixture.withALateTeacher()
        let first = try DFKDCommand.run(sweep.arguments())
        XCTAssertEqual(first.status, 1, "a failed run fails the sweep: \(first.output)")
        // Two runs side by side, each on a core of its own.
        XCTAssertTrue(first.output.contains("started on localhost, cores 0") && first.output.contains("started on localhost, cores 1"), first.output)
        XCTAssertEqual(["a", "b", "c"].map(sweep.status), ["finished", "finished", "finished"])
        XCTAssertEqual(sweep.status(of: "late"), "failed 1", sweep.log(of: "late"))
        XCTAssertTrue(sweep.log(of: "late").contains("\(late)/teacher.h5"), sweep.log(of: "late"))
        XCTAssertEqual(try sweep.summary().map { $0["state"] }, ["finished", "finished", "finished", "failed"])

        try FileManager.default.copyItem(atPath: ShortDistillation.teacher, toPath: late + "/teacher.h5")
        let misnamed = try DFKDCommand.run(sweep.arguments(["--only", "lat"]))
        XCTAssertEqual(misnamed.status, 1, misnamed.output)
        XCTAssertTrue(misnamed.output.contains("no run named lat; its runs: a, b, c, late"), misnamed.output)
        // --only: of the runs it names, the finished one stays as it is.
        let second = try DFKDCommand.run(sweep.arguments(["--only", "late", "a"]))
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertTrue(second.output.contains("2 chosen, 1 finished, 1 to run") && second.output.components(separatedBy: " started on ").count == 2, second.output)
        XCTAssertEqual(["a", "b", "c", "late"].map(sweep.starts), [1, 1, 1, 1], "only the failed run ran again (it failed before its first line)")
        let rows = try sweep.summary()
        XCTAssertEqual(rows.map { $0["run"] }, ["a", "b", "c", "late"])
        XCTAssertEqual(rows.map { $0["state"] }, ["finished", "finished", "finished", "finished"])
        XCTAssertEqual(rows.map { $0["part"] }, ["a", "b", "c", "late"])
        for row in rows {
            XCTAssertEqual(row["epochs"], "2/2")
            let top1 = try XCTUnwrap(Double(row["student_top1"] ?? ""), "\(row)")
            let teacher = try XCTUnwrap(Double(row["teacher_top1"] ?? ""))
            // Each figure is printed to 0.005: the ratio of the printed accuracies may be off by
            // what their rounding moves it, plus the printed ratio's own rounding.
            let roundingBound = 100 * (0.005 / teacher + top1 * 0.005 / (teacher * teacher)) + 0.005
            XCTAssertEqual(try XCTUnwrap(Double(row["restored_ratio"] ?? "")), 100 * top1 / teacher, accuracy: roundingBound, "\(row)")
        }
        try ReportRendering.check(sweep.out + "/report.html", charts: 4)

        // Runs made with other settings are not counted under new ones.
        try String(contentsOfFile: sweep.file, encoding: .utf8).replacingOccurrences(of: "epochs: 2", with: "epochs: 3")
            .write(toFile: sweep.file, atomically: true, encoding: .utf8)
        let changed = try DFKDCommand.run(sweep.arguments())
        XCTAssertEqual(changed.status, 1, changed.output)
        XCTAssertTrue(changed.output.contains("\(sweep.out)/runs/a: this run was started with other options or settings"), changed.output)
    }

    func testASweepKilledMidRunIsFinishedByRunningItAgain() throws {
        let sweep = try SweepFixture(grid: "  seed: [1, 2]", epochs: 6)
        let running = try RunningProcess(DFKDCommand.binary, sweep.arguments())
        // Kill everything of the sweep, as a crashed login node would, once both runs checkpointed.
        let deadline = Date().addingTimeInterval(120)
        func checkpoints(_ run: String) -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: sweep.out + "/runs/\(run)/checkpoints")) ?? []).filter { $0.hasSuffix(".h5") }.count
        }
        while Date() < deadline, checkpoints("seed-1") == 0 || checkpoints("seed-2") == 0 { usleep(50_000) }
        _ = try Subprocess.run("/usr/bin/pkill", ["-KILL", "-f", sweep.out])
        XCTAssertEqual(running.finish().status, 128 + SIGKILL)
        XCTAssertTrue(sweep.status(of: "seed-1").hasPrefix("running pid:"), sweep.status(of: "seed-1"))

        let again = try DFKDCommand.run(sweep.arguments())
        XCTAssertEqual(again.status, 0, again.output)
        for run in ["seed-1", "seed-2"] {
            XCTAssertEqual(sweep.status(of: run), "finished")
            XCTAssertTrue(sweep.log(of: run).contains("resuming \(sweep.out)/runs/\(run)/checkpoints/checkpoint-"), sweep.log(of: run))
        }
        XCTAssertEqual(try sweep.summary().map { $0["epochs"] }, ["6/6", "6/6"])
    }

    func testASweepRefusesToRunBesideItself() throws {
        let sweep = try SweepFixture(grid: "  seed: [1]", epochs: 30)
        let running = try RunningProcess(DFKDCommand.binary, sweep.arguments())
        XCTAssertTrue(running.wait(for: "started on localhost"), running.output)
        let second = try DFKDCommand.run(sweep.arguments())
        XCTAssertEqual(second.status, 1, second.output)
        XCTAssertTrue(second.output.contains("another dfkd sweep runs this sweep"), second.output)
        running.signal(SIGINT)
        let stopped = running.finish()
        XCTAssertEqual(stopped.status, 75, "a stopped sweep is resumable: \(stopped.output)")
        XCTAssertEqual(sweep.status(of: "seed-1"), "stopped")
    }

    func testTheReportAveragesOverSeedsAndScoresTheDataFreePicks() throws {
        // A sweep's directory as `dfkd sweep` leaves it: the plan, and per run its status and
        // metrics (each epoch's real top-1, the picks the data-free rules made, the probe scores).
        let directory = TestFiles.scratchDirectory()
        let runs: [(name: String, pair: String, seed: String, state: String, top1: [Double], picks: [String: Int])] = [
            ("a-1", "a", "1", "finished", [50, 60, 70, 80], ["agreement": 3, "divergence": 4]),
            ("a-2", "a", "2", "finished", [40, 80, 70, 60], ["agreement": 2, "divergence": 0]),
            ("a-3", "a", "3", "running pid: 1 on here since now", [10, 20], [:]),
            ("b-1", "b", "1", "finished", [90, 91, 92, 93, 94, 95], ["agreement": 6, "divergence": 5]),
        ]
        let plan: [String: Any] = ["name": "seeds", "axes": ["pair", "seed"],
                                   "runs": runs.map { ["name": $0.name, "labels": ["pair": $0.pair, "seed": $0.seed]] }]
        try JSONSerialization.data(withJSONObject: plan).write(to: URL(fileURLWithPath: directory + "/sweep.json"))
        for run in runs {
            let path = directory + "/runs/" + run.name
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try (run.state + "\n").write(toFile: path + "/status", atomically: true, encoding: .utf8)
            let lines = try run.top1.enumerated().map { index, top1 -> String in
                // The probe's agreement grows with the epoch; its divergence ranks the epochs against their real top-1.
                var line: [String: Any] = ["epoch": index + 1, "student_top1": top1, "teacher_top1": 100.0, "restored_ratio": top1,
                                           "planned_epochs": run.top1.count, "picked_epoch": run.top1.count, "picked_student_top1": top1,
                                           "probe_agreement": Double(index + 1), "probe_divergence": top1]
                if index == run.top1.count - 1 { line["picked_epoch_by_rule"] = run.picks }
                return String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self)
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: path + "/metrics.jsonl", atomically: true, encoding: .utf8)
        }
        let report = try DFKDCommand.run(["report", directory])
        XCTAssertEqual(report.status, 0, report.output)

        let rows = try String(contentsOfFile: directory + "/summary.csv", encoding: .utf8).split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = rows[0]
        let summary = rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
        // Second half: the epochs past half the last one's number; variance over them, divided by their count.
        XCTAssertEqual(summary.map { $0["second_half_mean"] }, ["75.00", "65.00", "20.00", "94.00"])
        XCTAssertEqual(summary.map { $0["second_half_variance"] }, ["25.00", "25.00", "0.00", "0.67"])
        XCTAssertEqual(summary.map { $0["last_top1"] }, ["80.00", "60.00", "20.00", "95.00"])

        let seeds = try String(contentsOfFile: directory + "/seeds.csv", encoding: .utf8).split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(seeds[0], ["pair", "seeds", "student_top1_mean", "student_top1_std", "restored_ratio_mean", "restored_ratio_std", "best_top1_mean",
                                  "pick_gap_mean", "pick_gap_worst", "second_half_mean", "second_half_variance"])
        // Pair a over its two finished seeds (the running one is left out): kept 80 and 60, best 80 and 80.
        XCTAssertEqual(seeds[1], ["a", "2/3", "70.00", "14.14", "70.00", "14.14", "80.00", "10.00", "20.00", "70.00", "25.00"])
        XCTAssertEqual(seeds[2], ["b", "1/1", "95.00", "", "95.00", "", "95.00", "0.00", "0.00", "94.00", "0.67"])

        let markdown = try String(contentsOfFile: directory + "/summary.md", encoding: .utf8)
        XCTAssertTrue(markdown.contains("## Over seeds"), markdown)
        XCTAssertTrue(markdown.contains("| a-1 | 4 | 80.00 (4) | 4, 80.00 (0.00) | 3, 70.00 (10.00) | 4, 80.00 (0.00) | 1.00 / -1.00 |"), markdown)
        XCTAssertTrue(markdown.contains("| a-2 | 4 | 80.00 (2) | 4, 60.00 (20.00) | 2, 80.00 (0.00) | - | 0.20 / -1.00 |"), markdown)
        // The study's totals over the runs that finished or stopped: the running one is no row.
        XCTAssertFalse(markdown.contains("| a-3 | 2 |"), markdown)
        XCTAssertTrue(markdown.contains("last: gap to the best epoch, mean 6.67, worst 20.00 over 3 run(s)."), markdown)
        XCTAssertTrue(markdown.contains("agreement: gap to the best epoch, mean 3.33, worst 10.00 over 3 run(s)."), markdown)
        XCTAssertTrue(markdown.contains("divergence: gap to the best epoch, mean 0.50, worst 1.00 over 2 run(s)."), markdown)
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<h2>Over seeds</h2>") && html.contains("<td>2/3</td>"), html)

        // Two sweeps and a run of its own, summarised together: each sweep's seeds apart.
        let scratch = TestFiles.scratchDirectory("more")
        try FileManager.default.copyItem(atPath: directory, toPath: scratch + "/more")
        var renamed = plan
        renamed["name"] = "more"
        try JSONSerialization.data(withJSONObject: renamed).write(to: URL(fileURLWithPath: scratch + "/more/sweep.json"))
        let together = try DFKDCommand.run(["report", directory, scratch + "/more", directory + "/runs/b-1", "--out", scratch + "/study"])
        XCTAssertEqual(together.status, 0, together.output)
        let groups = try String(contentsOfFile: scratch + "/study/seeds.csv", encoding: .utf8).split(separator: "\r\n")
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).prefix(3).joined(separator: ",") }
        XCTAssertEqual(groups, ["sweep,pair,seeds", "seeds,a,2/3", "seeds,b,1/1", "more,a,2/3", "more,b,1/1", "b-1,,1/1"])
        let study = try String(contentsOfFile: scratch + "/study/summary.md", encoding: .utf8)
        XCTAssertTrue(study.contains("| more/a-1 | 4 | 80.00 (4) |") && study.contains("| b-1 | 6 | 95.00 (6) |"), study)
        XCTAssertTrue(study.contains("last: gap to the best epoch, mean 5.71, worst 20.00 over 7 run(s)."), study)
        let twice = try DFKDCommand.run(["report", directory, directory + "/runs/../", "--out", scratch + "/twice"])
        XCTAssertEqual(twice.status, 1, twice.output)
        XCTAssertTrue(twice.output.contains("are both named 'seeds'"), twice.output)
        let unplaced = try DFKDCommand.run(["report", directory, scratch + "/more"])
        XCTAssertEqual(unplaced.status, 64, unplaced.output)
        XCTAssertTrue(unplaced.output.contains("several directories need --out DIR"), unplaced.output)
    }

    func testTheReportOfOneRunDirectory() throws {
        let directory = TestFiles.scratchDirectory()
        let run = try DFKDCommand.run(ShortDistillation.distill(["--out", directory + "/run", "--grid-every", "1"], epochs: 2))
        XCTAssertEqual(run.status, 0, run.output)
        let report = try DFKDCommand.run(["report", directory + "/run"])
        XCTAssertEqual(report.status, 0, report.output)
        XCTAssertTrue(report.output.contains("run\tfinished\t2/2\t"), report.output)
        let markdown = try String(contentsOfFile: directory + "/run/summary.md", encoding: .utf8)
        XCTAssertTrue(markdown.contains("| run | finished | 2/2 |"), markdown)
        try ReportRendering.check(directory + "/run/report.html", charts: 1)

        let nothing = try DFKDCommand.run(["report", directory])
        XCTAssertEqual(nothing.status, 1, nothing.output)
        XCTAssertTrue(nothing.output.contains("\(directory): neither a sweep's directory"), nothing.output)
    }
}
