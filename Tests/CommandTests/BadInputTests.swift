import Foundation
import NeuralNetwork
import Storage
import TestSupport
import XCTest

/// Bad numbers, hostile settings files and damaged model files, each answered with a clear
/// error and its status (64: the command line, 1: a file or setting) before any work starts:
/// never a trap, a segfault, a hang or a run on nonsense.
final class BadInputTests: XCTestCase {
    private typealias Runs = ShortDistillation

    /// Runs dfkd (killed after a minute: a hang fails the test with status 124).
    private func dfkd(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Subprocess.run(DFKDCommand.binary, arguments, timeout: 60)
    }

    private func assertFails(_ arguments: [String], status: Int32, saying fragments: [String],
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try dfkd(arguments)
        XCTAssertEqual(result.status, status, "\(arguments): \(result.output)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(result.output.contains(fragment), "\(arguments): '\(result.output)' lacks '\(fragment)'", file: file, line: line)
        }
        XCTAssertFalse(result.output.contains("Fatal error") || result.output.contains("Backtrace"), result.output, file: file, line: line)
    }

    private func settingsFile(_ text: String) throws -> String {
        let path = TestFiles.scratchDirectory() + "/settings.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testOptionsOutOfRangeAreUsageErrors() throws {
        let directory = TestFiles.scratchDirectory()
        let distill = ["distill", "--teacher", Runs.teacher, "--student", "lenet5-half", "--method", "cpsc", "--dataset", "builtin",
                       "--out", directory + "/run"]
        try assertFails(distill + ["--epochs=-3"], status: 64, saying: ["--epochs is -3, expected an integer of at least 1"])
        try assertFails(distill + ["--iterations=0"], status: 64, saying: ["--iterations is 0"])
        try assertFails(distill + ["--seed=-1"], status: 64, saying: ["--seed is -1, expected an integer of at least 0"])
        try assertFails(distill + ["--minutes", "nan"], status: 64, saying: ["--minutes is nan, expected a finite number greater than 0"])
        try assertFails(distill + ["--grid-every=-1"], status: 64, saying: ["--grid-every is -1"])
        try assertFails(["train-teacher", "--dataset", "builtin", "--model", "lenet5", "--seed=-2", "--out", directory + "/t.h5"],
                        status: 64, saying: ["--seed is -2"])
        try assertFails(["train-teacher", "--dataset", "builtin", "--model", "lenet5", "--lr", "inf", "--out", directory + "/t.h5"],
                        status: 64, saying: ["--lr is inf, expected a finite number greater than 0"])
        try assertFails(["eval", "--model-file", Runs.teacher, "--dataset", "builtin", "--batch", "0"], status: 64,
                        saying: ["--batch is 0, expected an integer of at least 1"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/run"), "nothing is written before the checks")
    }

    /// A split is checked where it is read, by show-config as by distill, and counts near
    /// the integers' limit are refused, not summed past it.
    func testSplitsAreCheckedAlikeEverywhereAndNeverOverflow() throws {
        let directory = TestFiles.scratchDirectory()
        let file = try settingsFile("split: \"0:0\"\n")
        for arguments in [["show-config", "--method", "cpsc", "--config", file], Runs.distill(["--out", directory + "/run", "--config", file])] {
            try assertFails(arguments, status: 1, saying: ["\(file): split '0:0' is not TRAIN:EVAL"])
        }
        try assertFails(["train-teacher", "--dataset", "builtin", "--model", "lenet5", "--split", "9223372036854775807:1", "--out", directory + "/t.h5"],
                        status: 1, saying: ["--split: 9223372036854775807:1 asks for 9223372036854775807 + 1 images; the built-in dataset makes at most"])
    }

    /// Settings files are checked key by key, in show-config too, naming the file, the key,
    /// the value and what is allowed; combinations that cannot run are listed together.
    func testSettingsOutOfRangeNameTheFileKeyAndValue() throws {
        let cases: [(String, String)] = [
            ("seed: -4\n", "seed is -4, expected an integer of at least 0"),
            ("generator-widths: [0, 32, 16]\n", "each of generator-widths is 0, expected an integer of at least 1 and at most 4096"),
            ("kd-temperature: 0\n", "kd-temperature is 0, expected a finite number greater than 0"),
            ("contrast-temperature: -1\n", "contrast-temperature is -1"),
            ("student-lr: .nan\n", "student-lr is nan"),
            ("generator-lr: .inf\n", "generator-lr is inf"),
            ("batch: 0\n", "batch is 0"),
            ("batch: 1000000000\n", "batch is 1000000000, expected an integer of at least 1 and at most 65536"),
            ("generator-beta1: 1\n", "generator-beta1 is 1, expected a finite number of at least 0 and below 1"),
            ("real-passes: -1\n", "real-passes is -1"),
            ("epochs: 2.5\n", "epochs is '2.5', expected an integer"),
            ("kd: 0\nlog-l2: 0\nce-student: 0\n", "the student step has no loss term"),
            ("generator-steps: 0\nreuse-generator-batch: true\n", "reuse-generator-batch needs generator-steps of at least 1"),
            ("reuse-generator-batch: true\nstudent-steps-first: true\n", "the student steps would come before the images they reuse"),
            ("entropy-form: log2\n", "entropy-form 'log2': expected sum-log10, sum-ln, mean-ln"),
            ("generator-eps: 0\n", "generator-eps is 0"),
        ]
        for (text, message) in cases {
            let file = try settingsFile(text)
            try assertFails(["show-config", "--method", "cpsc", "--config", file], status: 1, saying: [file, message])
        }
        // A teacher without batch norms leaves a generator with only the BNS term no loss.
        let onlyStatistics = try settingsFile("ce-generator: 0\ncontrast: 0\nadversarial: false\nbns: 1\n")
        XCTAssertEqual(try dfkd(["show-config", "--method", "cpsc", "--config", onlyStatistics]).status, 0)
        try assertFails(Runs.distill(["--config", onlyStatistics, "--out", TestFiles.scratchDirectory() + "/run"]), status: 1,
                        saying: ["the generator step has no loss term"])
    }

    /// Settings files are read with limits: a few kilobytes of aliases that would expand to
    /// gigabytes, nesting that would overflow the parser's stack, a file of megabytes, an
    /// endless device, and thousands of unknown keys (the error names five and counts the rest).
    func testHostileSettingsFilesAreRefusedQuickly() throws {
        var bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        for level in 1..<10 { bomb.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]") }
        let cases: [(String, String)] = [
            (bomb.joined(separator: "\n") + "\n", "holds more than 100000 values (aliases expanded)"),
            ("epochs: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n", "nested up to 100001 levels"),
            (String(repeating: "- ", count: 50_000) + "x\n", "nested up to 50001 levels"),
            ((0..<200).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\r") + "\n", "nested up to"),
            (String(repeating: "# padding\n", count: 120_000), "larger than 1048576 bytes"),
            ("epochs: 3\nbatch: 4\nepochs: 5\n", "epochs is given twice (lines 1 and 3); give it once"),
            ("teacher-without-batch-norm:\n  kd: 1\n  kd: 2\n", "kd is given twice (lines 2 and 3)"),
        ]
        for (text, message) in cases {
            let file = try settingsFile(text)
            try assertFails(["show-config", "--method", "cpsc", "--config", file], status: 1, saying: [file, message])
        }
        try assertFails(["show-config", "--method", "cpsc", "--config", "/dev/zero"], status: 1,
                        saying: ["/dev/zero: is a character device; expected a YAML settings file"])

        let unknown = try settingsFile((0..<20_000).map { "key\($0): 1\n" }.joined())
        let result = try dfkd(["show-config", "--method", "cpsc", "--config", unknown])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("unknown keys key0, key1, key10, key100, key1000 and 19995 more"), result.output)
        XCTAssertLessThan(result.output.utf8.count, 2000, "the error stays short")
        // The shipped files, with their comments and flow lists, are within the limits (the
        // sweep files are dfkd sweep's, read in SweepTests).
        let configs = TestFiles.repositoryRoot + "/configs"
        for name in try FileManager.default.subpathsOfDirectory(atPath: configs) where name.hasSuffix(".yaml") && !name.hasPrefix("sweeps/") {
            let shown = try dfkd(["show-config", "--method", "cpsc", "--config", configs + "/" + name])
            XCTAssertEqual(shown.status, 0, "\(name): \(shown.output)")
        }
    }

    /// Model files whose attributes or datasets are damaged are refused when loaded, before
    /// anything they declare is allocated, and a model holding NaN weights is refused too
    /// (it would evaluate to chance and distil nothing).
    func testDamagedModelFilesAreRefusedWhenLoaded() throws {
        let directory = TestFiles.scratchDirectory()
        let (model, description) = try ModelFile.load(Runs.teacher)
        func write(_ name: String, _ change: (inout ModelDescription) -> Void) throws -> String {
            var changed = description
            change(&changed)
            try ModelFile.write(model, description: changed, to: directory + "/" + name)
            return directory + "/" + name
        }
        let eval = { (file: String) in ["eval", "--model-file", file, "--dataset", "builtin", "--split", Runs.split] }
        try assertFails(eval(try write("classes.h5") { $0.classes = 1_000_000_000 }), status: 1,
                        saying: ["classes.h5: attribute classes is 1000000000, expected 1 to 100000"])
        try assertFails(eval(try write("shape.h5") { $0.inputShape = [3, 1 << 40, 32] }), status: 1, saying: ["shape.h5: attribute input_shape"])
        try assertFails(eval(try write("mean.h5") { $0.normalizationMean = [0.5] }), status: 1,
                        saying: ["mean.h5: attribute normalization_mean has 1 values, expected one per input channel (3)"])
        try assertFails(eval(try write("std.h5") { $0.normalizationStd = [0.2, 0, 0.2] }), status: 1,
                        saying: ["std.h5: attributes normalization_mean", "positive finite deviations"])

        let weights = model.namedParameters().first!.1
        weights.pointer[3] = .nan
        try ModelFile.write(model, description: description, to: directory + "/nan.h5")
        try assertFails(eval(directory + "/nan.h5"), status: 1,
                        saying: ["nan.h5: holds non-finite weights (NaN or infinity) in state/conv1.weight (1 of"])
        try assertFails(Runs.distill(["--teacher", directory + "/nan.h5", "--out", directory + "/run"]), status: 1,
                        saying: ["nan.h5: holds non-finite weights"])

        // A dataset whose header declares a terabyte, in a file of kilobytes: h5py writes it
        // into a copy without the checksum block (which would refuse any edit at once).
        let huge = directory + "/huge.h5"
        let unjam = try Subprocess.run("/usr/bin/h5unjam", ["-i", Runs.teacher, "-o", huge])
        XCTAssertEqual(unjam.status, 0, unjam.output)
        let script = """
            import sys, h5py
            with h5py.File(sys.argv[1], "r+") as f:
                del f["state/conv1.weight"]
                f.create_dataset("state/conv1.weight", shape=(1 << 20, 1 << 20), dtype="f4", chunks=(1, 1024), compression="gzip")
            """
        let made = try Subprocess.run("/usr/bin/python3", ["-c", script, huge])
        XCTAssertEqual(made.status, 0, "python3-h5py writes the damaged file: \(made.output)")
        try assertFails(eval(huge), status: 1, saying: ["huge.h5: dataset state/conv1.weight declares shape [1048576, 1048576], far more than"])
    }

    /// --out names a directory to create or fill; a file or a device node of that name is
    /// refused and left as it was (a rename over /dev/null would replace the device).
    func testOutputThatIsNotADirectoryIsRefusedAndLeftAlone() throws {
        let directory = TestFiles.scratchDirectory()
        let file = directory + "/notes.txt"
        try "keep me".write(toFile: file, atomically: true, encoding: .utf8)
        try assertFails(Runs.distill(["--out", file]), status: 64, saying: ["\(file) exists and is not a directory"])
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), "keep me")
        try assertFails(Runs.distill(["--out", "/dev/null"]), status: 64, saying: ["/dev/null exists and is not a directory"])
        try assertFails(["train-teacher", "--dataset", "builtin", "--model", "lenet5", "--out", "/dev/null"], status: 64,
                        saying: ["/dev/null exists and is not a regular file"])
        try assertFails(["train-teacher", "--dataset", "builtin", "--model", "lenet5", "--out", directory], status: 64,
                        saying: ["\(directory) exists and is a directory"])
        var status = stat()
        XCTAssertEqual(stat("/dev/null", &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFCHR, "/dev/null is still a device")
    }

    /// A FIFO, a device or a directory where a file is read is refused at once, named with
    /// what it is: never a read that waits for a writer or never ends.
    func testInputsThatAreNotRegularFilesAreRefusedAtOnce() throws {
        let directory = TestFiles.scratchDirectory()
        let fifo = directory + "/pipe"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertEqual(mkfifo(fifo + ".safetensors", 0o600), 0)
        for (arguments, fragment) in [
            (Runs.distill(["--out", directory + "/run", "--config", fifo]), "\(fifo): is a FIFO (named pipe); expected a YAML settings file"),
            (Runs.distill(["--out", directory + "/run", "--config", directory]), "\(directory): is a directory; expected a YAML settings file"),
            (Runs.distill(["--out", directory + "/run", "--teacher", fifo]), "\(fifo): is a FIFO (named pipe)"),
            (Runs.distill(["--out", directory + "/run", "--teacher", "/dev/zero"]), "/dev/zero: is a character device"),
            (["inspect", fifo], "is a FIFO (named pipe); expected an HDF5 file"),
            (["import", "/dev/zero", "--architecture", "lenet5", "--classes", "10", "--input-shape", "1,32,32", "--normalization", "mnist",
              "--out", directory + "/imported.h5"], "/dev/zero: is a character device"),
            (["import", fifo + ".safetensors", "--architecture", "lenet5", "--classes", "10", "--input-shape", "1,32,32",
              "--normalization", "mnist", "--out", directory + "/imported.h5"], "\(fifo).safetensors: is a FIFO (named pipe)"),
        ] {
            try assertFails(arguments, status: 1, saying: [fragment])
        }
    }
}
