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
        try AtomicFile.write(path) { temporary in
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
            try file.flush()
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
        guard description.inputShape.count == 3, description.classes > 0 else {
            throw StorageError(file: path, "attributes input_shape \(description.inputShape) and classes \(description.classes) do not describe a classifier (expected [C, H, W] and a positive count)")
        }
        let model = description.architecture.make(inputChannels: description.inputShape[0], classes: description.classes)
        try loadState(into: model, from: file.group("state"))
        return (model, description)
    }

    /// Loads every parameter and buffer of `model` from `group`, checking names and shapes
    /// first; a mismatch changes nothing and names every dataset that does not fit.
    public static func loadState(into model: Module, from group: HDF5Group) throws {
        var archive = StateArchive()
        for name in try group.memberNames() {
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
