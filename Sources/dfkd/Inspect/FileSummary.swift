import Distillation
import Storage

/// The summary `inspect` prints before a file's tree, for the kinds DataFreeKD writes: read
/// from the root attributes and the dataset headers, so a file that no longer loads (a
/// missing dataset) still shows what it was.
struct FileSummary: Sendable {
    let kind: String
    let fields: [(String, Report)]

    init(objects: [HDF5Object]) {
        let root = Dictionary(objects.first?.attributes.map { ($0.name, $0.value) } ?? [], uniquingKeysWith: { first, _ in first })
        let attributes = Attributes(values: root)
        switch attributes.text("format") {
        case "dfkd-model":
            kind = "model"
            fields = [("architecture", attributes.report("architecture")), ("classes", attributes.report("classes")),
                      ("input_shape", attributes.report("input_shape")), ("normalization_mean", attributes.report("normalization_mean")),
                      ("normalization_std", attributes.report("normalization_std"))]
                + Self.stateSize(objects) + [("recorded_top1", attributes.report("provenance_eval_top1"))] + Self.provenance(root)
        case GeneratorFile.format:
            kind = "generator"
            fields = ["noise", "widths", "image_size", "channels", "classes", "embeddings"].map { ($0, attributes.report($0)) }
                + Self.stateSize(objects) + Self.provenance(root)
        case CheckpointFile.format:
            kind = "checkpoint"
            let names = ["kind", "method", "student", "teacher", "teacher_top1", "epoch", "iteration", "iterations_per_epoch",
                         "world_size", "last_top1", "best_top1", "best_epoch", "last_train_loss", "wall_seconds"]
            var listed: [(String, Report)] = names.filter { root[$0] != nil }.map { ($0 == "kind" ? "run" : $0, attributes.report($0)) }
            if let samples = attributes.text("from_samples") { listed.append(("from_samples_shards", .integer(samples.split(separator: "\n").count))) }
            listed.append(Self.settings(attributes.text("settings")))
            let datasets = objects.filter { object in if case .dataset = object.kind { true } else { false } }.count
            listed.append(("datasets", .integer(datasets)))
            fields = listed + Self.provenance(root)
        case SampleShardWriter.format:
            kind = "sample shard"
            let rows = objects.first { $0.path == "/images" }.flatMap { object -> Int? in
                if case .dataset(let layout) = object.kind { layout.shape.first } else { nil }
            }
            let names = ["first_iteration", "last_iteration", "rank", "world_size", "method", "seed", "batch", "teacher", "image_shape", "classes"]
            var listed: [(String, Report)] = [("samples", rows.map(Report.integer) ?? .text("no /images dataset"))]
            listed += names.filter { root[$0] != nil }.map { ($0, attributes.report($0)) }
            listed.append(("conditional_labels", .flag(objects.contains { $0.path == "/labels" })))
            fields = listed
        default:
            kind = attributes.text("format").map { "HDF5 file of format '\($0)'" } ?? "HDF5 file"
            fields = []
        }
    }

    private struct Attributes {
        let values: [String: HDF5Value]

        func text(_ name: String) -> String? {
            if case .texts(let texts) = values[name], texts.count == 1 { texts[0] } else { nil }
        }

        func report(_ name: String) -> Report { values[name].map(TreeReport.value) ?? .text("(absent)") }
    }

    /// Parameter and buffer counts of a model's or generator's /state: running statistics and
    /// batch counters are buffers.
    private static func stateSize(_ objects: [HDF5Object]) -> [(String, Report)] {
        var parameters = 0, buffers = 0
        for object in objects where object.path.hasPrefix("/state/") {
            guard case .dataset(let layout) = object.kind else { continue }
            let count = HDF5Group.elementCount(of: layout.shape)
            if ["running_mean", "running_var", "num_batches_tracked"].contains(where: object.path.hasSuffix) { buffers += count } else { parameters += count }
        }
        return [("parameters", .integer(parameters)), ("buffer_values", .integer(buffers))]
    }

    private static func provenance(_ root: [String: HDF5Value]) -> [(String, Report)] {
        let keys = root.keys.filter { $0.hasPrefix("provenance_") }.sorted()
        return keys.isEmpty ? [] : [("provenance", .fields(keys.map { (String($0.dropFirst("provenance_".count)), TreeReport.value(root[$0]!)) }))]
    }

    /// The settings of a distillation checkpoint that differ from its method's defaults, as
    /// "value (default: value)"; a supervised run's settings as stored.
    private static func settings(_ text: String?) -> (String, Report) {
        guard let text else { return ("settings", .text("(no settings attribute)")) }
        do {
            let file = try DistillationSettings.file(texts: [("settings", text)])
            let method = try DistillationSettings.method(nil, file: file)
            let defaults = try DistillationSettings.configuration(method: method, file: try ConfigFile(texts: [], allowedKeys: []))
            let given = try DistillationSettings.configuration(method: method, file: file)
            let dataset = try DatasetChoice(config: file)
            return ("settings_not_default", .fields(DistillationSettings.differences(defaults, given).map { ($0.key, .text("\($0.second) (default: \($0.first))")) }
                                                    + [("dataset", .text(dataset.description))]))
        } catch {
            return ("settings", .texts(text.split(separator: "\n").map(String.init)))
        }
    }
}
