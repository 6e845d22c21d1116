import Data
import NeuralNetwork
import Storage
import TensorEngine
import Training

/// A picture of what the generator makes: one row per class, `perClass` samples each. A
/// conditional generator's row c holds samples drawn for label c; an unconditional one's
/// holds the samples the teacher assigns to c, so the grid also shows how balanced the
/// generated classes are (short rows). The noise is fixed by the seed, so grids taken at
/// different epochs show the same draws.
public enum SampleGrid {
    public static let gap = 2

    public static func render(_ generator: Generator, teacher: any Classifier, perClass: Int, seed: UInt64,
                              normalization: Normalization) -> Image8 {
        let (images, rows) = draw(generator, teacher: teacher, perClass: perClass, seed: seed)
        return layout(images, rows: rows, classes: generator.shape.classes, perClass: perClass, normalization: normalization)
    }

    /// `perClass` draws for each class and the row (class) of each: what a grid shows.
    public static func draw(_ generator: Generator, teacher: any Classifier, perClass: Int, seed: UInt64) -> (images: Tensor, rows: [Int]) {
        let classes = generator.shape.classes
        let count = classes * perClass
        let random = Philox(seed: seed, name: "sample-grid")
        let z = Tensor(shape: [count, generator.shape.noise], values: random.normal(count: count * generator.shape.noise))
        let drawnLabels = (0..<count).map { $0 / perClass }
        // One rank draws the grid while the others wait.
        let images = generator.drawAside(z, labels: drawnLabels)
        let rows = generator.isConditional ? drawnLabels : RankLocalPass.run { withoutGradient { Evaluation.predictedClasses(teacher(images)) } }
        return (images, rows)
    }

    /// Places image i in row rows[i] (at most `perClass` per row), undoing the normalisation.
    public static func layout(_ images: Tensor, rows: [Int], classes: Int, perClass: Int, normalization: Normalization) -> Image8 {
        let (channels, height, width) = (images.shape[1], images.shape[2], images.shape[3])
        let outputChannels = channels == 3 ? 3 : 1
        var grid = Image8(width: perClass * (width + gap) + gap, height: classes * (height + gap) + gap,
                          channels: outputChannels, filledWith: 255)
        let values = images.toArray()
        var filled = [Int](repeating: 0, count: classes)
        for (index, row) in rows.enumerated() where filled[row] < perClass {
            let left = gap + filled[row] * (width + gap), top = gap + row * (height + gap)
            filled[row] += 1
            for c in 0..<outputChannels {
                let mean = normalization.mean[c % normalization.mean.count], std = normalization.std[c % normalization.std.count]
                for y in 0..<height {
                    for x in 0..<width {
                        let value = values[((index * channels + c) * height + y) * width + x] * std + mean
                        grid.pixels[((top + y) * grid.width + left + x) * outputChannels + c] = UInt8((value.isNaN ? 0 : min(max(value, 0), 1) * 255).rounded())
                    }
                }
            }
        }
        return grid
    }
}
