import ArgumentParser
import Data

/// Where the images come from; shared by the commands that read a dataset.
struct DatasetOptions: ParsableArguments {
    @Option(help: "Dataset: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var dataset: String?

    @Option(help: "Directory of the dataset's files (IDX or CIFAR binary, raw or .gz).")
    var dataDir: String?

    @Option(help: "TRAIN:EVAL image counts: the first TRAIN images of one file set train, the last EVAL evaluate.")
    var split: String?

    static let configKeys = ["dataset", "data-dir", "split"]

    /// The dataset, with the config file filling what the command line left out.
    func load(config: ConfigFile) throws -> LoadedDataset {
        guard let name = try dataset ?? config.string("dataset") else { throw CommandError("--dataset is required") }
        let kind = try DatasetKind(named: name)
        let splitText = try split ?? config.string("split")
        return try kind.load(dataDirectory: try dataDir ?? config.string("data-dir"),
                             split: try splitText.map { try Split(parsing: $0) })
    }
}
