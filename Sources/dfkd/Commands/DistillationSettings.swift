import Distillation

/// The YAML keys of a distillation configuration: how each reads its field from a config
/// file and shows it back. A method's config file (configs/) lists the published values;
/// `dfkd show-config` prints what a run would use.
enum DistillationSettings {
    typealias Configuration = DistillationConfiguration

    struct Setting: Sendable {
        let key: String
        let read: @Sendable (inout Configuration, ConfigFile, String) throws -> Void
        let show: @Sendable (Configuration) -> String
    }

    static func integer(_ key: String, _ field: WritableKeyPath<Configuration, Int> & Sendable) -> Setting {
        Setting(key: key, read: { c, f, k in c[keyPath: field] = try f.int(k)! }, show: { "\($0[keyPath: field])" })
    }

    static func number(_ key: String, _ field: WritableKeyPath<Configuration, Float> & Sendable) -> Setting {
        Setting(key: key, read: { c, f, k in c[keyPath: field] = Float(try f.double(k)!) }, show: { "\($0[keyPath: field])" })
    }

    static func flag(_ key: String, _ field: WritableKeyPath<Configuration, Bool> & Sendable) -> Setting {
        Setting(key: key, read: { c, f, k in c[keyPath: field] = try f.bool(k)! }, show: { "\($0[keyPath: field])" })
    }

    static func integers(_ key: String, _ field: WritableKeyPath<Configuration, [Int]> & Sendable, count: Int? = nil) -> Setting {
        Setting(key: key, read: { c, f, k in
            let values = try f.ints(k)!
            if let count, values.count != count { throw CommandError("\(f.path(of: k)): \(k) needs \(count) values, got \(values)") }
            c[keyPath: field] = values
        }, show: { "[" + $0[keyPath: field].map(String.init).joined(separator: ", ") + "]" })
    }

    static func choice<Choice: RawRepresentable & CaseIterable & SendableMetatype>(
        _ key: String, _ field: WritableKeyPath<Configuration, Choice> & Sendable) -> Setting where Choice.RawValue == String {
        Setting(key: key, read: { c, f, k in
            let name = try f.string(k)!
            guard let value = Choice(rawValue: name) else {
                throw CommandError("\(f.path(of: k)): \(k) '\(name)': expected \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c[keyPath: field] = value
        }, show: { $0[keyPath: field].rawValue })
    }

    /// In the order `show-config` prints them: loop, generator, student, loss terms.
    static let all: [Setting] = [
        integer("epochs", \.epochs),
        integer("iterations", \.iterationsPerEpoch),
        integer("generator-steps", \.generatorSteps),
        integer("student-steps", \.studentSteps),
        flag("reuse-generator-batch", \.studentReusesGeneratorBatch),
        Setting(key: "real-passes", read: { c, f, k in c.realPasses = try f.double(k)! }, show: { "\($0.realPasses)" }),
        integer("real-batch", \.realBatchSize),
        integer("batch", \.batchSize),
        Setting(key: "seed", read: { c, f, k in c.seed = UInt64(try f.int(k)!) }, show: { "\($0.seed)" }),
        integer("noise", \.noise),
        integers("generator-widths", \.generatorWidths, count: 3),
        choice("embeddings", \.embeddings),
        number("generator-lr", \.generatorLearningRate),
        number("generator-beta1", \.generatorBeta1),
        number("generator-beta2", \.generatorBeta2),
        integers("generator-milestones", \.generatorMilestones),
        number("generator-gamma", \.generatorGamma),
        choice("student-optimizer", \.studentOptimizer),
        number("student-lr", \.studentLearningRate),
        number("student-momentum", \.studentMomentum),
        flag("student-nesterov", \.studentNesterov),
        number("student-weight-decay", \.studentWeightDecay),
        choice("student-schedule", \.studentSchedule),
        Setting(key: "student-warmup-epochs", read: { c, f, k in c.studentWarmupEpochs = try f.double(k)! },
                show: { "\($0.studentWarmupEpochs)" }),
        integers("student-milestones", \.studentMilestones),
        number("kd", \.kdWeight),
        number("kd-temperature", \.kdTemperature),
        number("log-l2", \.logL2Weight),
        number("l1", \.l1Weight),
        flag("adversarial", \.adversarial),
        number("ce-generator", \.generatorCrossEntropyWeight),
        number("ce-student", \.studentCrossEntropyWeight),
        number("bns", \.statisticsWeight),
        choice("bns-form", \.statisticsForm),
        number("contrast", \.contrastWeight),
        number("contrast-temperature", \.contrastTemperature),
        number("one-hot", \.oneHotWeight),
        number("entropy", \.entropyWeight),
        number("activation", \.activationWeight),
    ]

    /// The keys a distillation config file may hold: the method, the dataset and every setting.
    static var fileKeys: [String] { ["method"] + DatasetOptions.configKeys + all.map(\.key) }

    /// The method named on the command line, else by the file.
    static func method(_ option: String?, file: ConfigFile) throws -> Configuration.Method {
        let methods = Configuration.Method.allCases.map(\.rawValue).joined(separator: ", ")
        guard let name = try option ?? file.string("method") else { throw CommandError("--method is required (one of \(methods))") }
        guard let method = Configuration.Method(rawValue: name) else {
            throw CommandError("\(option == nil ? file.path(of: "method") + ": method" : "--method") '\(name)': expected one of \(methods)")
        }
        return method
    }

    /// The method's defaults with every key of `file` applied.
    static func configuration(method: Configuration.Method, file: ConfigFile) throws -> Configuration {
        var configuration = Configuration(method: method)
        for setting in all where file.keys.contains(setting.key) {
            try setting.read(&configuration, file, setting.key)
        }
        return configuration
    }

    /// Every setting as YAML that `configuration(method:file:)` reads back to `configuration`.
    static func yaml(_ configuration: Configuration) -> String {
        (["method: \(configuration.method.rawValue)"] + all.map { "\($0.key): \($0.show(configuration))" }).joined(separator: "\n") + "\n"
    }

    /// Each setting that differs between `stored` and `given`, as "key: the checkpoint has A,
    /// given B"; the keys in `mayChange` may differ.
    static func conflicts(stored: Configuration, given: Configuration, mayChange: Set<String>) -> [String] {
        var conflicts = stored.method == given.method ? [] : ["method: the checkpoint has \(stored.method.rawValue), given \(given.method.rawValue)"]
        for setting in all where !mayChange.contains(setting.key) && setting.show(stored) != setting.show(given) {
            conflicts.append("\(setting.key): the checkpoint has \(setting.show(stored)), given \(setting.show(given))")
        }
        return conflicts
    }
}
