/// What runs one pass of a convolution: a oneDNN primitive or one of the engine's own
/// kernels. Both take their buffers by oneDNN's argument numbers (DNNLArgument), so the op
/// and the timer that chooses among them treat them alike.
protocol ConvolutionKernel: AnyObject {
    /// oneDNN's implementation name ("jit:avx2", "ref:any"), or "engine:" and the kernel's.
    var implementation: String { get }
    /// Whether this is oneDNN's reference implementation, hundreds of times slower.
    var isReference: Bool { get }
    /// Whether the pass reads or writes `argument` (a kernel without a bias has none).
    func takes(_ argument: Int32) -> Bool
    /// Floats of the buffer of `argument`.
    func floats(of argument: Int32) -> Int
    func execute(_ arguments: [(Int32, UnsafeMutableRawPointer)])
    /// Whether a forward pass adds the tensor passed as `EngineArgument.residual` (laid out as
    /// its output) into its output as it writes it, saving the separate pass over memory.
    var addsResidual: Bool { get }
}

/// Arguments of the engine's kernels that oneDNN's primitives do not have.
enum EngineArgument {
    /// A tensor to add to a forward pass's output (a residual block's shortcut): no oneDNN
    /// argument has this number.
    static let residual = Int32.max
}

extension Primitive: ConvolutionKernel {
    var isReference: Bool { implementation.hasPrefix("ref") }
    var addsResidual: Bool { false }

    func floats(of argument: Int32) -> Int { (MemoryDescriptor.bytes(descriptor(of: argument)) + 3) / 4 }
}

/// An engine kernel of one pass: it takes the pass's buffers, and the bias's where the
/// convolution has one.
protocol EnginePassKernel: ConvolutionKernel {
    var kind: ConvolutionPassKind { get }
    var hasBias: Bool { get }
}

extension EnginePassKernel {
    var addsResidual: Bool { false }

    func takes(_ argument: Int32) -> Bool {
        switch kind {
        case .forward: [DNNLArgument.src, DNNLArgument.weights, DNNLArgument.dst].contains(argument) || (hasBias && argument == DNNLArgument.bias)
        case .backwardData: [DNNLArgument.diffDst, DNNLArgument.weights, DNNLArgument.diffSrc].contains(argument)
        case .backwardWeights: [DNNLArgument.src, DNNLArgument.diffDst, DNNLArgument.diffWeights].contains(argument)
            || (hasBias && argument == DNNLArgument.diffBias)
        }
    }
}

/// An engine kernel that reads the convolution's activations at their own shapes and OIHW
/// weights: its buffers' sizes follow from the shapes.
protocol ShapedConvolutionKernel: EnginePassKernel {
    var input: [Int] { get }
    var weight: [Int] { get }
    var output: [Int] { get }
}

extension ShapedConvolutionKernel {
    func floats(of argument: Int32) -> Int {
        switch argument {
        case DNNLArgument.src, DNNLArgument.diffSrc: input.reduce(1, *)
        case DNNLArgument.dst, DNNLArgument.diffDst: output.reduce(1, *)
        case DNNLArgument.weights, DNNLArgument.diffWeights: weight.reduce(1, *)
        default: weight[0]
        }
    }
}

/// The buffers an engine kernel was handed, by argument.
struct KernelBuffers {
    private let pointers: [Int32: UnsafeMutablePointer<Float>]

    init(_ arguments: [(Int32, UnsafeMutableRawPointer)]) {
        pointers = Dictionary(arguments.map { ($0.0, $0.1.assumingMemoryBound(to: Float.self)) }, uniquingKeysWith: { $1 })
    }

    subscript(_ argument: Int32) -> UnsafeMutablePointer<Float> {
        guard let pointer = pointers[argument] else { fatalError("convolution kernel called without argument \(argument)") }
        return pointer
    }

    /// The buffer of an argument a call may leave out.
    func optional(_ argument: Int32) -> UnsafeMutablePointer<Float>? { pointers[argument] }
}
