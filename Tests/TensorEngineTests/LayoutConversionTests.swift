import TensorEngine
import XCTest

/// Conversions between plain NCHW and the channel-blocked layouts, checked element by element
/// against the layouts' definition: channel c of pixel p of image n sits at
/// ((n * blocks + c / B) * pixels + p) * B + c % B, and lanes past the last channel are zero.
final class LayoutConversionTests: XCTestCase {
    private let layouts: [Layout] = [.plain, .channelBlocked(8), .channelBlocked(16)]
    // Channel counts below, at and across block boundaries; images of 3 x 5 pixels and of one.
    private let shapes = [[2, 6, 3, 5], [2, 16, 3, 5], [3, 20, 3, 5], [1, 3, 1, 1], [2, 33, 2, 2]]

    func testEveryConversionPlacesEveryElementAndZeroesThePadding() {
        for shape in shapes {
            let count = shape.reduce(1, *)
            let plain = Tensor(shape: shape, values: (0..<count).map { Float($0) + 1 })
            for source in layouts {
                let from = plain.converted(to: source)
                assertPlaced(from, plain, "\(shape) to \(source)")
                for target in layouts {
                    // The pool hands the conversion a buffer of NaN: every padding lane must be written.
                    _ = Tensor.full([target.storageCount(for: shape)], .nan)
                    let converted = from.converted(to: target)
                    let what = "\(shape) from \(source) to \(target)"
                    XCTAssertEqual(converted.layout, target, what)
                    assertPlaced(converted, plain, what)
                }
            }
        }
    }

    func testConversionIsDifferentiable() {
        let shape = [2, 6, 3, 5]
        for source in layouts {
            for target in layouts where target != source {
                let x = Tensor.uniform(shape, low: -1, high: 1, generator: Philox(seed: 9)).converted(to: source)
                x.requiresGrad = true
                let gradient = Tensor.uniform(shape, low: -1, high: 1, generator: Philox(seed: 10))
                x.converted(to: target).backward(gradient: gradient.converted(to: target))
                XCTAssertEqual(x.grad!.toArray(), gradient.toArray(), "\(source) to \(target)")
            }
        }
    }

    private func assertPlaced(_ t: Tensor, _ plain: Tensor, _ what: String) {
        let (n, c) = (t.shape[0], t.shape[1])
        let pixels = t.shape[2] * t.shape[3]
        let block: Int
        switch t.layout {
        case .plain: block = 1
        case .channelBlocked(let b): block = b
        }
        let blocks = (c + block - 1) / block
        let storage = UnsafeBufferPointer(start: t.pointer, count: t.layout.storageCount(for: t.shape))
        var misplaced = 0, dirtyPadding = 0
        for image in 0..<n {
            for channel in 0..<(blocks * block) {
                for pixel in 0..<pixels {
                    let offset = ((image * blocks + channel / block) * pixels + pixel) * block + channel % block
                    if channel < c {
                        if storage[offset] != plain.pointer[(image * c + channel) * pixels + pixel] { misplaced += 1 }
                    } else if storage[offset] != 0 {
                        dirtyPadding += 1
                    }
                }
            }
        }
        XCTAssertEqual(misplaced, 0, "elements out of place: \(what)")
        XCTAssertEqual(dirtyPadding, 0, "padding lanes not zero: \(what)")
    }
}
