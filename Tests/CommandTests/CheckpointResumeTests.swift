import Foundation
import NeuralNetwork
import Storage
import TestSupport
import Training
import XCTest

/// Checkpoints and `distill --resume` as users meet them: runs stopped by signals at random
/// moments, killed, resumed on other rank counts, and resumed from damaged files.
final class CheckpointResumeTests: XCTestCase {
    /// Starts `distill --resume DIRECTORY` and sends `signal` at a random moment of its
    /// iterations (after the line that starts them, within `window` seconds); returns the
    /// status, or nil when the run ended before the signal could reach it.
    static func interrupt(_ directory: String, ranks: Int?, signal: Int32, window: Double,
                          extra: [String] = []) throws -> (status: Int32, output: String)? {
        try interrupt(ShortDistillation.distill(["--resume", directory] + extra), ranks: ranks, signal: signal, window: window,
                      startLine: "distill: cpsc")
    }

    /// `dfkd ARGUMENTS` interrupted by `signal` within `window` seconds after it printed
    /// `startLine`; nil when it finished first.
    static func interrupt(_ dfkdArguments: [String], ranks: Int?, signal: Int32, window: Double,
                          startLine: String) throws -> (status: Int32, output: String)? {
        let (executable, arguments) = ShortDistillation.command(dfkdArguments, ranks: ranks)
        let process = try RunningProcess(executable, arguments)
        guard process.wait(for: startLine) else { return process.finish() }
        usleep(UInt32(Double.random(in: 0...window) * 1e6))
        process.signal(signal)
        let result = process.finish()
        return result.status == 0 ? nil : result
    }

    /// Wall seconds of an uninterrupted run's iterations, for choosing when to interrupt.
    static func iterationSeconds(_ output: String) throws -> Double {
        try XCTUnwrap(DFKDCommand.lastJSON(output)["wall_seconds"] as? Double)
    }

    static func assertSameRun(_ found: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (a, b) = (try ShortDistillation.result(of: found), try ShortDistillation.result(of: expected))
        XCTAssertEqual((a.checkpoint as NSString).lastPathComponent, (b.checkpoint as NSString).lastPathComponent, file: file, line: line)
        XCTAssertEqual(a.state.names.sorted(), b.state.names.sorted(), file: file, line: line)
        let differing = b.state.entries.filter { a.state[$0.name] != $0 }.map(\.name)
        XCTAssertTrue(differing.isEmpty, "differ from the uninterrupted run: \(differing.prefix(5))", file: file, line: line)
        XCTAssertEqual(a.metrics, b.metrics, "metrics.jsonl", file: file, line: line)
    }

    /// A run stopped by SIGTERM at a random iteration (once, then twice) and resumed ends
    /// bit for bit as the uninterrupted run: every parameter, buffer, optimizer moment,
    /// counter and metrics line (but wall times).
    func testStoppedAndResumedRunEqualsTheUninterruptedOne() throws {
        try checkStopsAndResumes(ranks: nil, stops: [1, 2])
    }

    /// The same on 2 ranks, the stop sent to the launcher (which passes it on as SIGUSR1).
    func testStoppedAndResumedTwoRankRunEqualsTheUninterruptedOne() throws {
        try checkStopsAndResumes(ranks: 2, stops: [1])
    }

    private func checkStopsAndResumes(ranks: Int?, stops counts: [Int]) throws {
        let directory = TestFiles.scratchDirectory()
        let reference = try ShortDistillation.run(ShortDistillation.distill(["--out", directory + "/reference", "--json"]), ranks: ranks)
        XCTAssertEqual(reference.status, 0, reference.output)
        let window = try Self.iterationSeconds(reference.output)
        let iterations = 3 * 8
        for stops in counts {
            // A run that finishes before a signal reaches it is started again.
            var run = "", done = 0
            for attempt in 0..<5 where done < stops {
                run = directory + "/stopped-\(stops)-\(attempt)"
                done = 0
                var iterationsDone = 0
                while done < stops {
                    let left = window * Double(iterations - iterationsDone) / Double(iterations)
                    guard let stopped = try Self.interrupt(run, ranks: ranks, signal: SIGTERM, window: 0.8 * left) else { break }
                    XCTAssertEqual(stopped.status, 75, stopped.output)
                    XCTAssertTrue(stopped.output.contains("stopped on request after"), stopped.output)
                    if done > 0 { XCTAssertTrue(stopped.output.contains("resuming \(run)/checkpoints/checkpoint-"), stopped.output) }
                    iterationsDone = try Self.position(stopped.output)
                    done += 1
                }
            }
            XCTAssertEqual(done, stops, "the run kept finishing before the signal")
            let resumed = try ShortDistillation.run(ShortDistillation.distill(["--resume", run]), ranks: ranks)
            XCTAssertEqual(resumed.status, 0, resumed.output)
            XCTAssertTrue(resumed.output.contains("resuming "), resumed.output)
            try Self.assertSameRun(run, directory + "/reference")
        }
    }

    /// The iterations done that a stopped run reports ("after E epoch(s) and I iteration(s)").
    static func position(_ output: String) throws -> Int {
        let line = try XCTUnwrap(output.split(separator: "\n").first { $0.hasPrefix("stopped on request after") }, output)
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return numbers[0] * 8 + numbers[1]
    }

    /// train-teacher stopped by SIGTERM at a random step and resumed ends bit for bit as the
    /// uninterrupted run: its model file's weights, its final checkpoint and its metrics.
    func testStoppedAndResumedTrainingEqualsTheUninterruptedOne() throws {
        let directory = TestFiles.scratchDirectory()
        func train(_ out: String, _ extra: [String] = []) -> [String] {
            ["train-teacher", "--dataset", "builtin", "--split", ShortDistillation.split, "--model", "lenet5", "--epochs", "6",
             "--batch", "64", "--lr", "0.002", "--checkpoint-minutes", "0", "--out", out] + extra
        }
        let reference = try DFKDCommand.run(train(directory + "/reference.h5", ["--json"]))
        XCTAssertEqual(reference.status, 0, reference.output)
        let window = try XCTUnwrap(DFKDCommand.lastJSON(reference.output)["wall_seconds"] as? Double)
        var stopped: (status: Int32, output: String)?, out = ""
        for attempt in 0..<5 where stopped == nil {
            out = directory + "/stopped-\(attempt).h5"
            stopped = try Self.interrupt(train(out, ["--resume"]), ranks: nil, signal: SIGTERM, window: 0.8 * window, startLine: "train-teacher: lenet5")
        }
        let stop = try XCTUnwrap(stopped, "the run kept finishing before the signal")
        XCTAssertEqual(stop.status, 75, stop.output)
        let resumed = try DFKDCommand.run(train(out, ["--resume"]))
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("resuming "), resumed.output)
        let base = (out as NSString).deletingPathExtension, referenceBase = directory + "/reference"
        let (found, expected) = (try ShortDistillation.checkpointsAndMetrics(base), try ShortDistillation.checkpointsAndMetrics(referenceBase))
        XCTAssertEqual(found.state, expected.state)
        XCTAssertEqual(found.metrics, expected.metrics)
        let (model, referenceModel) = (try ModelFile.load(out).model, try ModelFile.load(referenceBase + ".h5").model)
        XCTAssertEqual(model.namedFloatState().map { $0.1.toArray() }, referenceModel.namedFloatState().map { $0.1.toArray() })
    }

    /// A second Ctrl-C a second or more after the first exits at once (status 130) and
    /// leaves the previous checkpoint whole; two within a second are one Ctrl-C (it reaches
    /// a rank from the terminal and from mpirun) and stop with a checkpoint. The student is
    /// large enough that an iteration outlasts the second signal.
    func testSecondInterruptExitsAtOnce() throws {
        let directory = TestFiles.scratchDirectory()
        let slow = try write("batch: 128\n", to: directory + "/slow.yaml")
        func slowRun(_ run: String, epochs: Int) -> [String] {
            ShortDistillation.distill(["--resume", run, "--student", "wrn-16-2", "--config", slow, "--iterations", "1"], epochs: epochs)
        }
        let run = directory + "/run"
        let first = try DFKDCommand.run(slowRun(run, epochs: 1))
        XCTAssertEqual(first.status, 0, first.output)
        let checkpoints = CheckpointSeries(directory: run + "/checkpoints").files()
        XCTAssertEqual(checkpoints.count, 1)
        for (gap, status) in [(1.2, Int32(130)), (0.1, Int32(75))] {
            let process = try RunningProcess(DFKDCommand.binary, slowRun(run, epochs: 5))
            XCTAssertTrue(process.wait(for: "distill: cpsc"), process.output)
            process.signal(SIGINT)
            usleep(UInt32(gap * 1e6))
            process.signal(SIGINT)
            let ended = process.finish()
            XCTAssertEqual(ended.status, status, "second SIGINT \(gap) s after the first: \(ended.output)")
            for path in CheckpointSeries(directory: run + "/checkpoints").files() { XCTAssertNoThrow(try CheckpointFile.read(path)) }
        }
        XCTAssertTrue(CheckpointSeries(directory: run + "/checkpoints").files().contains(checkpoints[0]))
    }

    /// SIGKILL at random moments, and (every other trial) just as a checkpoint's write
    /// starts, with checkpoints written every iteration, always leaves only whole
    /// checkpoints: the run resumes from the newest and ends bit for bit as the
    /// uninterrupted run. DFKD_KILL_TRIALS sets the number of trials (scripts/kill-test.sh).
    func testKilledRunsResumeToTheUninterruptedResult() throws {
        let trials = Int(ProcessInfo.processInfo.environment["DFKD_KILL_TRIALS"] ?? "") ?? 5
        let directory = TestFiles.scratchDirectory()
        let options = ["--checkpoint-every", "1", "--save-samples", "1"]
        let reference = try ShortDistillation.run(ShortDistillation.distill(["--out", directory + "/reference", "--json"] + options))
        XCTAssertEqual(reference.status, 0, reference.output)
        let window = try Self.iterationSeconds(reference.output)
        var killedWithCheckpoints = 0
        for trial in 0..<trials {
            let run = directory + "/killed-\(trial)"
            let duringWrite = trial % 2 == 1
            guard let killed = try Self.kill(run, window: window, duringWrite: duringWrite, extra: options) else { continue }
            XCTAssertEqual(killed.status, 128 + SIGKILL, killed.output)
            let series = CheckpointSeries(directory: run + "/checkpoints")
            for path in series.files() { XCTAssertNoThrow(try CheckpointFile.read(path), "a kill left \(path) unreadable") }
            let newest = series.files().last
            if newest != nil { killedWithCheckpoints += 1 }
            let resumed = try ShortDistillation.run(ShortDistillation.distill(["--resume", run] + options))
            XCTAssertEqual(resumed.status, 0, resumed.output)
            if let newest { XCTAssertTrue(resumed.output.contains("resuming \(newest) "), "did not resume from \(newest): \(resumed.output)") }
            try Self.assertSameRun(run, directory + "/reference")
            // The sample shards hold the uninterrupted run's samples, each once.
            XCTAssertEqual(try ShortDistillation.keptSamples(of: run), try ShortDistillation.keptSamples(of: directory + "/reference"))
            for place in ["/checkpoints", "/samples"] {
                XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: run + place).allSatisfy { !$0.contains(".tmp-") },
                              "an interrupted write's temporary file was left in \(place)")
            }
        }
        print("kill trials: \(trials), \(killedWithCheckpoints) killed after their first checkpoint")
        XCTAssertGreaterThan(killedWithCheckpoints, 0, "no trial was killed after a checkpoint was written")
    }

    /// `distill --resume RUN` killed with SIGKILL at a random moment of its iterations, or
    /// with `duringWrite` at the first change of its checkpoints directory after it (a
    /// write's first file appearing); nil when the run finished first.
    static func kill(_ run: String, window: Double, duringWrite: Bool, extra: [String]) throws -> (status: Int32, output: String)? {
        guard duringWrite else { return try interrupt(run, ranks: nil, signal: SIGKILL, window: window, extra: extra) }
        let (executable, arguments) = ShortDistillation.command(ShortDistillation.distill(["--resume", run] + extra), ranks: nil)
        let process = try RunningProcess(executable, arguments)
        guard process.wait(for: "distill: cpsc") else { return process.finish() }
        usleep(UInt32(Double.random(in: 0...(0.8 * window)) * 1e6))
        func listing() -> Set<String> { Set((try? FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints")) ?? []) }
        let before = listing(), deadline = Date().addingTimeInterval(10)
        while listing() == before && Date() < deadline && process.isRunning { usleep(200) }
        process.signal(SIGKILL)
        let result = process.finish()
        return result.status == 0 ? nil : result
    }

    /// A 2-rank run's checkpoint from the middle of an epoch resumed on 1 and on 3 ranks
    /// follows the uninterrupted 2-rank run: each weight within the trajectory checks'
    /// N-ranks tolerance (1e-2, absolute below 1), and all of them within 1e-2 of the
    /// distance they travelled after the checkpoint. Measured: 3e-4 of the distance (4e-5
    /// per weight) on 1 and on 3 ranks; a resume that draws other samples than the 2-rank
    /// run (its draw counter moved on by 7, the checksums made to fit) lands 0.45 of the
    /// distance away (1.3e-2 per weight). The step sizes are the trajectory checks'
    /// (student 1e-3, generator 1e-5).
    func testCheckpointResumesOnOtherRankCounts() throws {
        let directory = TestFiles.scratchDirectory()
        let steps = try write("student-lr: 0.001\ngenerator-lr: 0.00001\n", to: directory + "/steps.yaml")
        let options = ["--config", steps]
        let reference = directory + "/reference"
        let run = try ShortDistillation.run(ShortDistillation.distill(["--out", reference, "--checkpoint-every", "3", "--keep-checkpoints", "100"] + options), ranks: 2)
        XCTAssertEqual(run.status, 0, run.output)
        let middle = RunDirectory.checkpointName(epoch: 2, iteration: 3)
        let expected = try ShortDistillation.result(of: reference)
        let start = try CheckpointFile.read(reference + "/checkpoints/" + middle).state
        for ranks in [1, 3] {
            let copy = directory + "/on-\(ranks)"
            try FileManager.default.createDirectory(atPath: copy + "/checkpoints", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: reference + "/checkpoints/" + middle, toPath: copy + "/checkpoints/" + middle)
            try FileManager.default.copyItem(atPath: reference + "/metrics.jsonl", toPath: copy + "/metrics.jsonl")
            let resumed = try ShortDistillation.run(ShortDistillation.distill(["--resume", copy] + options), ranks: ranks == 1 ? nil : ranks)
            XCTAssertEqual(resumed.status, 0, resumed.output)
            XCTAssertTrue(resumed.output.contains("written by 2 rank(s)"), resumed.output)
            let found = try ShortDistillation.result(of: copy)
            XCTAssertEqual(found.metrics.count, expected.metrics.count)
            var worst = (difference: 0.0, name: ""), apart = 0.0, travelled = 0.0
            for entry in expected.state.entries where entry.name.hasPrefix("student/") || entry.name.hasPrefix("generator/") {
                guard case .floats(let b) = entry.values, case .floats(let a)? = found.state[entry.name]?.values,
                      case .floats(let s)? = start[entry.name]?.values else { continue }
                for ((x, y), z) in zip(zip(a, b), s) {
                    let difference = Double(abs(x - y) / max(1, abs(y)))
                    if difference > worst.difference { worst = (difference, entry.name) }
                    apart += Double(x - y) * Double(x - y)
                    travelled += Double(y - z) * Double(y - z)
                }
            }
            let share = (apart / travelled).squareRoot()
            print("resumed on \(ranks) rank(s): weights within \(worst.difference) of the 2-rank run (\(worst.name)), "
                  + "\(share) of the distance travelled after the checkpoint")
            XCTAssertLessThanOrEqual(worst.difference, 1e-2, worst.name)
            XCTAssertLessThanOrEqual(share, 1e-2)
        }
    }

    private func write(_ text: String, to path: String) throws -> String {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
