import Foundation
import NeuralNetwork
import TensorEngine

/// What a model file says about its model besides the weights.
public struct ModelDescription: Sendable, Equatable {
    public var architecture: Architecture
    public var classes: Int
    /// C, H, W of one input image.
    public var inputShape: [Int]
    /// Per-channel mean and standard deviation the inputs were normalised with.
    public var normalizationMean: [Float], normalizationStd: [Float]
    /// How the model was made: command, dataset, split, epochs, seed, accuracy, version...
    public var provenance: [String: String]

    public init(architecture: Architecture, classes: Int, inputShape: [Int], normalizationMean: [Float],
                normalizationStd: [Float], provenance: [String: String] = [:]) {
        self.architecture = architecture
        self.classes = classes
        self.inputShape = inputShape
        self.normalizationMean = normalizationMean
        self.normalizationStd = normalizationStd
        self.provenance = provenance
    }
}

/// Model files: one HDF5 file per model, laid out as docs/FILE-FORMATS.md describes.
/// Root attributes: format = "dfkd-model", format_version, architecture, classes,
/// input_shape, normalization_mean, normalization_std, and provenance_<key> strings.
/// Group /state: one dataset per parameter and buffer under its PyTorch state_dict name,
/// float32 in the parameter's shape (int64 scalars for counters).
public enum ModelFile {
    public static let format = "dfkd-model"
    public static let formatVersion: Int64 = 1

    /// Writes `model` and its description to `path` atomically.
    public static func write(_ model: Module, description: ModelDescription, to path: String) throws {
        try AtomicFile.writeSet([pending(model, description: description, to: path)])
    }

    /// The write of `model` to `path`, for a set of files written together.
    public static func pending(_ model: Module, description: ModelDescription, to path: String) -> AtomicFile.Pending {
        AtomicFile.Pending(path) { temporary in
            let file = try HDF5Group.create(temporary)
            try file.setAttribute("format", format)
            try file.setAttribute("format_version", formatVersion)
            try file.setAttribute("architecture", description.architecture.rawValue)
            try file.setAttribute("classes", Int64(description.classes))
            try file.setAttribute("input_shape", description.inputShape.map(Int64.init))
            try file.setAttribute("normalization_mean", description.normalizationMean)
            try file.setAttribute("normalization_std", description.normalizationStd)
            for (key, value) in description.provenance.sorted(by: { $0.key < $1.key }) {
                try file.setAttribute("provenance_" + key, value)
            }
            let state = try file.createGroup("state")
            try writeState(of: model, into: state)
            try file.close()
        }
    }

    /// Every parameter and buffer of `model` as datasets of `group`.
    public static func writeState(of model: Module, into group: HDF5Group) throws {
        for (name, tensor) in model.namedFloatState() {
            try group.write(name, tensor.toArray(), shape: tensor.shape)
        }
        for (name, buffer) in model.namedBuffers() {
            if case .counter(let counter) = buffer { try group.write(name, [Int64(counter.value)], shape: []) }
        }
    }

    /// The description in the file at `path`.
    public static func readDescription(_ path: String) throws -> ModelDescription {
        try readDescription(HDF5Group.open(path))
    }

    static func readDescription(_ file: HDF5Group) throws -> ModelDescription {
        try file.requireFormat(format, describedAs: "a DataFreeKD model file", newestVersion: formatVersion)
        let name = try file.stringAttribute("architecture")
        let architecture: Architecture
        do { architecture = try Architecture(named: name) } catch {
            throw StorageError(file: file.file, "attribute architecture: \(error)")
        }
        var provenance: [String: String] = [:]
        for attribute in file.attributeNames where attribute.hasPrefix("provenance_") {
            provenance[String(attribute.dropFirst("provenance_".count))] = try file.stringAttribute(attribute)
        }
        return ModelDescription(
            architecture: architecture,
            classes: Int(try file.numericAttribute("classes", as: Int64.self).first ?? 0),
            inputShape: try file.numericAttribute("input_shape", as: Int64.self).map(Int.init),
            normalizationMean: try file.numericAttribute("normalization_mean"),
            normalizationStd: try file.numericAttribute("normalization_std"),
            provenance: provenance)
    }

    /// Builds the model a file describes and loads its weights. With `expecting`, a file of
    /// another architecture is an error.
    public static func load(_ path: String, expecting expected: Architecture? = nil) throws -> (model: any Classifier, description: ModelDescription) {
        let file = try HDF5Group.open(path)
        let description = try readDescription(file)
        if let expected, expected != description.architecture {
            throw StorageError(file: path, "holds a \(description.architecture.rawValue), expected a \(expected.rawValue)")
        }
        try requirePlausible(description, file: path)
        let model = description.architecture.make(inputChannels: description.inputShape[0], classes: description.classes)
        try loadState(into: model, from: file.group("state"))
        try requireFinite(model, file: path)
        return (model, description)
    }

    /// The attributes must describe a classifier that can be built: bounded sizes (a damaged
    /// header must not ask for terabytes) and one finite mean and positive deviation per channel.
    static func requirePlausible(_ description: ModelDescription, file: String) throws {
        let shape = description.inputShape
        guard shape.count == 3, (1...64).contains(shape[0]), shape.dropFirst().allSatisfy({ (1...4096).contains($0) }) else {
            throw StorageError(file: file, "attribute input_shape is \(shape), expected [C, H, W] with 1 to 64 channels and sides of 1 to 4096")
        }
        guard (1...100_000).contains(description.classes) else {
            throw StorageError(file: file, "attribute classes is \(description.classes), expected 1 to 100000")
        }
        for (name, values) in [("normalization_mean", description.normalizationMean), ("normalization_std", description.normalizationStd)] {
            guard values.count == shape[0] else {
                throw StorageError(file: file, "attribute \(name) has \(values.count) values, expected one per input channel (\(shape[0]))")
            }
        }
        guard description.normalizationMean.allSatisfy(\.isFinite), description.normalizationStd.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw StorageError(file: file, "attributes normalization_mean \(description.normalizationMean) and normalization_std "
                               + "\(description.normalizationStd): expected finite means and positive finite deviations")
        }
    }

    /// A model holding NaN or infinite weights (a diverged run's, or a damaged file) would
    /// evaluate to chance and distil nothing; it is refused when loaded.
    static func requireFinite(_ model: Module, file: String) throws {
        let damaged = model.namedFloatState().compactMap { name, tensor -> String? in
            let bad = tensor.toArray().count { !$0.isFinite }
            return bad == 0 ? nil : "state/\(name) (\(bad) of \(tensor.count) values)"
        }
        guard damaged.isEmpty else {
            throw StorageError(file: file, "holds non-finite weights (NaN or infinity) in " + damaged.prefix(5).joined(separator: ", ")
                               + (damaged.count > 5 ? " and \(damaged.count - 5) more" : "") + ": the model diverged or the file is damaged")
        }
    }

    /// Loads every parameter and buffer of `model` from `group`, checking names and shapes
    /// first; a mismatch changes nothing and names every dataset that does not fit.
    public static func loadState(into model: Module, from group: HDF5Group) throws {
        var archive = StateArchive()
        let expectedCounts = Dictionary(uniqueKeysWithValues: model.namedFloatState().map { ($0.0, $0.1.count) }
                                            + model.namedBuffers().compactMap { name, buffer in
                                                if case .counter = buffer { (name, 1) } else { nil } })
        for name in try group.memberNames() {
            // A header may declare any size: read a dataset only when it is near what the model
            // has there (a wrong shape is then listed with the others), else refuse it at once.
            let declared = try group.datasetShape(name)
            let count = HDF5Group.elementCount(of: declared)
            guard let expected = expectedCounts[name] else {
                archive.add("state/" + name, .floats([]), shape: [0])
                continue
            }
            guard count <= 16 * expected + 65536 else {
                throw StorageError(file: group.file, "dataset state/\(name) declares shape \(declared), far more than the \(expected) values the model has there")
            }
            if try group.datasetTypeName(name).hasPrefix("int") {
                let (shape, values) = try group.read(name, as: Int64.self)
                archive.add("state/" + name, .integers(values), shape: shape)
            } else {
                let (shape, values) = try group.read(name, as: Float.self)
                archive.add("state/" + name, .floats(values), shape: shape)
            }
        }
        do {
            try model.restore(from: archive, group: "state")
        } catch StateArchiveError.mismatch(_, let problems) {
            throw StorageError(file: group.file, "does not fit the model:\n  " + problems.joined(separator: "\n  "))
        }
    }
}
