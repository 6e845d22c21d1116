import ArgumentParser
import Distillation

struct ShowConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show-config",
        abstract: "Print every setting a distillation would use, as a YAML config file.",
        discussion: """
        The method's published defaults with the config file's keys applied; the output is itself a valid --config file. \
        Settings for a teacher without batch norm (teacher-without-batch-norm) follow as that mapping.
        """)

    @Option(help: "Method (or the config file's 'method').") var method: DistillationConfiguration.Method?
    @Option(help: "YAML file of settings; repeat to layer files, later ones winning (a method's, then an ablation's).")
    var config: [String] = []

    func run() throws {
        let file = try DistillationSettings.file(texts: config.map(ConfigFile.read))
        let method = try DistillationSettings.method(method?.rawValue, file: file)
        _ = try DatasetChoice.split(in: file)
        let settings = try DistillationSettings.requireRunnableForAnyTeacher(method: method, file: file)
        print(DistillationSettings.yaml(settings) + (try DistillationSettings.withoutBatchNormsYAML(of: file, method: method)), terminator: "")
    }
}
