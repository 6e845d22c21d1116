import Distillation
import Foundation
import Storage
import TensorEngine
import TestSupport
import XCTest

/// Reading sample shard sets: what `--from-samples` trains on. Bad sets are refused with the
/// file and the dataset named; stored batches do not depend on how they are split.
final class SampleShardSetTests: XCTestCase {
    private let imageShape = [1, 4, 4], classes = 3

    /// A shard of `batches` batches of 4 samples, from global iteration `first` on, written by
    /// the real writer.
    private func writeShard(in directory: String, first: Int = 0, batches: Int = 2, rank: Int = 0, teacherCRC: Int64 = 0x1234,
                            imageShape shape: [Int]? = nil, labels: Bool = true, started: String = "2026-01-01T00:00:00Z") throws -> String {
        let shape = shape ?? imageShape
        let pixels = shape.reduce(1, *)
        let writer = SampleShardWriter(directory: directory, rank: rank, imageShape: shape, classes: classes, attributes: [
            "method": .text("cpsc"), "teacher": .text("/teachers/t.h5"), "teacher_crc32": .integer(teacherCRC),
            "provenance_started": .text(started), "seed": .integer(7), "world_size": .integer(1), "batch": .integer(4),
            "normalization_mean": .text("0.5"), "normalization_std": .text("0.25"),
        ])
        for batch in 0..<batches {
            let iteration = first + batch
            let indices = (0..<4).map { Int64(iteration * 4 + $0) }
            try writer.append(GeneratedBatch(globalIteration: iteration, epoch: 0, iteration: iteration, indices: indices,
                                         images: indices.flatMap { index in (0..<pixels).map { Float(index) + Float($0) / 100 } },
                                         labels: labels ? indices.map { $0 % Int64(classes) } : nil,
                                         logits: indices.flatMap { index in (0..<classes).map { Float($0 == Int(index) % classes ? 2 : 0) } }))
        }
        try writer.commit()
        return directory + "/" + SampleShardWriter.name(first: first, last: first + batches - 1, rank: rank)
    }

    /// A copy of the shard at `path` made with the library, without dataset `dropped` and with
    /// `replaced` datasets written in its place.
    private func copy(_ path: String, to target: String, dropping dropped: String? = nil, replacing replaced: [String: (shape: [Int], values: [Float])] = [:]) throws {
        let source = try HDF5Group.open(path)
        let file = try HDF5Group.create(target)
        for (name, value) in try source.objects()[0].attributes {
            switch value {
            case .texts(let texts): try file.setAttribute(name, texts[0])
            case .integers(let values): values.count == 1 ? try file.setAttribute(name, values[0]) : try file.setAttribute(name, values)
            case .numbers(let values): try file.setAttribute(name, values[0])
            case .unrendered: XCTFail("attribute \(name) is of an unexpected type")
            }
        }
        for name in try source.datasetPaths() where name != dropped {
            if let (shape, values) = replaced[name] {
                try file.write(name, values, shape: shape)
            } else if try source.datasetTypeName(name) == "float32" {
                let (shape, values) = try source.read(name, as: Float.self)
                try file.write(name, values, shape: shape)
            } else {
                let (shape, values) = try source.read(name, as: Int64.self)
                try file.write(name, values, shape: shape)
            }
        }
        try file.close()
    }

    private func assertRefused(_ paths: [String], naming parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try StoredSamples(SampleShardSet(paths: paths), seed: 1), file: file, line: line) { error in
            for part in parts { XCTAssertTrue("\(error)".contains(part), "'\(part)' is not in: \(error)", file: file, line: line) }
        }
    }

    func testASetLoadsInSampleOrderAndEveryPassShowsEachSampleOnce() throws {
        let directory = TestFiles.scratchDirectory()
        // Two ranks' shards of iterations 0-1 and one later shard, given out of order.
        let paths = [try writeShard(in: directory, first: 2, batches: 1), try writeShard(in: directory, first: 0, batches: 2)]
        let set = try SampleShardSet(paths: paths)
        XCTAssertEqual(set.rows, 12)
        let samples = try StoredSamples(set, seed: 3)
        XCTAssertEqual(samples.count, 12)
        // Three batches of 4 make one pass: each of the 12 samples once.
        let firstPass = (0..<3).flatMap { samples.batch($0, batchSize: 4, rows: 0..<4).images.toArray().enumerated().filter { $0.offset % 16 == 0 }.map(\.element) }
        XCTAssertEqual(Set(firstPass), Set((0..<12).map(Float.init)))
        XCTAssertNotEqual(firstPass, (0..<12).map(Float.init), "shuffled")
        let secondPass = (3..<6).flatMap { samples.batch($0, batchSize: 4, rows: 0..<4).images.toArray().enumerated().filter { $0.offset % 16 == 0 }.map(\.element) }
        XCTAssertEqual(Set(secondPass), Set(firstPass))
        XCTAssertNotEqual(secondPass, firstPass, "each pass is shuffled anew")
        // A rank's share is that slice of the whole batch, with its logits and labels.
        let whole = samples.batch(4, batchSize: 4, rows: 0..<4)
        let (head, tail) = (samples.batch(4, batchSize: 4, rows: 0..<1), samples.batch(4, batchSize: 4, rows: 1..<4))
        XCTAssertEqual(head.images.toArray() + tail.images.toArray(), whole.images.toArray())
        XCTAssertEqual(head.logits.toArray() + tail.logits.toArray(), whole.logits.toArray())
        XCTAssertEqual(head.labels + tail.labels, whole.labels)
        for (row, label) in whole.labels.enumerated() {
            XCTAssertEqual(Int(whole.images.toArray()[row * 16]) % classes, label, "the label stays with its image")
        }
        // The same seed gives the same batches; the order of the paths does not matter.
        let again = try StoredSamples(SampleShardSet(paths: paths.reversed()), seed: 3)
        XCTAssertEqual(again.batch(4, batchSize: 4, rows: 0..<4).images.toArray(), whole.images.toArray())
    }

    func testUnconditionalSamplesAreLabelledByTheirStoredLogits() throws {
        let directory = TestFiles.scratchDirectory()
        let samples = try StoredSamples(SampleShardSet(paths: [try writeShard(in: directory, labels: false)]), seed: 0)
        let batch = samples.batch(0, batchSize: 8, rows: 0..<8)
        XCTAssertEqual(batch.labels, SampleShardSet.predictedClasses(batch.logits.toArray(), classes: classes))
    }

    func testBadSetsAreRefusedNamingTheFileAndTheDataset() throws {
        let directory = TestFiles.scratchDirectory()
        let good = try writeShard(in: directory)
        let missing = directory + "/missing.h5", misshapen = directory + "/misshapen.h5"
        try copy(good, to: missing, dropping: "logits")
        assertRefused([missing], naming: [missing, "/logits"])
        try copy(good, to: misshapen, replacing: ["logits": ([8, 2], [Float](repeating: 0, count: 16))])
        assertRefused([misshapen], naming: [misshapen, "/logits", "[8, 2]", "[8, 3]"])
        let wrongType = directory + "/wrong-type.h5"
        try copy(good, to: wrongType, replacing: ["index": ([8], [Float](repeating: 0, count: 8))])
        assertRefused([wrongType], naming: [wrongType, "/index", "float32", "int64"])

        let otherTeacher = try writeShard(in: TestFiles.scratchDirectory(), first: 2, teacherCRC: 0x9999)
        assertRefused([good, otherTeacher], naming: [otherTeacher, "00009999", "00001234"])
        let otherShape = try writeShard(in: TestFiles.scratchDirectory(), first: 2, imageShape: [1, 8, 8])
        assertRefused([good, otherShape], naming: [otherShape, "[1, 8, 8]", "[1, 4, 4]"])
        let unlabelled = try writeShard(in: TestFiles.scratchDirectory(), first: 2, labels: false)
        assertRefused([good, unlabelled], naming: [unlabelled, "/labels"])
        // The same run's iterations twice (a copy); another run's may overlap.
        let copied = TestFiles.scratchDirectory() + "/copy.h5"
        try FileManager.default.copyItem(atPath: good, toPath: copied)
        assertRefused([good, copied], naming: [copied, "iterations 0-1"])
        let otherRun = try writeShard(in: TestFiles.scratchDirectory(), started: "2026-02-02T00:00:00Z")
        XCTAssertEqual(try StoredSamples(SampleShardSet(paths: [good, otherRun]), seed: 0).count, 16)

        XCTAssertThrowsError(try SampleShardSet.expand([directory + "/nothing-*.h5"])) { error in
            XCTAssertTrue("\(error)".contains("no file matches"), "\(error)")
        }
        XCTAssertThrowsError(try SampleShardSet(paths: [])) { error in XCTAssertTrue("\(error)".contains("names no sample shard"), "\(error)") }

        let nonFinite = directory + "/non-finite.h5"
        try copy(good, to: nonFinite, replacing: ["images": ([8] + imageShape, [Float](repeating: .nan, count: 8 * 16))])
        assertRefused([nonFinite], naming: [nonFinite, "/images", "non-finite"])
    }

    /// Batches of 8 rows into chunks of 21 rows (3 x 64 x 64 images): rows cross chunk and
    /// batch boundaries, and a shard closes when it reaches the size limit.
    func testTheWriterSplitsBatchesIntoWholeChunksAndRollsOverAtItsLimit() throws {
        let directory = TestFiles.scratchDirectory()
        let shape = [3, 64, 64], pixels = 3 * 64 * 64
        let rowBytes = 4 * (pixels + classes)
        let writer = SampleShardWriter(directory: directory, rank: 0, imageShape: shape, classes: classes,
                                       attributes: ["method": .text("dafl")], shardBytes: 50 * rowBytes)
        for iteration in 0..<10 {
            let indices = (0..<8).map { Int64(iteration * 8 + $0) }
            try writer.append(GeneratedBatch(globalIteration: iteration, epoch: 0, iteration: iteration, indices: indices,
                                             images: indices.flatMap { index in (0..<pixels).map { Float(index) * 1000 + Float($0 % 1000) } },
                                             labels: nil, logits: indices.flatMap { index in (0..<classes).map { Float(index) + Float($0) / 10 } }))
        }
        try writer.commit()
        // 56 rows pass the limit at iteration 6; the rest closes at the commit.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        XCTAssertEqual(names, [SampleShardWriter.name(first: 0, last: 6, rank: 0), SampleShardWriter.name(first: 7, last: 9, rank: 0)])
        var indices: [Int64] = []
        for name in names {
            let file = try HDF5Group.open(directory + "/" + name)
            let (imageShape, images) = try file.read("images", as: Float.self)
            let rows = try file.read("index", as: Int64.self).values
            let logits = try file.read("logits", as: Float.self).values
            XCTAssertEqual(imageShape, [rows.count] + shape)
            for (row, index) in rows.enumerated() {
                XCTAssertEqual(images[row * pixels + 999], Float(index) * 1000 + 999, "row \(row) of \(name)")
                XCTAssertEqual(logits[row * classes + 2], Float(index) + 0.2, "row \(row) of \(name)")
            }
            XCTAssertFalse(file.contains("labels"), "an unconditional generator's shard has no labels")
            let layout = try file.objects().compactMap { object -> HDF5DatasetLayout? in
                if object.path == "/images", case .dataset(let layout) = object.kind { layout } else { nil }
            }.first
            XCTAssertEqual(layout?.chunk, [21] + shape)
            XCTAssertEqual(layout?.filters, ["shuffle", "deflate(4)", "fletcher32"])
            indices += rows
        }
        XCTAssertEqual(indices, (0..<80).map(Int64.init))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".") }, [], "no temporary is left")
    }
}
