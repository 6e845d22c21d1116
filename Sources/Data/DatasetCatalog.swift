import Foundation

/// The datasets the commands know, where their files are, how they are normalised and
/// augmented.
public enum DatasetKind: String, CaseIterable, Sendable {
    case mnist = "mnist"
    case fashionMNIST = "fashion-mnist"
    case cifar10 = "cifar10"
    case cifar100 = "cifar100"
    case builtin = "builtin"

    public init(named name: String) throws {
        guard let kind = DatasetKind(rawValue: name.lowercased()) else {
            throw DataError(file: "--dataset", "unknown dataset '\(name)'; expected one of: \(Self.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = kind
    }

    public var classes: Int { self == .cifar100 ? 100 : 10 }

    /// Per-channel mean and standard deviation of the images in [0, 1].
    public var normalization: Normalization {
        switch self {
        case .mnist: Normalization(mean: [0.1307], std: [0.3081])
        case .fashionMNIST: Normalization(mean: [0.2860], std: [0.3530])
        case .cifar10: Normalization(mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010])
        case .cifar100: Normalization(mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762])
        case .builtin: Normalization(mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
        }
    }

    /// Training augmentation: random 32x32 crops of the image padded by 4 (not for digits,
    /// whose position carries no information the network must learn invariance to), and
    /// horizontal flips for natural images only (a flip changes a grating's orientation,
    /// that is the built-in dataset's class).
    public var augmentation: Augmentation {
        switch self {
        case .mnist, .fashionMNIST: Augmentation(cropPadding: 0, horizontalFlip: false)
        case .cifar10, .cifar100: Augmentation(cropPadding: 4, horizontalFlip: true)
        case .builtin: Augmentation(cropPadding: 2, horizontalFlip: false)
        }
    }

    /// Image shape after loading: digits are padded from 28 to 32.
    public var imageShape: [Int] { self == .mnist || self == .fashionMNIST ? [1, 32, 32] : [3, 32, 32] }
}

public struct Normalization: Sendable, Equatable {
    public let mean: [Float], std: [Float]
    public init(mean: [Float], std: [Float]) { self.mean = mean; self.std = std }

    /// From the highest normalised value a black (0) pixel takes in any channel to the lowest a
    /// white (1) pixel takes: the range inside every channel's real range (their intersection),
    /// one range for all channels. With channels normalised alike it is each channel's range; on
    /// CIFAR's it stops a few hundredths short of black and white in some channels.
    public var pixelRange: ClosedRange<Float> {
        let low = zip(mean, std).map { -$0 / $1 }.max() ?? 0, high = zip(mean, std).map { (1 - $0) / $1 }.min() ?? 1
        return low...max(low, high)
    }
}

public struct Augmentation: Sendable, Equatable {
    public let cropPadding: Int
    public let horizontalFlip: Bool
    public static let none = Augmentation(cropPadding: 0, horizontalFlip: false)
    public init(cropPadding: Int, horizontalFlip: Bool) { self.cropPadding = cropPadding; self.horizontalFlip = horizontalFlip }
}

/// `--split TRAIN:EVAL`: the first TRAIN images of one file set train, the last EVAL evaluate.
public struct Split: Sendable, Equatable, CustomStringConvertible {
    public let train: Int, eval: Int

    public init(train: Int, eval: Int) { self.train = train; self.eval = eval }

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let train = Int(parts[0]), let eval = Int(parts[1]), train > 0, eval > 0 else {
            throw DataError(file: "--split", "'\(text)' is not TRAIN:EVAL with two positive image counts (e.g. 8000:2000)")
        }
        self.init(train: train, eval: eval)
    }

    public var description: String { "\(train):\(eval)" }

    func apply(to set: ImageSet) throws -> (train: ImageSet, eval: ImageSet) {
        guard train <= set.count, eval <= set.count - train else {
            throw DataError(file: set.source, "--split \(self) needs \(train) + \(eval) images, the file holds \(set.count)")
        }
        return (set.subset(0..<train), set.subset((set.count - eval)..<set.count))
    }
}

/// A dataset's training and evaluation images.
public struct LoadedDataset: Sendable {
    public let kind: DatasetKind
    public let train: ImageSet, eval: ImageSet
    public var normalization: Normalization { kind.normalization }
}

extension DatasetKind {
    /// Built-in dataset sizes without --split.
    public static let builtinDefaultSplit = Split(train: 10_000, eval: 2_000)
    /// 4 GB of images at 1x32x32 (12 GB at 3x32x32): more than any run here needs.
    static let builtinMaximumImages = 1_000_000

    /// Loads the training and evaluation images from `dataDirectory`, else from where
    /// `DatasetLocation` finds them. With `split`, the training files (or,
    /// where a directory holds only the test files, the test files) are split; without it the
    /// training files train and the test files evaluate.
    public func load(dataDirectory: String?, split: Split?, seed: UInt64 = 0) throws -> LoadedDataset {
        if self == .builtin {
            let sizes = split ?? Self.builtinDefaultSplit
            guard sizes.train <= Self.builtinMaximumImages, sizes.eval <= Self.builtinMaximumImages - sizes.train else {
                throw DataError(file: "--split", "\(sizes) asks for \(sizes.train) + \(sizes.eval) images; the built-in dataset makes at most "
                                + "\(Self.builtinMaximumImages)")
            }
            // Evaluation images come from past the training range, so the two never overlap.
            return LoadedDataset(kind: self, train: BuiltinDataset.generate(0..<sizes.train, classes: classes, seed: seed),
                                 eval: BuiltinDataset.generate(sizes.train..<(sizes.train + sizes.eval), classes: classes, seed: seed))
        }
        guard let directory = try DatasetLocation.directory(of: self, given: dataDirectory) else {
            throw DataError(file: "--dataset", "dataset \(rawValue) has no files to read")
        }
        let trainSet = try readFiles(in: directory, training: true)
        let testSet = try readFiles(in: directory, training: false)
        let (train, eval): (ImageSet, ImageSet)
        if let split {
            guard let source = trainSet ?? testSet else { throw missingFiles(directory) }
            (train, eval) = try split.apply(to: source)
        } else {
            guard let trainSet, let testSet else {
                if trainSet == nil && testSet == nil { throw missingFiles(directory) }
                throw DataError(file: directory, trainSet == nil && testSet != nil
                                ? "holds only the test files of \(rawValue); give --split TRAIN:EVAL to split them"
                                : "lacks the \(trainSet == nil ? "training" : "test") files of \(rawValue) (\(fileNames(training: trainSet == nil).joined(separator: ", ")))")
            }
            (train, eval) = (trainSet, testSet)
        }
        let size = imageShape[1]
        return LoadedDataset(kind: self, train: train.padded(to: size), eval: eval.padded(to: size))
    }

    /// File names of the training or test part, without a .gz suffix.
    func fileNames(training: Bool) -> [String] {
        switch self {
        case .mnist, .fashionMNIST:
            training ? ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] : ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
        case .cifar10: training ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
        case .cifar100: [training ? "train.bin" : "test.bin"]
        case .builtin: []
        }
    }

    private func missingFiles(_ directory: String) -> DataError {
        DataError(file: directory, "holds no \(rawValue) files; expected \((fileNames(training: true) + fileNames(training: false)).joined(separator: ", ")) (raw or .gz)")
    }

    /// The set read from the training or test files, nil when none of them is present.
    private func readFiles(in directory: String, training: Bool) throws -> ImageSet? {
        let located = fileNames(training: training).map { Self.locate($0, in: directory) }
        if located.allSatisfy({ $0 == nil }) { return nil }
        if let missing = located.firstIndex(where: { $0 == nil }) {
            throw DataError(file: (directory as NSString).appendingPathComponent(fileNames(training: training)[missing]),
                            "does not exist (nor with .gz), but other \(training ? "training" : "test") files of \(rawValue) do")
        }
        let paths = located.map { $0! }
        switch self {
        case .mnist, .fashionMNIST: return try IDX.read(images: paths[0], labels: paths[1], classes: classes)
        case .cifar10, .cifar100: return try CIFAR.read(paths, classes: classes)
        case .builtin: return nil
        }
    }

    /// `name` or `name.gz` in `directory`.
    static func locate(_ name: String, in directory: String) -> String? {
        let base = (directory as NSString).appendingPathComponent(name)
        return [base, base + ".gz"].first { FileManager.default.fileExists(atPath: $0) }
    }
}
