import Storage

/// The objects of an HDF5 file as `inspect` lists them: as JSON fields, or as one line per
/// object (path, kind, type and shape, storage) with its attributes below it.
enum TreeReport {
    static func report(_ objects: [HDF5Object]) -> Report {
        .list(objects.map { object in
            var fields: [(String, Report)] = [("path", .text(object.path))]
            switch object.kind {
            case .group: fields.append(("kind", .text("group")))
            case .other(let description): fields.append(("kind", .text(description)))
            case .dataset(let layout):
                fields += [("kind", .text("dataset")), ("type", .text(layout.type)), ("shape", .integers(layout.shape)),
                           ("max_shape", .list(layout.maximumShape.map { $0.map(Report.integer) ?? .text("unlimited") })),
                           ("chunks", layout.chunk.map(Report.integers) ?? .text("contiguous")), ("filters", .texts(layout.filters)),
                           ("stored_bytes", .integer(layout.storedBytes))]
            }
            fields.append(("attributes", .fields(object.attributes.map { ($0.name, value($0.value)) })))
            return .fields(fields)
        })
    }

    static func lines(_ objects: [HDF5Object]) -> [String] {
        objects.flatMap { object -> [String] in
            let line: String
            switch object.kind {
            case .group: line = "\(object.path)  group"
            case .other(let description): line = "\(object.path)  \(description)"
            case .dataset(let layout):
                let maximum = layout.maximumShape.map { $0.map(String.init) ?? "unlimited" }
                line = "\(object.path)  \(layout.type) \(layout.shape)"
                    + (maximum == layout.shape.map(String.init) ? "" : " (max [\(maximum.joined(separator: ", "))])")
                    + (layout.chunk.map { ", chunks \($0)" } ?? ", contiguous")
                    + layout.filters.map { ", " + $0 }.joined() + ", \(layout.storedBytes) bytes stored"
            }
            return [line] + object.attributes.map { "    @\($0.name) = \(text(of: $0.value))" }
        }
    }

    static func value(_ value: HDF5Value) -> Report {
        switch value {
        case .texts(let texts): texts.count == 1 ? .text(texts[0]) : .texts(texts)
        case .integers(let values): values.count == 1 ? .integer(Int(values[0])) : .list(values.map { .integer(Int($0)) })
        case .numbers(let values): values.count == 1 ? .number(values[0]) : .list(values.map(Report.number))
        case .unrendered(let description): .text("(\(description))")
        }
    }

    /// An attribute's value on one line; long texts cut with their length.
    private static func text(of value: HDF5Value) -> String {
        switch value {
        case .texts(let texts):
            let shown = texts.map { text -> String in
                let quoted = Report.text(text).json
                return quoted.count <= 100 ? quoted : String(quoted.prefix(96)) + "…\" (\(text.count) characters)"
            }
            return shown.count == 1 ? shown[0] : "[" + shown.joined(separator: ", ") + "]"
        case .integers(let values): return values.count == 1 ? "\(values[0])" : "\(values)"
        case .numbers(let values): return values.count == 1 ? "\(values[0])" : "\(values)"
        case .unrendered(let description): return "(\(description))"
        }
    }
}
