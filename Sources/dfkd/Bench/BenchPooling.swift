import ArgumentParser
import Foundation
import TensorEngine

struct BenchPooling: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool",
        abstract: "Pooling forward + backward on the engine's kernels versus oneDNN's primitives, in each layout.",
        discussion: "The default shape is LeNet-5's first pooling at batch 256 (6 channels of 28x28, 2x2 windows).")

    @Option(help: "Batch size.") var batch = 256
    @Option(help: "Channels.") var channels = 6
    @Option(help: "Image height and width.") var size = 28
    @Option(help: "Window size.") var kernel = 2
    @Option(help: "Stride (default: the window size).") var stride: Int?
    @Option(help: "Zero padding on each side.") var padding = 0
    @Flag(help: "Average pooling instead of max pooling.") var average = false
    @OptionGroup var options: BenchOptions

    func run() throws {
        let kind: PoolingKind = average ? .average : .max
        let stride = stride ?? kernel
        let inputShape = [batch, channels, size, size]
        print("\(average ? "average" : "max") pooling \(kernel)x\(kernel) stride \(stride) padding \(padding) over \(inputShape), \(Runtime.threadCount) thread(s)")
        var rows: [[String: Any]] = []
        for layout in [Layout.plain, .channelBlocked(8), .channelBlocked(16)] {
            let reference = OneDNNPooling(inputShape: inputShape, layout: layout, kind: kind, kernel: kernel, stride: stride, padding: padding)
            let x = Tensor.uniform(inputShape, low: -1, high: 1, generator: Philox(seed: 1)).converted(to: layout)
            let out = Tensor.zeros(reference.outputShape, layout: layout), dx = Tensor.zeros(inputShape, layout: layout)
            let oneDNN = Timing.secondsPerIteration(repeats: options.repeats, iterations: options.iterations) {
                reference.forward(x, into: out)
                reference.backward(out, into: dx)
            }
            let engineKernels = EnginePooling(inputShape: inputShape, kind: kind, kernel: kernel, stride: stride, padding: padding)
            let engine = Timing.secondsPerIteration(repeats: options.repeats, iterations: options.iterations) {
                engineKernels.forward(x, into: out)
                engineKernels.backward(out, into: dx)
            }
            print(String(format: "  %-8@ engine %8.3f ms   oneDNN (%@) %8.3f ms   ratio %.2f",
                         layout.description as NSString, engine * 1e3, reference.implementation as NSString, oneDNN * 1e3, oneDNN / engine))
            rows.append(["layout": layout.description, "engine_ms": engine * 1e3, "onednn_ms": oneDNN * 1e3,
                         "onednn_implementation": reference.implementation, "ratio": oneDNN / engine])
        }
        if options.json { printJSON(["layouts": rows, "threads": Runtime.threadCount]) }
    }
}
