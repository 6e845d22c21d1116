import ArgumentParser

@main
struct DataFreeKD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dfkd",
        abstract: "Data-free knowledge distillation of image classifiers.",
        subcommands: [Bench.self])
}
