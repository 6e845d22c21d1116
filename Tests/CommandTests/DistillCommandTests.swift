import Foundation
import NeuralNetwork
import Storage
import TestSupport
import XCTest

/// `dfkd distill` and `dfkd show-config` as users run them.
final class DistillCommandTests: XCTestCase {
    private static let split = "2000:300"

    /// A small LeNet-5 teacher on the built-in dataset.
    private func teacher(in directory: String) throws -> String {
        let model = directory + "/teacher.h5"
        let train = try DFKDCommand.run(["train-teacher", "--dataset", "builtin", "--split", Self.split, "--model", "lenet5",
                                         "--epochs", "2", "--batch", "64", "--lr", "0.002", "--out", model])
        XCTAssertEqual(train.status, 0, train.output)
        return model
    }

    private func write(_ text: String, to path: String) throws -> String {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testDistillWritesStudentGeneratorMetricsAndGrids() throws {
        let directory = TestFiles.scratchDirectory()
        let teacher = try teacher(in: directory)
        let config = try write("batch: 32\ngenerator-widths: [8, 8, 4]\nstudent-optimizer: adam\nstudent-lr: 0.002\n",
                               to: directory + "/small.yaml")
        let out = directory + "/run"
        let distill = try DFKDCommand.run(["distill", "--teacher", teacher, "--student", "lenet5-half", "--method", "cpsc",
                                           "--dataset", "builtin", "--split", Self.split, "--config", config,
                                           "--epochs", "3", "--iterations", "2", "--grid-every", "2", "--out", out, "--json"])
        XCTAssertEqual(distill.status, 0, distill.output)
        let summary = try DFKDCommand.lastJSON(distill.output)
        let student = try XCTUnwrap(summary["student_top1"] as? Double, distill.output)
        let teacherTop1 = try XCTUnwrap(summary["teacher_top1"] as? Double, distill.output)
        XCTAssertEqual(summary["restored_ratio"] as? Double ?? 0, 100 * student / teacherTop1, accuracy: 1e-9)
        XCTAssertGreaterThan(summary["wall_seconds"] as? Double ?? 0, 0)
        XCTAssertEqual(summary["epochs"] as? Int, 3)

        let lines = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        let last = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [String: Any])
        for term in ["g_ce", "g_contrast", "g_kd", "g_log_l2", "g_total", "s_kd", "s_log_l2", "s_ce", "s_total", "student_top1"] {
            XCTAssertNotNil(last[term] as? Double, "metrics.jsonl lacks \(term): \(lines[2])")
        }
        XCTAssertNil(last["g_bns"], "a teacher without batch norm has no BN-statistics term")
        XCTAssertEqual(last["picked_student_top1"] as? Double ?? -1, student, accuracy: 1e-9, "the reported accuracy is the kept student's")
        XCTAssertEqual(summary["last_student_top1"] as? Double ?? -1, last["student_top1"] as? Double ?? -2, accuracy: 1e-9)
        let picked = try XCTUnwrap(summary["picked_epoch"] as? Int, distill.output)
        let pickedLine = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[picked - 1].utf8)) as? [String: Any])
        XCTAssertEqual(pickedLine["student_top1"] as? Double ?? -1, student, accuracy: 1e-9, "the picked epoch's accuracy")

        // The saved student is a model file that evaluates to the reported accuracy.
        let eval = try DFKDCommand.run(["eval", "--model-file", out + "/student.h5", "--dataset", "builtin", "--split", Self.split, "--json"])
        XCTAssertEqual(eval.status, 0, eval.output)
        XCTAssertEqual(try DFKDCommand.lastJSON(eval.output)["eval_top1"] as? Double ?? -1, student, accuracy: 1e-9)
        let generator = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out + "/generator.h5")))
        XCTAssertTrue(generator.starts(with: Array("dfkd-checksum 1\n".utf8)), "generator.h5 starts with its checksum block")
        XCTAssertEqual(Array(generator[512..<516]), [0x89, 0x48, 0x44, 0x46], "and is an HDF5 file after it")

        // Grids every 2 epochs and at the end; 10 rows of 8 images of 32 pixels, 2-pixel gaps.
        let grids = try FileManager.default.contentsOfDirectory(atPath: out + "/grids").sorted()
        XCTAssertEqual(grids, ["epoch-0002.png", "epoch-0003.png"])
        let png = try Data(contentsOf: URL(fileURLWithPath: out + "/grids/epoch-0003.png"))
        func bigEndian(_ offset: Int) -> Int { png[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        XCTAssertEqual(bigEndian(16), 8 * 34 + 2, "IHDR width")
        XCTAssertEqual(bigEndian(20), 10 * 34 + 2, "IHDR height")
    }

    /// With a weight average the last epoch's student (student-last.h5) is the average, not the trained weights, and
    /// every metrics line and the final report give the within-class diversity of the
    /// generated images beside the real ones'.
    func testTheSavedStudentIsTheAverageAndTheDiversityIsReported() throws {
        let out = TestFiles.scratchDirectory() + "/run"
        let distill = try ShortDistillation.run(ShortDistillation.distill(["--out", out, "--json"], epochs: 2))
        XCTAssertEqual(distill.status, 0, distill.output)

        let (saved, _) = try ModelFile.load(out + "/student-last.h5")
        let (state, metrics, _) = try ShortDistillation.result(of: out)
        var differsFromTrained = false
        for (name, tensor) in saved.namedFloatState() {
            let values = tensor.toArray(), average = try state.floats("student_average/model/" + name)
            let trained = try state.floats("student/" + name)
            XCTAssertTrue(values == average, "student-last.h5's \(name) is not the average's" + (values == trained ? " but the trained weights'" : ""))
            differsFromTrained = differsFromTrained || values != trained
        }
        XCTAssertTrue(differsFromTrained, "the average equals the trained weights: the comparison cannot tell them apart")

        XCTAssertEqual(metrics.count, 2)
        for fields in metrics {
            for field in ["sample_diversity", "real_diversity", "trained_student_top1"] {
                XCTAssertNotNil(fields[field] as? Double, "metrics.jsonl lacks \(field): \(fields)")
            }
            XCTAssertGreaterThan(fields["real_diversity"] as? Double ?? 0, 0, "the evaluation images of a class differ: \(fields)")
        }
        XCTAssertTrue(distill.output.contains("within-class diversity"), distill.output)
        let summary = try DFKDCommand.lastJSON(distill.output)
        XCTAssertEqual(summary["sample_diversity"] as? Double, metrics.last?["sample_diversity"] as? Double, distill.output)
        XCTAssertEqual(summary["real_diversity"] as? Double, metrics.last?["real_diversity"] as? Double, distill.output)
    }

    /// GIP's real-data iterations use the dataset's training split.
    func testGIPRunsRealDataIterations() throws {
        let directory = TestFiles.scratchDirectory()
        let teacher = try teacher(in: directory)
        let config = try write("batch: 32\niterations: 2\nepochs: 1\ngenerator-widths: [8, 8, 4]\nnoise: 16\nreal-passes: 0.25\nreal-batch: 50\n",
                               to: directory + "/gip.yaml")
        let distill = try DFKDCommand.run(["distill", "--teacher", teacher, "--student", "lenet5-half", "--method", "gip",
                                           "--dataset", "builtin", "--split", Self.split, "--config", config, "--out", directory + "/run"])
        XCTAssertEqual(distill.status, 0, distill.output)
        let line = try String(contentsOfFile: directory + "/run/metrics.jsonl", encoding: .utf8)
        let metrics = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertNotNil(metrics["real_ce"] as? Double, line)
        XCTAssertNotNil(metrics["g_entropy"] as? Double, line)
    }

    func testBadInputNamesTheFileAndTheField() throws {
        let directory = TestFiles.scratchDirectory()
        let teacher = try teacher(in: directory)
        let base = ["distill", "--teacher", teacher, "--student", "lenet5-half", "--dataset", "builtin", "--out", directory + "/run"]

        let method = try DFKDCommand.run(base + ["--method", "dfkd"])
        XCTAssertEqual(method.status, 64, "a usage error")
        XCTAssertTrue(method.output.contains("'dfkd' is invalid for '--method") && method.output.contains("cpsc"), method.output)
        let fileMethod = try DFKDCommand.run(base + ["--config", try write("method: dfkd\n", to: directory + "/method.yaml")])
        XCTAssertEqual(fileMethod.status, 1)
        XCTAssertTrue(fileMethod.output.contains("method.yaml: method 'dfkd'") && fileMethod.output.contains("cpsc"), fileMethod.output)

        let noMethod = try DFKDCommand.run(base)
        XCTAssertEqual(noMethod.status, 1)
        XCTAssertTrue(noMethod.output.contains("--method is required"), noMethod.output)

        let badValue = try write("embeddings: some\n", to: directory + "/bad.yaml")
        let value = try DFKDCommand.run(base + ["--method", "cpsc", "--config", badValue])
        XCTAssertEqual(value.status, 1)
        XCTAssertTrue(value.output.contains(badValue) && value.output.contains("embeddings 'some'"), value.output)

        // The later of two files is named when its key is the bad one.
        let good = try write("method: cpsc\nbatch: 16\n", to: directory + "/good.yaml")
        let badType = try write("batch: many\n", to: directory + "/type.yaml")
        let layered = try DFKDCommand.run(base + ["--config", good, "--config", badType])
        XCTAssertEqual(layered.status, 1)
        XCTAssertTrue(layered.output.contains(badType + ": batch is 'many', expected an integer"), layered.output)

        let missing = try DFKDCommand.run(["distill", "--teacher", directory + "/absent.h5", "--student", "lenet5-half",
                                           "--method", "cpsc", "--dataset", "builtin", "--out", directory + "/run"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.output.contains(directory + "/absent.h5"), missing.output)

        let student = try DFKDCommand.run(base + ["--method", "cpsc", "--student", "lenet7"])
        XCTAssertEqual(student.status, 64)
        XCTAssertTrue(student.output.contains("lenet7"), student.output)
    }

    /// One recipe file for teachers with and without batch norms: `teacher-without-batch-norm`
    /// replaces settings only for a teacher without any, show-config prints it back as a
    /// valid file, and a typo or a bad value in it is refused whatever the teacher.
    func testARecipeForTeachersWithAndWithoutBatchNorms() throws {
        let directory = TestFiles.scratchDirectory()
        let recipe = directory + "/recipe.yaml"
        try "ce-generator: 0.5\nteacher-without-batch-norm:\n  ce-generator: 2.5\n  embeddings: three\n"
            .write(toFile: recipe, atomically: true, encoding: .utf8)
        let shown = try DFKDCommand.run(["show-config", "--method", "cpsc", "--config", recipe])
        XCTAssertEqual(shown.status, 0, shown.output)
        XCTAssertTrue(shown.output.contains("\nce-generator: 0.5\n") && shown.output.contains("\nembeddings: all\n"), shown.output)
        XCTAssertTrue(shown.output.hasSuffix("\nteacher-without-batch-norm:\n  embeddings: three\n  ce-generator: 2.5\n"), shown.output)
        try shown.output.write(toFile: directory + "/shown.yaml", atomically: true, encoding: .utf8)
        XCTAssertEqual(try DFKDCommand.run(["show-config", "--config", directory + "/shown.yaml"]).output, shown.output)
        // A later file's setting wins over an earlier file's section, as over its other settings.
        try "embeddings: none\n".write(toFile: directory + "/later.yaml", atomically: true, encoding: .utf8)
        let layered = try DFKDCommand.run(["show-config", "--method", "cpsc", "--config", recipe, "--config", directory + "/later.yaml"])
        XCTAssertTrue(layered.output.contains("\nembeddings: none\n") && layered.output.hasSuffix("\nteacher-without-batch-norm:\n  ce-generator: 2.5\n"),
                      layered.output)

        // The short runs' teacher is a LeNet-5 without batch norm: the section's settings are the run's.
        let run = try DFKDCommand.run(ShortDistillation.distill(["--out", directory + "/run", "--config", recipe], epochs: 1))
        XCTAssertEqual(run.status, 0, run.output)
        let checkpoint = try XCTUnwrap(CheckpointSeries(directory: directory + "/run/checkpoints").files().last)
        let inspected = try DFKDCommand.run(["inspect", checkpoint])
        XCTAssertTrue(inspected.output.contains("2.5 (default: 0.7)") && inspected.output.contains("three (default: all)"), inspected.output)
        // Resumed, the run keeps them.
        let resumed = try DFKDCommand.run(ShortDistillation.distill(["--resume", directory + "/run", "--config", recipe], epochs: 2))
        XCTAssertEqual(resumed.status, 0, resumed.output)
        // A teacher with batch norms keeps the file's own.
        let normed = directory + "/lenet5-bn.h5"
        let train = try DFKDCommand.run(["train-teacher", "--dataset", "builtin", "--split", "500:100", "--model", "lenet5-bn", "--epochs", "1",
                                         "--out", normed])
        XCTAssertEqual(train.status, 0, train.output)
        let plain = try DFKDCommand.run(ShortDistillation.distill(["--out", directory + "/normed", "--config", recipe, "--teacher", normed,
                                                                   "--student", "lenet5-half-bn"], epochs: 1))
        XCTAssertEqual(plain.status, 0, plain.output)
        let kept = try DFKDCommand.run(["inspect", try XCTUnwrap(CheckpointSeries(directory: directory + "/normed/checkpoints").files().last)])
        XCTAssertTrue(kept.output.contains("0.5 (default: 0.7)") && !kept.output.contains("three (default: all)"), kept.output)

        for (text, message) in [("teacher-without-batch-norm:\n  ce-generatr: 3\n", "recipe.yaml: teacher-without-batch-norm: unknown key ce-generatr"),
                                ("teacher-without-batch-norm:\n  ce-generator: -1\n", "teacher-without-batch-norm: ce-generator is -1"),
                                ("teacher-without-batch-norm: 3\n", "recipe.yaml: teacher-without-batch-norm is '3', expected a mapping")] {
            try text.write(toFile: recipe, atomically: true, encoding: .utf8)
            // Refused with a teacher with batch norms, and before a teacher that is missing is looked for.
            for arguments in [["show-config", "--method", "cpsc", "--config", recipe],
                              ShortDistillation.distill(["--out", directory + "/bad", "--config", recipe, "--teacher", normed,
                                                        "--student", "lenet5-half-bn"]),
                              ShortDistillation.distill(["--out", directory + "/bad", "--config", recipe, "--teacher", directory + "/absent.h5"])] {
                let refused = try DFKDCommand.run(arguments)
                XCTAssertEqual(refused.status, 1, refused.output)
                XCTAssertTrue(refused.output.contains(message), "\(text): \(refused.output)")
            }
        }
    }

    /// `generator-milestone-fractions` decays the generator's rate after that share of the
    /// epochs, or of `--minutes` by the clock; a resumed budget run keeps the decays it passed.
    func testGeneratorMilestonesAsFractionsOfTheRun() throws {
        let directory = TestFiles.scratchDirectory()
        let fractions = try write("generator-milestones: []\ngenerator-milestone-fractions: [0.5]\ngenerator-lr: 0.01\n",
                                  to: directory + "/fractions.yaml")
        func rates(_ run: String) throws -> [(rate: Double, seconds: Double)] {
            try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { line in
                let fields = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return (try XCTUnwrap(fields["generator_lr"] as? Double), try XCTUnwrap(fields["wall_seconds"] as? Double))
            }
        }
        func isDecayed(_ rate: Double) -> Bool { abs(rate - 0.001) < 1e-6 }

        let byEpochs = try DFKDCommand.run(ShortDistillation.distill(["--out", directory + "/epochs", "--config", fractions], epochs: 4))
        XCTAssertEqual(byEpochs.status, 0, byEpochs.output)
        XCTAssertEqual(try rates(directory + "/epochs").map { isDecayed($0.rate) }, [false, false, true, true])

        // By the clock: decayed from the epoch after the one during which 3 of the 6 seconds passed.
        let budget = directory + "/budget"
        let timed = try DFKDCommand.run(ShortDistillation.distill(["--out", budget, "--config", fractions, "--minutes", "0.1"], epochs: 1000))
        XCTAssertEqual(timed.status, 0, timed.output)
        let epochs = try rates(budget)
        let firstDecayed = try XCTUnwrap(epochs.firstIndex { isDecayed($0.rate) }, "never decayed: \(epochs)")
        XCTAssertTrue(epochs[firstDecayed...].allSatisfy { isDecayed($0.rate) }, "\(epochs)")
        XCTAssertGreaterThanOrEqual(epochs[firstDecayed].seconds, 3, "\(epochs)")
        if firstDecayed >= 2 { XCTAssertLessThan(epochs[firstDecayed - 2].seconds, 3, "\(epochs)") }
        let resumed = try DFKDCommand.run(ShortDistillation.distill(["--resume", budget, "--config", fractions, "--minutes", "0.02"],
                                                                    epochs: 1000))
        XCTAssertEqual(resumed.status, 0, resumed.output)
        let after = try rates(budget)
        XCTAssertGreaterThan(after.count, epochs.count)
        XCTAssertTrue(after[epochs.count...].allSatisfy { isDecayed($0.rate) }, "\(after)")

        try "generator-milestones: [2]\n".write(toFile: directory + "/both.yaml", atomically: true, encoding: .utf8)
        let both = try DFKDCommand.run(["show-config", "--method", "cpsc", "--config", fractions, "--config", directory + "/both.yaml"])
        XCTAssertEqual(both.status, 1, both.output)
        XCTAssertTrue(both.output.contains("generator-milestones and generator-milestone-fractions are both set"), both.output)
        let outOfRange = try write("generator-milestone-fractions: [0.5, 1.5]\n", to: directory + "/range.yaml")
        let refused = try DFKDCommand.run(["show-config", "--method", "cpsc", "--config", outOfRange])
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.output.contains("range.yaml: each of generator-milestone-fractions is 1.5"), refused.output)
    }

    /// configs/<method>.yaml holds exactly the defaults --method selects; every file in
    /// configs/ is a valid configuration.
    func testConfigFilesMatchTheMethodDefaults() throws {
        let configs = TestFiles.repositoryRoot + "/configs"
        for method in ["cpsc", "gip", "dafl", "dfad", "dfq", "noise"] {
            let defaults = try DFKDCommand.run(["show-config", "--method", method])
            let file = try DFKDCommand.run(["show-config", "--config", "\(configs)/\(method).yaml"])
            XCTAssertEqual(defaults.status, 0, defaults.output)
            XCTAssertEqual(file.output, defaults.output, method)
            XCTAssertTrue(defaults.output.hasPrefix("method: \(method)\n"))
        }
        // Sweep files are dfkd sweep's, whose runs' settings SweepTests checks.
        let files = try XCTUnwrap(FileManager.default.subpathsOfDirectory(atPath: configs)).filter { $0.hasSuffix(".yaml") && !$0.hasPrefix("sweeps/") }
        XCTAssertGreaterThanOrEqual(files.count, 6 + 14)
        for file in files {
            let shown = try DFKDCommand.run(["show-config", "--config", configs + "/mnist/cpsc.yaml", "--config", "\(configs)/\(file)"])
            XCTAssertEqual(shown.status, 0, "\(file): \(shown.output)")
        }
        // Layering: the ablation's key wins, the earlier file's others stay.
        let layered = try DFKDCommand.run(["show-config", "--config", configs + "/mnist/cpsc.yaml",
                                           "--config", configs + "/ablations/table6-1-kl.yaml"]).output
        XCTAssertTrue(layered.contains("\nlog-l2: 0.0\n") && layered.contains("\nstudent-optimizer: adam\n"), layered)
    }
}
