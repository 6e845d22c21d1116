import Distillation

/// The YAML keys of a distillation configuration: how each reads its field from a config
/// file and shows it back. A method's config file (configs/) lists the published values;
/// `dfkd show-config` prints what a run would use.
enum DistillationSettings {
    typealias Configuration = DistillationConfiguration

    struct Setting: Sendable {
        let key: String
        /// For numeric settings (each element of a list): what the value may be.
        var allowed: AllowedValues? = nil
        let read: @Sendable (inout Configuration, ConfigFile, String) throws -> Void
        let show: @Sendable (Configuration) -> String
    }

    /// The number `key` of `file`, checked against `allowed`.
    private static func value(_ file: ConfigFile, _ key: String, _ allowed: AllowedValues) throws -> Double {
        let value = try file.double(key)!
        try allowed.check(value, name: key, source: file.path(of: key))
        return value
    }

    static func integer(_ key: String, _ field: WritableKeyPath<Configuration, Int> & Sendable, _ allowed: AllowedValues) -> Setting {
        Setting(key: key, allowed: allowed, read: { c, f, k in
            c[keyPath: field] = try f.int(k)!
            try allowed.check(Double(c[keyPath: field]), name: k, source: f.path(of: k))
        }, show: { "\($0[keyPath: field])" })
    }

    static func number(_ key: String, _ field: WritableKeyPath<Configuration, Float> & Sendable, _ allowed: AllowedValues) -> Setting {
        Setting(key: key, allowed: allowed, read: { c, f, k in c[keyPath: field] = Float(try value(f, k, allowed)) },
                show: { "\($0[keyPath: field])" })
    }

    static func double(_ key: String, _ field: WritableKeyPath<Configuration, Double> & Sendable, _ allowed: AllowedValues) -> Setting {
        Setting(key: key, allowed: allowed, read: { c, f, k in c[keyPath: field] = try value(f, k, allowed) }, show: { "\($0[keyPath: field])" })
    }

    static func flag(_ key: String, _ field: WritableKeyPath<Configuration, Bool> & Sendable) -> Setting {
        Setting(key: key, read: { c, f, k in c[keyPath: field] = try f.bool(k)! }, show: { "\($0[keyPath: field])" })
    }

    static func integers(_ key: String, _ field: WritableKeyPath<Configuration, [Int]> & Sendable, _ allowed: AllowedValues,
                         count: Int? = nil) -> Setting {
        Setting(key: key, allowed: allowed, read: { c, f, k in
            let values = try f.ints(k)!
            if let count, values.count != count { throw CommandError("\(f.path(of: k)): \(k) needs \(count) values, got \(values.count)") }
            guard values.count <= 1000 else { throw CommandError("\(f.path(of: k)): \(k) has \(values.count) values, expected at most 1000") }
            for value in values { try allowed.check(Double(value), name: "each of \(k)", source: f.path(of: k)) }
            c[keyPath: field] = values
        }, show: { "[" + $0[keyPath: field].map(String.init).joined(separator: ", ") + "]" })
    }

    static func numbers(_ key: String, _ field: WritableKeyPath<Configuration, [Double]> & Sendable, _ allowed: AllowedValues) -> Setting {
        Setting(key: key, allowed: allowed, read: { c, f, k in
            let values = try f.doubles(k)!
            guard values.count <= 1000 else { throw CommandError("\(f.path(of: k)): \(k) has \(values.count) values, expected at most 1000") }
            for value in values { try allowed.check(value, name: "each of \(k)", source: f.path(of: k)) }
            c[keyPath: field] = values
        }, show: { "[" + $0[keyPath: field].map { "\($0)" }.joined(separator: ", ") + "]" })
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
        integer("epochs", \.epochs, .counts),
        integer("iterations", \.iterationsPerEpoch, .integers(1...100_000_000)),
        integer("generator-steps", \.generatorSteps, .integers(0...1000)),
        integer("student-steps", \.studentSteps, .integers(0...1000)),
        flag("reuse-generator-batch", \.studentReusesGeneratorBatch),
        flag("student-steps-first", \.studentStepsFirst),
        double("real-passes", \.realPasses, .numbers(from: 0, below: 1000)),
        integer("real-batch", \.realBatchSize, .integers(1...65536)),
        integer("batch", \.batchSize, .integers(1...65536)),
        Setting(key: "seed", allowed: .seeds, read: { c, f, k in
            let seed = try f.int(k)!
            try AllowedValues.seeds.check(Double(seed), name: k, source: f.path(of: k))
            c.seed = UInt64(seed)
        }, show: { "\($0.seed)" }),
        integer("noise", \.noise, .integers(1...65536)),
        integers("generator-widths", \.generatorWidths, .integers(1...4096), count: 3),
        choice("embeddings", \.embeddings),
        choice("generator-output", \.generatorOutput),
        number("generator-lr", \.generatorLearningRate, .positive),
        number("generator-beta1", \.generatorBeta1, .decayFactor),
        number("generator-beta2", \.generatorBeta2, .decayFactor),
        integers("generator-milestones", \.generatorMilestones, .integers(0...1_000_000)),
        numbers("generator-milestone-fractions", \.generatorMilestoneFractions, .numbers(from: 0, including: false, below: 1)),
        number("generator-gamma", \.generatorGamma, .nonNegative),
        number("generator-eps", \.generatorInnerEpsilon, .positive),
        choice("student-optimizer", \.studentOptimizer),
        number("student-lr", \.studentLearningRate, .positive),
        number("student-momentum", \.studentMomentum, .decayFactor),
        flag("student-nesterov", \.studentNesterov),
        number("student-weight-decay", \.studentWeightDecay, .nonNegative),
        choice("student-schedule", \.studentSchedule),
        double("student-warmup-epochs", \.studentWarmupEpochs, .nonNegative),
        integers("student-milestones", \.studentMilestones, .integers(0...1_000_000)),
        number("student-ema", \.studentAverageDecay, .decayFactor),
        choice("selection", \.selectionRule),
        integer("probe-states", \.probeStates, .integers(1...64)),
        integer("probe-images", \.probeImages, .integers(1...4096)),
        flag("selection-study", \.selectionStudy),
        number("kd", \.kdWeight, .nonNegative),
        number("kd-temperature", \.kdTemperature, .numbers(from: 0, including: false, below: 1e4)),
        number("log-l2", \.logL2Weight, .nonNegative),
        choice("l2-form", \.l2Form),
        number("l1", \.l1Weight, .nonNegative),
        flag("adversarial", \.adversarial),
        number("ce-generator", \.generatorCrossEntropyWeight, .nonNegative),
        number("ce-student", \.studentCrossEntropyWeight, .nonNegative),
        number("bns", \.statisticsWeight, .nonNegative),
        choice("bns-form", \.statisticsForm),
        number("contrast", \.contrastWeight, .nonNegative),
        number("contrast-temperature", \.contrastTemperature, .numbers(from: 0, including: false, below: 1e4)),
        number("one-hot", \.oneHotWeight, .nonNegative),
        number("entropy", \.entropyWeight, .nonNegative),
        choice("entropy-form", \.entropyForm),
        number("activation", \.activationWeight, .nonNegative),
        choice("activation-form", \.activationForm),
        number("total-variation", \.totalVariationWeight, .nonNegative),
    ]

    /// The keys a distillation config file may hold: the method, the dataset and every setting.
    static var fileKeys: [String] { ["method"] + DatasetOptions.configKeys + all.map(\.key) + [withoutBatchNorms] }

    /// A mapping of settings that replace the file's when the teacher has no batch norm: a
    /// recipe for teachers with and without them in one file (configs/lenet/cpsc.yaml).
    static let withoutBatchNorms = "teacher-without-batch-norm"

    /// Config files of distillation settings, layered (later ones win).
    static func file(texts: [(name: String, text: String)]) throws -> ConfigFile {
        try ConfigFile(texts: texts, allowedKeys: fileKeys, sections: [withoutBatchNorms])
    }

    /// The method named on the command line, else by the file.
    static func method(_ option: String?, file: ConfigFile) throws -> Configuration.Method {
        let methods = Configuration.Method.allCases.map(\.rawValue).joined(separator: ", ")
        guard let name = try option ?? file.string("method") else { throw CommandError("--method is required (one of \(methods))") }
        guard let method = Configuration.Method(rawValue: name) else {
            throw CommandError("\(option == nil ? file.path(of: "method") + ": method" : "--method") '\(name)': expected one of \(methods)")
        }
        return method
    }

    /// The method's defaults with every key of `file` applied, then, for a teacher without
    /// batch norm (`teacherHasBatchNorms` false), its `teacher-without-batch-norm` settings.
    /// nil (the teacher not known yet, as in show-config and a sweep's check) gives the
    /// settings of a teacher with batch norms; the section is read and checked either way.
    static func configuration(method: Configuration.Method, file: ConfigFile, teacherHasBatchNorms: Bool? = nil) throws -> Configuration {
        func applying(_ layer: ConfigFile, to configuration: Configuration) throws -> Configuration {
            var configuration = configuration
            for setting in all where layer.keys.contains(setting.key) {
                try setting.read(&configuration, layer, setting.key)
            }
            return configuration
        }
        let configuration = try applying(file, to: Configuration(method: method))
        guard let section = try withoutBatchNormsSection(of: file) else { return configuration }
        // Read even for a teacher with batch norms, so that a bad value there is found on any teacher.
        let withoutBatchNorms = try applying(section, to: configuration)
        return teacherHasBatchNorms == false ? withoutBatchNorms : configuration
    }

    /// Checks the settings `file` gives a teacher not known yet: those of a teacher with batch
    /// norms and, when the file has a `teacher-without-batch-norm` section, those of one without.
    /// Returns the first.
    @discardableResult
    static func requireRunnableForAnyTeacher(method: Configuration.Method, file: ConfigFile, ranks: Int = 1) throws -> Configuration {
        let settings = try configuration(method: method, file: file)
        try requireRunnable(settings, file: file, teacherHasBatchNorms: nil, ranks: ranks)
        if try withoutBatchNormsSection(of: file) != nil {
            try requireRunnable(try configuration(method: method, file: file, teacherHasBatchNorms: false), file: file, teacherHasBatchNorms: false,
                                ranks: ranks)
        }
        return settings
    }

    /// The file's `teacher-without-batch-norm` settings, nil without any.
    static func withoutBatchNormsSection(of file: ConfigFile) throws -> ConfigFile? {
        try file.section(withoutBatchNorms, allowedKeys: all.map(\.key))
    }

    /// The file's `teacher-without-batch-norm` settings as YAML that reads back to them; empty without any.
    static func withoutBatchNormsYAML(of file: ConfigFile, method: Configuration.Method) throws -> String {
        guard let section = try withoutBatchNormsSection(of: file) else { return "" }
        let configuration = try self.configuration(method: method, file: file, teacherHasBatchNorms: false)
        return "\(withoutBatchNorms):\n" + all.filter { section.keys.contains($0.key) }.map { "  \($0.key): \($0.show(configuration))\n" }.joined()
    }

    /// The allowed values of the numeric setting `key`, for the command-line options that
    /// override it.
    static func allowed(_ key: String) -> AllowedValues { all.first { $0.key == key }!.allowed! }

    /// Throws one error listing every combination of settings that cannot run; `file` names
    /// where the settings came from.
    static func requireRunnable(_ configuration: Configuration, file: ConfigFile, teacherHasBatchNorms: Bool?, ranks: Int = 1) throws {
        let problems = configuration.inconsistencies(teacherHasBatchNorms: teacherHasBatchNorms, ranks: ranks)
        let sources = file.names.isEmpty ? "" : " (the method's defaults with \(file.names.joined(separator: ", ")))"
        guard problems.isEmpty else { throw CommandError("the settings\(sources) cannot run:\n  " + problems.joined(separator: "\n  ")) }
    }

    /// Every setting as YAML that `configuration(method:file:)` reads back to `configuration`.
    static func yaml(_ configuration: Configuration) -> String {
        (["method: \(configuration.method.rawValue)"] + all.map { "\($0.key): \($0.show(configuration))" }).joined(separator: "\n") + "\n"
    }

    /// Each setting that differs between `stored` and `given`, as "key: the checkpoint has A,
    /// given B"; the keys in `mayChange` may differ.
    static func conflicts(stored: Configuration, given: Configuration, mayChange: Set<String>, holder: String) -> [String] {
        differences(stored, given).filter { !mayChange.contains($0.key) }.map { "\($0.key): \(holder) has \($0.first), given \($0.second)" }
    }

    /// Every key (the method too) whose value differs between `first` and `second`, with both values.
    static func differences(_ first: Configuration, _ second: Configuration) -> [(key: String, first: String, second: String)] {
        (first.method == second.method ? [] : [("method", first.method.rawValue, second.method.rawValue)])
            + all.filter { $0.show(first) != $0.show(second) }.map { ($0.key, $0.show(first), $0.show(second)) }
    }
}
