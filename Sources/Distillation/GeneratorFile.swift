import NeuralNetwork
import Storage

/// Generator files: root attributes format = "dfkd-generator", format_version, noise,
/// widths, image_size, channels, classes, inner_epsilon, embeddings (all, three, none), output_range (the
/// low and high normalised pixel values of a bounded generator; absent for a free one) and
/// provenance_<key> strings; group /state as in model files (docs/FILE-FORMATS.md).
public enum GeneratorFile {
    public static let format = "dfkd-generator"

    public static func write(_ generator: Generator, provenance: [String: String], to path: String) throws {
        try AtomicFile.writeSet([pending(generator, provenance: provenance, to: path)])
    }

    /// The write of `generator` to `path`, for a set of files written together.
    public static func pending(_ generator: Generator, provenance: [String: String], to path: String) -> AtomicFile.Pending {
        AtomicFile.Pending(path) { temporary in
            let file = try HDF5Group.create(temporary)
            try file.setAttribute("format", format)
            try file.setAttribute("format_version", Int64(1))
            try file.setAttribute("noise", Int64(generator.shape.noise))
            try file.setAttribute("widths", generator.shape.widths.map(Int64.init))
            try file.setAttribute("image_size", Int64(generator.shape.imageSize))
            try file.setAttribute("channels", Int64(generator.shape.channels))
            try file.setAttribute("classes", Int64(generator.shape.classes))
            try file.setAttribute("inner_epsilon", [Double(generator.shape.innerEpsilon)])
            try file.setAttribute("embeddings", generator.placement.rawValue)
            if let range = generator.outputRange {
                try file.setAttribute("output_range", [Double(range.lowerBound), Double(range.upperBound)])
            }
            for (key, value) in provenance.sorted(by: { $0.key < $1.key }) { try file.setAttribute("provenance_" + key, value) }
            try ModelFile.writeState(of: generator, into: file.createGroup("state"))
            try file.close()
        }
    }

    public static func load(_ path: String) throws -> Generator {
        let file = try HDF5Group.open(path)
        try file.requireFormat(format, describedAs: "a DataFreeKD generator file")
        func integer(_ name: String) throws -> Int { Int(try file.numericAttribute(name, as: Int64.self).first ?? 0) }
        let placementName = try file.stringAttribute("embeddings")
        guard let placement = EmbeddingPlacement(rawValue: placementName) else {
            throw StorageError(file: path, "attribute embeddings is '\(placementName)', expected all, three or none")
        }
        // Files written before inner_epsilon was recorded have the default 1e-5.
        let innerEpsilon = file.attributeNames.contains("inner_epsilon") ? Float(try file.numericAttribute("inner_epsilon", as: Double.self).first ?? 1e-5) : 1e-5
        let shape = Generator.Shape(noise: try integer("noise"), widths: try file.numericAttribute("widths", as: Int64.self).map(Int.init),
                                    imageSize: try integer("image_size"), channels: try integer("channels"), classes: try integer("classes"),
                                    innerEpsilon: innerEpsilon)
        let generator = Generator(shape: shape, placement: placement)
        if file.attributeNames.contains("output_range") {
            let range = try file.numericAttribute("output_range", as: Double.self)
            guard range.count == 2, range[0].isFinite, range[1].isFinite, range[0] <= range[1] else {
                throw StorageError(file: path, "attribute output_range is \(range), expected two finite values, low then high")
            }
            generator.outputRange = Float(range[0])...Float(range[1])
        }
        try ModelFile.loadState(into: generator, from: file.group("state"))
        return generator
    }
}
