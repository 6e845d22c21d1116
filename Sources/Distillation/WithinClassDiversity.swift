import Data
import TensorEngine

/// How much the images of a class differ from each other: the root mean square difference
/// per pixel between two images of the same class, in the teacher's normalised input space,
/// averaged over the classes. A generator that found one image per class (a flat colour, say)
/// scores near 0; real images score what their own variety gives, the figure to compare with.
public enum WithinClassDiversity {
    /// Of `images` (N x C x H x W) whose classes are `labels`; classes with fewer than two
    /// images are left out (nil when none has two).
    public static func of(_ images: Tensor, labels: [Int]) -> Double? {
        // In class order: the same images give the same figure, to the last bit, in every process.
        let figures = byClass(images, labels: labels)
        let perClass = figures.keys.sorted().map { figures[$0]! }
        return perClass.isEmpty ? nil : perClass.reduce(0, +) / Double(perClass.count)
    }

    /// Each class's figure, for the classes with at least two images.
    public static func byClass(_ images: Tensor, labels: [Int]) -> [Int: Double] {
        let pixels = images.count / max(images.shape[0], 1)
        var sums: [Int: (count: Int, squares: Double, total: [Double])] = [:]
        let values = images.toArray()
        for (index, label) in labels.enumerated() {
            var entry = sums[label] ?? (0, 0, [Double](repeating: 0, count: pixels))
            for p in 0..<pixels {
                let value = Double(values[index * pixels + p])
                entry.squares += value * value
                entry.total[p] += value
            }
            entry.count += 1
            sums[label] = entry
        }
        // Over the n(n-1)/2 pairs i < j: sum |x_i - x_j|^2 = n sum |x_i|^2 - |sum x_i|^2.
        return sums.filter { $0.value.count >= 2 }.mapValues { entry -> Double in
            let n = Double(entry.count)
            let pairSum = n * entry.squares - entry.total.reduce(0) { $0 + $1 * $1 }
            return (max(pairSum, 0) / (n * (n - 1) / 2) / Double(pixels)).squareRoot()
        }
    }

    /// Of the first `perClass` images of each class of `set`, normalised as the teacher's input.
    public static func of(_ set: ImageSet, normalization: Normalization, perClass: Int) -> Double? {
        var taken = [Int](repeating: 0, count: set.classes), chosen: [Int] = []
        for (index, label) in set.labels.enumerated() where taken[label] < perClass {
            taken[label] += 1
            chosen.append(index)
        }
        let batch = BatchSource(set, batchSize: max(chosen.count, 1), normalization: normalization, training: false)
            .batch(0, epoch: 0, order: chosen)
        return of(batch.images, labels: batch.labels)
    }
}
