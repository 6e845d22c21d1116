import ArgumentParser
import Foundation
import TensorEngine

struct BenchConvolution: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract: "A convolution's forward + backward through the engine versus raw oneDNN primitives.")

    @Option(help: "Batch size.") var batch = 128
    @Option(help: "Input channels.") var inputChannels = 16
    @Option(help: "Output channels.") var outputChannels = 32
    @Option(help: "Image height and width.") var size = 32
    @Option(help: "Kernel size (padding keeps the image size).") var kernel = 3
    @OptionGroup var options: BenchOptions

    func run() throws {
        let inputShape = [batch, inputChannels, size, size]
        let weightShape = [outputChannels, inputChannels, kernel, kernel]
        let geometry = ConvolutionGeometry(stride: 1, padding: kernel / 2)
        let flops = 2.0 * Double(batch * outputChannels * size * size * inputChannels * kernel * kernel)

        let raw = RawConvolution(inputShape: inputShape, weightShape: weightShape, geometry: geometry)
        let rawForward = Timing.secondsPerIteration(repeats: options.repeats, iterations: options.iterations) { raw.forward() }
        let rawBoth = Timing.secondsPerIteration(repeats: options.repeats, iterations: options.iterations) {
            raw.forward()
            raw.backward()
        }

        // Inside a network the input arrives in the layout the convolution reads.
        let x = Tensor.uniform(inputShape, low: -1, high: 1, generator: Philox(seed: 1)).converted(to: raw.sourceLayout)
        x.requiresGrad = true
        let weight = Tensor.uniform(weightShape, low: -0.1, high: 0.1, generator: Philox(seed: 2))
        weight.requiresGrad = true
        let parameters = FlatParameters([("weight", weight)])
        let engineForward = Timing.secondsPerIteration(repeats: options.repeats, iterations: options.iterations) {
            _ = withoutGradient { Tensor.conv2d(x, weight: weight, geometry: geometry) }
        }
        let engineBoth = Timing.secondsPerIteration(repeats: options.repeats, iterations: options.iterations) {
            parameters.zeroGradients()
            x.zeroGradient()
            let y = Tensor.conv2d(x, weight: weight, geometry: geometry)
            y.backward(gradient: y.detached())
        }

        let result: [String: Any] = [
            "engine_gflops": 3 * flops / engineBoth / 1e9,
            "raw_gflops": 3 * flops / rawBoth / 1e9,
            "ratio": rawBoth / engineBoth,
            "engine_forward_gflops": flops / engineForward / 1e9,
            "raw_forward_gflops": flops / rawForward / 1e9,
            "forward_ratio": rawForward / engineForward,
            "threads": Runtime.threadCount,
        ]
        print("conv \(kernel)x\(kernel) N=\(batch) \(inputChannels)->\(outputChannels) \(size)x\(size), \(Runtime.threadCount) thread(s)")
        print(String(format: "  forward:            engine %6.1f GFLOP/s   raw oneDNN %6.1f GFLOP/s   ratio %.3f",
                     result["engine_forward_gflops"] as! Double, result["raw_forward_gflops"] as! Double, result["forward_ratio"] as! Double))
        print(String(format: "  forward + backward: engine %6.1f GFLOP/s   raw oneDNN %6.1f GFLOP/s   ratio %.3f",
                     result["engine_gflops"] as! Double, result["raw_gflops"] as! Double, result["ratio"] as! Double))
        if options.json { printJSON(result) }
    }
}
