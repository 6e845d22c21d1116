import Foundation
import TensorEngine

/// The built-in procedural dataset: 3 x 32 x 32 images of K classes, each image a patch of
/// sinusoidal grating in a Gaussian window on a noisy grey background. The class sets the
/// grating's orientation and spatial frequency; position, size, phase, contrast, colour and
/// background are random. With a random phase every class has the same mean image, so a
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
        let frequency = 0.1 + 0.12 * Float(label / orientations)
        return (angle, frequency)
    }

    private static func draw(index: Int, label: Int, classes: Int, seed: UInt64, into out: UnsafeMutablePointer<UInt8>) {
        let random = Philox(seed: seed, stream: UInt64(index))
        let u = random.uniform(count: 10)
        let noise = random.normal(count: 3 * size * size, offset: 16)
        let (angle, frequency) = grating(label: label, classes: classes)
        let centre = (x: 9 + 14 * u[0], y: 9 + 14 * u[1])
        let radius = 5 + 4 * u[2]
        let phase = 2 * Float.pi * u[3]
        let contrast = 0.25 + 0.25 * u[4]
        let background = 0.3 + 0.4 * u[5]
        let colour = [0.4 + 0.6 * u[6], 0.4 + 0.6 * u[7], 0.4 + 0.6 * u[8]]
        let (c, s) = (Foundation.cos(angle), Foundation.sin(angle))
        for y in 0..<size {
            for x in 0..<size {
                let dx = Float(x) - centre.x, dy = Float(y) - centre.y
                let window = Foundation.exp(-(dx * dx + dy * dy) / (2 * radius * radius))
                let wave = Foundation.cos(2 * Float.pi * frequency * (dx * c + dy * s) + phase)
                for channel in 0..<3 {
                    let i = (channel * size + y) * size + x
                    let value = background + colour[channel] * contrast * window * wave + 0.06 * noise[i]
                    out[i] = UInt8(max(0, min(255, (value * 255).rounded())))
                }
            }
        }
    }
}
