import ArgumentParser
import Data

/// Where the images come from; shared by the commands that read a dataset.
struct DatasetOptions: ParsableArguments {
    @Option(help: "Dataset (or the config file's 'dataset').") var dataset: DatasetKind?

    @Option(help: "Directory of the dataset's files (IDX or CIFAR binary, raw or .gz); default $DFKD_DATA_DIR/DATASET, else /usr/share/datasets/DATASET (Debian's dataset packages).")
    var dataDir: String?

    @Option(help: "TRAIN:EVAL image counts: the first TRAIN images of one file set train, the last EVAL evaluate.")
    var split: String?

    static let configKeys = ["dataset", "data-dir", "split"]

    /// The dataset, with the config file filling what the command line left out.
    func load(config: ConfigFile) throws -> LoadedDataset { try choice(config: config).load() }

    /// Which dataset, data directory (absolute) and split the options and `config` name.
    func choice(config: ConfigFile) throws -> DatasetChoice {
        try DatasetChoice(config: config, dataset: dataset?.rawValue, dataDirectory: dataDir, split: split)
    }
}

/// A dataset as the options chose it, before it is read.
struct DatasetChoice: Equatable {
    let kind: DatasetKind
    let directory: String?
    let split: String?

    /// The given values, else `config`'s.
    init(config: ConfigFile, dataset: String? = nil, dataDirectory: String? = nil, split: String? = nil) throws {
        guard let name = try dataset ?? config.string("dataset") else { throw CommandError("--dataset is required") }
        kind = try DatasetKind(named: name)
        // Found once and recorded, so that a resume reads the same files whatever its environment.
        directory = try (dataDirectory ?? config.string("data-dir")).map(StoredRun.absolute)
            ?? (try? DatasetLocation.directory(of: kind, given: nil)).flatMap { $0 }
        let fileSplit = try Self.split(in: config)
        self.split = try split.map { _ = try Split(parsing: $0); return $0 } ?? fileSplit
    }

    /// The config file's split, refused where it is read (by show-config as by distill)
    /// when it is not TRAIN:EVAL.
    static func split(in config: ConfigFile) throws -> String? {
        guard let text = try config.string("split") else { return nil }
        guard (try? Split(parsing: text)) != nil else {
            throw CommandError("\(config.path(of: "split")): split '\(text)' is not TRAIN:EVAL with two positive image counts (e.g. 8000:2000)")
        }
        return text
    }

    func load() throws -> LoadedDataset {
        try kind.load(dataDirectory: directory, split: try split.map { try Split(parsing: $0) })
    }

    /// The config-file lines that choose this dataset again.
    var yaml: String {
        "dataset: \(kind.rawValue)\n" + (directory.map { "data-dir: \(StoredRun.quoted($0))\n" } ?? "") + (split.map { "split: \(StoredRun.quoted($0))\n" } ?? "")
    }

    var description: String { kind.rawValue + (directory.map { " in \($0)" } ?? "") + (split.map { ", split \($0)" } ?? "") }
}
