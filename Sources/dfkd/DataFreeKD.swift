import ArgumentParser

@main
struct DataFreeKD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dfkd",
        abstract: "Data-free knowledge distillation of image classifiers.",
        subcommands: [TrainTeacher.self, Evaluate.self, Import.self, Export.self, Distill.self, Sweep.self, ReportCommand.self, ShowConfig.self, Inspect.self, ExportSamples.self, Bench.self])

    static let version = "0.3.0"
}
