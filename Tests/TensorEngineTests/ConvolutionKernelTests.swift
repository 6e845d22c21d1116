import TensorEngine
import XCTest

/// Which oneDNN kernels the engine's convolutions run on. The reference kernel is hundreds
/// of times slower than the JIT ones; a training step that reaches it is a performance bug.
final class ConvolutionKernelTests: XCTestCase {
    func testFewChannelConvolutionsAvoidTheReferenceKernel() {
        let cases: [(input: [Int], weight: [Int], geometry: ConvolutionGeometry)] = [
            ([256, 1, 32, 32], [6, 1, 5, 5], ConvolutionGeometry()),            // LeNet-5 conv1 on digits
            ([256, 6, 14, 14], [16, 6, 5, 5], ConvolutionGeometry()),           // LeNet-5 conv2
            ([64, 3, 32, 32], [16, 3, 3, 3], ConvolutionGeometry(padding: 1)),  // a teacher's stem on generated images
            ([64, 10, 8, 8], [20, 10, 3, 3], ConvolutionGeometry(stride: 2, padding: 1)),
        ]
        for (input, weight, geometry) in cases {
            let names = ConvolutionKernels.implementations(inputShape: input, weightShape: weight, geometry: geometry)
            XCTAssertFalse(names.contains { $0.hasPrefix("ref") }, "\(input) * \(weight): \(names)")
            XCTAssertFalse(names.contains(""), "\(input) * \(weight): oneDNN did not name an implementation")
        }
    }
}
