import CDNNL
import Foundation

/// How a convolution pass computes (ConvolutionPlan lists the candidates).
public enum ConvolutionAlgorithm: String, CaseIterable, Sendable {
    case direct, gemm
}

/// Which algorithm each pass of a convolution takes: the fastest measured when its shape is
/// first met on this machine (the default, `auto`), or one forced for every shape. Measured
/// choices are kept in ConvolutionChoiceStore, so that every run and rank on a machine takes
/// the same kernels and rounds alike; forcing one (`direct`, `gemm`) makes the kernels, and so
/// the rounding, independent of any cache and of which machine measured first.
public enum ConvolutionPolicy: Equatable, Sendable {
    case measured
    case forced(ConvolutionAlgorithm)

    /// `auto`, `direct` or `gemm`; nil for anything else.
    public init?(name: String) {
        if name == "auto" {
            self = .measured
        } else if let algorithm = ConvolutionAlgorithm(rawValue: name) {
            self = .forced(algorithm)
        } else {
            return nil
        }
    }

    /// The name `init(name:)` reads.
    public var name: String {
        switch self {
        case .measured: "auto"
        case .forced(let algorithm): algorithm.rawValue
        }
    }

    var code: Int {
        switch self {
        case .measured: 0
        case .forced(let algorithm): 1 + ConvolutionAlgorithm.allCases.firstIndex(of: algorithm)!
        }
    }
}

public enum ConvolutionAlgorithms {
    /// The environment variable that sets the policy: auto (the default), direct or gemm.
    public static let environmentVariable = "DFKD_CONVOLUTION"

    /// The policy for convolution shapes met from now on (shapes already planned keep theirs).
    public static var policy: ConvolutionPolicy {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }

    private static let state = Locked(fromEnvironment())

    private static func fromEnvironment() -> ConvolutionPolicy {
        guard let name = ProcessInfo.processInfo.environment[environmentVariable] else { return .measured }
        guard let policy = ConvolutionPolicy(name: name) else {
            fatalError("\(environmentVariable)=\(name): expected auto, direct or gemm")
        }
        return policy
    }
}

/// Times candidate kernels of a convolution pass on scratch buffers, with the cost of the
/// layout conversions each would add to a step, and picks the fastest.
enum ConvolutionTimer {
    /// `forward`, for a backward pass: the chosen forward, whose layouts the saved input and
    /// the arriving output gradient have.
    static func fastest(_ passes: [ConvolutionPass], kind: ConvolutionPassKind, forward: ConvolutionPass?,
                        inputShape: [Int], outputShape: [Int]) -> ConvolutionPass {
        guard passes.count > 1 else { return passes[0] }
        let costs = passes.map { pass -> Double in
            var seconds = time(pass, kind: kind)
            if let forward {
                if pass.outputLayout != forward.outputLayout {
                    seconds += conversionSeconds(outputShape, from: forward.outputLayout, to: pass.outputLayout)
                }
                if kind == .backwardWeights, pass.activationLayout != forward.activationLayout {
                    seconds += conversionSeconds(inputShape, from: forward.activationLayout, to: pass.activationLayout)
                }
            }
            return seconds
        }
        return passes[costs.indices.min { costs[$0] < costs[$1] }!]
    }

    private static let repeats = 3

    private static func time(_ pass: ConvolutionPass, kind: ConvolutionPassKind) -> Double {
        var arguments: [Int32]
        switch kind {
        case .forward: arguments = [DNNLArgument.src, DNNLArgument.weights, DNNLArgument.dst, DNNLArgument.bias]
        case .backwardData: arguments = [DNNLArgument.diffDst, DNNLArgument.weights, DNNLArgument.diffSrc]
        case .backwardWeights: arguments = [DNNLArgument.src, DNNLArgument.diffDst, DNNLArgument.diffWeights, DNNLArgument.diffBias]
        }
        arguments.removeAll { !pass.primitive.takes($0) }
        let buffers = arguments.map { argument -> (Int32, Storage) in
            let storage = Storage(count: (MemoryDescriptor.bytes(pass.primitive.descriptor(of: argument)) + 3) / 4)
            let values = Philox(seed: 7).uniform(count: storage.count)
            for i in 0..<storage.count { storage.pointer[i] = values[i] - 0.5 }
            return (argument, storage)
        }
        let bound = buffers.map { ($0.0, UnsafeMutableRawPointer($0.1.pointer)) }
        return bestOf { pass.primitive.execute(bound) }
    }

    private static func conversionSeconds(_ shape: [Int], from source: Layout, to destination: Layout) -> Double {
        let x = Tensor.zeros(shape, layout: source)
        return bestOf { _ = LayoutConversion.convert(x, to: destination) }
    }

    /// The fastest of a few runs after a warm-up: interference only ever adds time.
    private static func bestOf(_ body: () -> Void) -> Double {
        body()
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        return best
    }
}
