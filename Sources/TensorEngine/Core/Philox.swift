import Foundation

/// Philox4x32-10, a counter-based random generator (Salmon et al., SC'11): the numbers at
/// (key, counter) depend on nothing else, so any draw can be made in any order, on any rank,
/// and come out the same. The engine keys it by a seed and a stream (a parameter's name,
/// a training step) and counts through elements.
public struct Philox: Sendable {
    public let key: (UInt32, UInt32)
    public let stream: UInt64

    public init(seed: UInt64, stream: UInt64 = 0) {
        key = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
        self.stream = stream
    }

    /// A stream named by a string, e.g. a parameter's dotted name (FNV-1a, stable everywhere).
    public init(seed: UInt64, name: String) {
        self.init(seed: seed, stream: Philox.hash(name))
    }

    public static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    /// The four 32-bit words at block `index` of this stream.
    public func block(_ index: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = UInt32(truncatingIfNeeded: index), c1 = UInt32(truncatingIfNeeded: index >> 32)
        var c2 = UInt32(truncatingIfNeeded: stream), c3 = UInt32(truncatingIfNeeded: stream >> 32)
        var k0 = key.0, k1 = key.1
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            (c0, c1, c2, c3) = (UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0, UInt32(truncatingIfNeeded: p1),
                                UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1, UInt32(truncatingIfNeeded: p0))
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// Uniform floats in [0, 1): element i uses word i % 4 of block i / 4.
    public func uniform(count: Int, offset: UInt64 = 0) -> [Float] {
        (0..<count).map { i in
            let position = offset + UInt64(i)
            let words = block(position / 4)
            let word: UInt32
            switch position % 4 {
            case 0: word = words.0
            case 1: word = words.1
            case 2: word = words.2
            default: word = words.3
            }
            return Float(word >> 8) * 0x1p-24
        }
    }

    /// A random order of 0..<count (Fisher-Yates on this stream's uniforms).
    public func permutation(of count: Int) -> [Int] {
        var order = Array(0..<count)
        let random = uniform(count: count)
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, min(i, Int(random[i] * Float(i + 1))))
        }
        return order
    }

    /// Standard normal floats by Box–Muller on pairs of uniforms (computed in Double).
    public func normal(count: Int, offset: UInt64 = 0) -> [Float] {
        (0..<count).map { i in
            let words = block(offset + UInt64(i))
            let u1 = (Double(words.0) + 1) / 4_294_967_297.0   // in (0, 1]
            let u2 = Double(words.1) / 4_294_967_296.0
            return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
        }
    }
}

extension Tensor {
    public static func uniform(_ shape: [Int], low: Float, high: Float, generator: Philox) -> Tensor {
        Tensor(shape: shape, values: generator.uniform(count: shape.reduce(1, *)).map { low + (high - low) * $0 })
    }

    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, generator: Philox) -> Tensor {
        Tensor(shape: shape, values: generator.normal(count: shape.reduce(1, *)).map { mean + std * $0 })
    }
}
