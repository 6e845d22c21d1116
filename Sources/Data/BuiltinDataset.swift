import Foundation
import TensorEngine

/// The built-in procedural dataset: 3 x 32 x 32 images of K classes, each image a patch of
/// sinusoidal grating in a Gaussian window on a noisy grey background, with a fainter patch
/// of another class as a distractor. The class sets the grating's orientation and spatial
/// frequency; position, size, phase, contrast, colour and background are random. With a random phase every class has the same mean image, so a
/// linear model on the pixels stays near chance, while a small CNN (oriented filters, then a
/// nonlinearity and pooling) learns it in a few epochs. Image i depends only on the seed and
/// i, so every machine generates the same set.
public enum BuiltinDataset {
    public static let size = 32

    /// Images `range` of the dataset of `classes` classes drawn from `seed`.
    public static func generate(_ range: Range<Int>, classes: Int, seed: UInt64) -> ImageSet {
        precondition(classes >= 2, "the built-in dataset needs at least 2 classes")
        let imageSize = 3 * size * size
        var pixels = [UInt8](repeating: 0, count: range.count * imageSize)
        var labels: [Int] = []
        for (slot, index) in range.enumerated() {
            let label = index % classes
            labels.append(label)
            pixels.withUnsafeMutableBufferPointer { buffer in
                draw(index: index, label: label, classes: classes, seed: seed, into: buffer.baseAddress! + slot * imageSize)
            }
        }
        return ImageSet(pixels: pixels, labels: labels, channels: 3, height: size, width: size, classes: classes,
                        source: "builtin(classes: \(classes), seed: \(seed))[\(range.lowerBound)..<\(range.upperBound)]")
    }

    /// Orientation (radians) and frequency (cycles per pixel) of class `label`: orientations
    /// evenly spread over half a turn, two or more frequency bands.
    static func grating(label: Int, classes: Int) -> (angle: Float, frequency: Float) {
        let orientations = max(2, (classes + 1) / 2)
        let angle = Float.pi * Float(label % orientations) / Float(orientations)
        let frequency = 0.12 + 0.1 * Float(label / orientations)
        return (angle, frequency)
    }

    private static func draw(index: Int, label: Int, classes: Int, seed: UInt64, into out: UnsafeMutablePointer<UInt8>) {
        let random = Philox(seed: seed, stream: UInt64(index))
        let u = random.uniform(count: 16)
        let noise = random.normal(count: 3 * size * size, offset: 16)
        // The class's patch, and a fainter distractor patch of another class.
        let distractorLabel = (label + 1 + Int(u[9] * Float(classes - 1))) % classes
        let patches = [
            Patch(grating: grating(label: label, classes: classes), centre: (6 + 20 * u[0], 6 + 20 * u[1]),
                  radius: 3.5 + 3.5 * u[2], phase: 2 * Float.pi * u[3], contrast: 0.12 + 0.23 * u[4]),
            Patch(grating: grating(label: distractorLabel, classes: classes), centre: (6 + 20 * u[10], 6 + 20 * u[11]),
                  radius: 3 + 2 * u[12], phase: 2 * Float.pi * u[13], contrast: (0.12 + 0.23 * u[4]) * (0.3 + 0.3 * u[14])),
        ]
        let background = 0.3 + 0.4 * u[5]
        let colour = [0.4 + 0.6 * u[6], 0.4 + 0.6 * u[7], 0.4 + 0.6 * u[8]]
        for y in 0..<size {
            for x in 0..<size {
                let signal = patches.reduce(Float(0)) { $0 + $1.value(x: Float(x), y: Float(y)) }
                for channel in 0..<3 {
                    let i = (channel * size + y) * size + x
                    let value = background + colour[channel] * signal + 0.12 * noise[i]
                    out[i] = UInt8(max(0, min(255, (value * 255).rounded())))
                }
            }
        }
    }

    /// A grating in a Gaussian window.
    private struct Patch {
        let grating: (angle: Float, frequency: Float)
        let centre: (x: Float, y: Float)
        let radius: Float, phase: Float, contrast: Float

        func value(x: Float, y: Float) -> Float {
            let dx = x - centre.x, dy = y - centre.y
            let window = Foundation.exp(-(dx * dx + dy * dy) / (2 * radius * radius))
            let along = dx * Foundation.cos(grating.angle) + dy * Foundation.sin(grating.angle)
            return contrast * window * Foundation.cos(2 * Float.pi * grating.frequency * along + phase)
        }
    }
}
