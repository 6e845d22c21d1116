/// What per-channel kernels compute with: the B lanes of one pixel of a channel-blocked
/// tensor as one SIMD vector, or a single element of a plain tensor. A kernel written once,
/// generic over this, is specialised for each width, so its inner loop is vector code.
protocol LaneVector {
    static var width: Int { get }
    /// Lane i holds value(i).
    init(lanes value: (Int) -> Float)
    init(repeating value: Float)
    static func load(_ pointer: UnsafePointer<Float>) -> Self
    func store(_ pointer: UnsafeMutablePointer<Float>)
    func lane(_ i: Int) -> Float
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Self, b: Self) -> Self
}

extension Float: LaneVector {
    static var width: Int { 1 }
    init(lanes value: (Int) -> Float) { self = value(0) }
    init(repeating value: Float) { self = value }
    static func load(_ pointer: UnsafePointer<Float>) -> Float { pointer.pointee }
    func store(_ pointer: UnsafeMutablePointer<Float>) { pointer.pointee = self }
    func lane(_ i: Int) -> Float { self }
}

/// SIMD vectors of Float as lane vectors.
protocol FloatSIMDLaneVector: SIMD, LaneVector where Scalar == Float {}

extension FloatSIMDLaneVector {
    static var width: Int { scalarCount }
    init(lanes value: (Int) -> Float) {
        self.init()
        for i in 0..<Self.scalarCount { self[i] = value(i) }
    }
    @inline(__always) static func load(_ pointer: UnsafePointer<Float>) -> Self {
        UnsafeRawPointer(pointer).loadUnaligned(as: Self.self)
    }
    @inline(__always) func store(_ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: self, as: Self.self)
    }
    func lane(_ i: Int) -> Float { self[i] }
}

extension SIMD8: FloatSIMDLaneVector, LaneVector where Scalar == Float {}
extension SIMD16: FloatSIMDLaneVector, LaneVector where Scalar == Float {}

/// A computation over a lane view, generic over the lane vector.
protocol LaneKernel {
    associatedtype Output
    func run<V: LaneVector>(_ vector: V.Type) -> Output
}

extension LaneView {
    /// Runs `kernel` with the lane vector of this view's width.
    func run<K: LaneKernel>(_ kernel: K) -> K.Output {
        switch lanes {
        case 1: kernel.run(Float.self)
        case 8: kernel.run(SIMD8<Float>.self)
        case 16: kernel.run(SIMD16<Float>.self)
        default: preconditionFailure("no lane vector for \(lanes) lanes")
        }
    }

    /// The lane vector of per-channel `values` for block `block`; padding lanes are zero.
    @inline(__always)
    func vector<V: LaneVector>(_ values: [Float], block: Int) -> V {
        let active = activeLanes(block: block)
        return V(lanes: { $0 < active ? values[block * lanes + $0] : 0 })
    }
}
