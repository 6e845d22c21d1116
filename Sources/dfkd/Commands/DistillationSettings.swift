import Distillation

/// The YAML keys of a distillation configuration and how each sets its field. A method's
/// config file (configs/) lists the published values; the command line overrides a few.
enum DistillationSettings {
    typealias Setter = @Sendable (inout DistillationConfiguration, ConfigFile, String) throws -> Void

    static let setters: [String: Setter] = [
        "epochs": { c, f, k in c.epochs = try f.int(k)! },
        "iterations": { c, f, k in c.iterationsPerEpoch = try f.int(k)! },
        "generator-steps": { c, f, k in c.generatorSteps = try f.int(k)! },
        "student-steps": { c, f, k in c.studentSteps = try f.int(k)! },
        "reuse-generator-batch": { c, f, k in c.studentReusesGeneratorBatch = try f.bool(k)! },
        "real-iterations": { c, f, k in c.realIterations = try f.int(k)! },
        "batch": { c, f, k in c.batchSize = try f.int(k)! },
        "seed": { c, f, k in c.seed = UInt64(try f.int(k)!) },
        "noise": { c, f, k in c.noise = try f.int(k)! },
        "generator-widths": { c, f, k in
            let widths = try f.ints(k)!
            guard widths.count == 3 else { throw CommandError("\(f.path): generator-widths needs 3 widths, got \(widths)") }
            c.generatorWidths = widths
        },
        "embeddings": { c, f, k in
            let name = try f.string(k)!
            guard let placement = EmbeddingPlacement(rawValue: name) else {
                throw CommandError("\(f.path): embeddings '\(name)': expected all, three or none")
            }
            c.embeddings = placement
        },
        "generator-lr": { c, f, k in c.generatorLearningRate = Float(try f.double(k)!) },
        "generator-beta1": { c, f, k in c.generatorBetas.0 = Float(try f.double(k)!) },
        "generator-milestones": { c, f, k in c.generatorMilestones = try f.ints(k)! },
        "student-optimizer": { c, f, k in
            let name = try f.string(k)!
            guard ["sgd", "adam"].contains(name) else { throw CommandError("\(f.path): student-optimizer '\(name)': expected sgd or adam") }
            c.studentOptimizer = name
        },
        "student-lr": { c, f, k in c.studentLearningRate = Float(try f.double(k)!) },
        "student-momentum": { c, f, k in c.studentMomentum = Float(try f.double(k)!) },
        "student-nesterov": { c, f, k in c.studentNesterov = try f.bool(k)! },
        "student-weight-decay": { c, f, k in c.studentWeightDecay = Float(try f.double(k)!) },
        "student-schedule": { c, f, k in
            let name = try f.string(k)!
            guard ["cosine", "multistep", "constant"].contains(name) else {
                throw CommandError("\(f.path): student-schedule '\(name)': expected cosine, multistep or constant")
            }
            c.studentSchedule = name
        },
        "student-warmup-epochs": { c, f, k in c.studentWarmupEpochs = try f.double(k)! },
        "student-milestones": { c, f, k in c.studentMilestones = try f.ints(k)! },
        "kd": { c, f, k in c.kdWeight = Float(try f.double(k)!) },
        "kd-temperature": { c, f, k in c.kdTemperature = Float(try f.double(k)!) },
        "log-l2": { c, f, k in c.logL2Weight = Float(try f.double(k)!) },
        "l1": { c, f, k in c.l1Weight = Float(try f.double(k)!) },
        "adversarial": { c, f, k in c.adversarial = try f.bool(k)! },
        "ce": { c, f, k in c.crossEntropyWeight = Float(try f.double(k)!) },
        "bns": { c, f, k in c.statisticsWeight = Float(try f.double(k)!) },
        "bns-form": { c, f, k in
            let name = try f.string(k)!
            guard let form = DistillationLosses.StatisticsForm(rawValue: name) else {
                throw CommandError("\(f.path): bns-form '\(name)': expected norms or squares")
            }
            c.statisticsForm = form
        },
        "contrast": { c, f, k in c.contrastWeight = Float(try f.double(k)!) },
        "contrast-temperature": { c, f, k in c.contrastTemperature = Float(try f.double(k)!) },
        "one-hot": { c, f, k in c.oneHotWeight = Float(try f.double(k)!) },
        "entropy": { c, f, k in c.entropyWeight = Float(try f.double(k)!) },
        "activation": { c, f, k in c.activationWeight = Float(try f.double(k)!) },
    ]

    /// The method's defaults with every key of `file` applied.
    static func configuration(method: DistillationConfiguration.Method, file: ConfigFile) throws -> DistillationConfiguration {
        var configuration = DistillationConfiguration(method: method)
        for key in file.keys {
            guard let setter = setters[key] else { continue }
            try setter(&configuration, file, key)
        }
        return configuration
    }
}
