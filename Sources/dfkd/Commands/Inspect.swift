import ArgumentParser
import Distillation
import Foundation
import Storage

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say what HDF5 files hold: a summary of DataFreeKD's kinds, then every group, dataset and attribute.",
        discussion: """
        Models, generators, checkpoints and sample shards get a summary first (a model's \
        architecture, parameter count, provenance and recorded accuracy; a checkpoint's \
        position, accuracies and the settings that differ from its method's defaults); the \
        sample shards given are summarised as sets (samples, per-class counts and mean teacher \
        confidence, iterations covered). Any HDF5 file gets its tree: datasets with type, \
        shape, chunks, filters and stored size, and attributes. --verify also reads every \
        dataset through its filters and checks every checksum (the file's checksum block, \
        each chunk's Fletcher-32, each dataset's crc32 attribute), naming each damaged \
        dataset. Exit status 1 when a file cannot be read or, with --verify, is damaged.
        """)

    @Argument(help: "HDF5 files.") var files: [String]
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @Flag(help: "Check every checksum and read every dataset; a damaged file exits non-zero.") var verify = false
    @Flag(help: "Only the summaries, not the trees.") var summaryOnly = false
    /// The scan of a file that failed its checksum block, in a child process that the HDF5
    /// library may crash: one "PATH<TAB>PROBLEM" line per damaged dataset.
    @Flag(help: .hidden) var scanUnchecked = false

    func run() throws {
        if scanUnchecked { return files.forEach(DamageLocator.scan) }
        var entries: [Report] = [], shardPaths: [String] = [], failed = false
        var trees: [[String]] = []
        for path in files {
            let (entry, objects, readable, isShard) = inspect(path)
            entries.append(.fields(entry))
            trees.append(summaryOnly ? [] : TreeReport.lines(objects))
            if !readable { failed = true }
            if isShard { shardPaths.append(path) }
        }
        let (sets, setsFailed) = Self.sampleSets(shardPaths)
        if setsFailed { failed = true }
        let report = Report.fields([("files", .list(entries))] + (sets.isEmpty ? [] : [("sample_sets", .list(sets))]))
        if json {
            print(report.json)
        } else {
            for (entry, tree) in zip(entries, trees) {
                guard case .fields(let fields) = entry else { continue }
                print((Self.text(fields) + tree.map { "    " + $0 }).joined(separator: "\n") + "\n")
            }
            for set in sets { print((["sample set:"] + set.lines(depth: 1)).joined(separator: "\n") + "\n") }
        }
        if failed { throw ExitCode(1) }
    }

    /// One file's report; whether it was read whole (and with --verify found undamaged), and
    /// whether it is a sample shard.
    private func inspect(_ path: String) -> (fields: [(String, Report)], objects: [HDF5Object], readable: Bool, isShard: Bool) {
        var fields: [(String, Report)] = [("path", .text(path))]
        let block: (crc: UInt32, bytes: Int)?
        do {
            block = try HDF5Group.checksumBlock(of: path)
        } catch let error as StorageError {
            fields.append(("error", .text(error.problem)))
            if verify, FileManager.default.isReadableFile(atPath: path) { fields += [("verified", .flag(false)), ("damaged", locateDamage(path))] }
            return (fields, [], false, false)
        } catch {
            return (fields + [("error", Report.text("\(error)"))], [], false, false)
        }
        fields.append(("checksum_block", block.map { Report.text("crc32 \(Checksum.hex($0.crc)) over \($0.bytes) bytes: intact") }
                       ?? .text("none (a file of another writer: its datasets' own checksums only)")))
        do {
            let file = try HDF5Group.open(path)
            let objects = try file.objects()
            let summary = FileSummary(objects: objects)
            fields.insert(("kind", .text(summary.kind)), at: 1)
            if !summary.fields.isEmpty { fields.append(("summary", .fields(summary.fields))) }
            var intact = true
            if verify {
                let damaged = try file.damagedDatasets()
                intact = damaged.isEmpty
                fields.append(("verified", .flag(intact)))
                if !intact {
                    fields.append(("damaged", .list(damaged.map { Report.fields([("dataset", .text($0.path)), ("problem", .text($0.problem))]) })))
                }
            }
            if !summaryOnly { fields.append(("tree", TreeReport.report(objects))) }
            return (fields, objects, intact, summary.kind == "sample shard" && intact)
        } catch let error as StorageError {
            return (fields + [("error", Report.text(error.problem))], [], false, false)
        } catch {
            return (fields + [("error", Report.text("\(error)"))], [], false, false)
        }
    }

    /// The datasets of a file that failed its checksum block that cannot be read whole.
    private func locateDamage(_ path: String) -> Report {
        switch DamageLocator.damagedDatasets(of: path) {
        case .success(let damaged): .list(damaged.map { Report.fields([("dataset", .text($0.dataset)), ("problem", .text($0.problem))]) })
        case .failure(let finding): .text(finding.problem)
        }
    }

    /// The sample shards among the files, one set per teacher and image shape, and whether a
    /// shard or a set could not be read as one (a file that declares more than it stores).
    private static func sampleSets(_ paths: [String]) -> (sets: [Report], failed: Bool) {
        guard !paths.isEmpty else { return ([], false) }
        var shards: [SampleShard] = [], unreadable: [Report] = []
        for path in paths {
            do { shards.append(try SampleShard(path: path)) } catch {
                unreadable.append(.fields([("shards", .integer(1)), ("error", .text("\(error)"))]))
            }
        }
        let groups = Dictionary(grouping: shards) { "\($0.teacherCRC) \($0.imageShape) \($0.classes)" }
        var failed = !unreadable.isEmpty
        let sets = groups.values.sorted { $0[0].path < $1[0].path }.map { group -> Report in
            do {
                let set = try SampleShardSet(paths: group.map(\.path))
                let statistics = try SampleSetStatistics(set)
                let first = set.shards[0]
                let perClass: [Report] = (0..<set.classes).map { label in
                    Report.fields([("class", .integer(label)), ("samples", .integer(statistics.perClass[label])),
                                   ("mean_teacher_confidence", .number(statistics.meanConfidence[label]))])
                }
                var fields: [(String, Report)] = [
                    ("shards", .integer(set.shards.count)), ("samples", .integer(set.rows)), ("runs", .integer(statistics.runs)),
                    ("teacher", .text(first.teacher)), ("teacher_crc32", .text(Checksum.hex(set.teacherCRC))), ("method", .text(first.method)),
                    ("image_shape", .integers(set.imageShape)), ("conditional_labels", .flag(set.hasLabels)),
                    ("iterations_kept", .integer(statistics.iterations)),
                    ("iterations_covered", .text("\(statistics.firstIteration) to \(statistics.lastIteration)")),
                    ("per_class", .list(perClass)),
                ]
                if let agreement = statistics.labelAgreement { fields.append(("teacher_agrees_with_label", .number(agreement))) }
                return Report.fields(fields)
            } catch {
                failed = true
                return .fields([("shards", .integer(group.count)), ("error", .text("\(error)"))])
            }
        }
        return (sets + unreadable, failed)
    }

    /// A file's report as text: the summary's lines, then the tree one line per object.
    private static func text(_ fields: [(String, Report)]) -> [String] {
        var lines: [String] = []
        for (key, value) in fields {
            switch (key, value) {
            case ("path", .text(let path)): lines.append(path)
            case ("tree", _): lines.append("  tree:")
            default: lines += Report.fields([(key, value)]).lines(depth: 1)
            }
        }
        return lines
    }
}
