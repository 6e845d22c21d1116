import Foundation

/// A caching allocator for tensor buffers. Training steps repeat the same shapes, so a buffer
/// released by one step is handed to the next step's tensor of the same size: a steady-state
/// step takes nothing new from the system. `statistics` counts what the system was asked for,
/// which is how tests prove that.
public final class BufferPool: @unchecked Sendable {
    public struct Statistics: Sendable, Equatable {
        /// Buffers obtained from the system since the process started.
        public var systemAllocations = 0
        /// Bytes held by live tensors.
        public var bytesInUse = 0
        /// The most bytes ever held by live tensors at once.
        public var peakBytesInUse = 0
        /// Bytes held by the pool for reuse.
        public var bytesCached = 0
    }

    public static let shared = BufferPool()

    /// Buffers are 64-byte aligned (a cache line, and what AVX-512 loads prefer).
    static let alignment = 64

    private struct State {
        var free: [Int: [UnsafeMutableRawPointer]] = [:]
        var statistics = Statistics()
    }
    private let state = Locked(State())

    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Resets the peak to the current use, so that a caller can measure one phase's peak.
    public func resetPeak() {
        state.withLock { $0.statistics.peakBytesInUse = $0.statistics.bytesInUse }
    }

    /// Returns every cached buffer to the system.
    public func trim() {
        let buffers: [UnsafeMutableRawPointer] = state.withLock { state in
            let all = state.free.values.flatMap { $0 }
            state.free.removeAll()
            state.statistics.bytesCached = 0
            return all
        }
        buffers.forEach { free($0) }
    }

    func allocate(floats: Int) -> UnsafeMutablePointer<Float> {
        let bytes = Self.roundedBytes(floats: floats)
        let reused: UnsafeMutableRawPointer? = state.withLock { state in
            state.statistics.bytesInUse += bytes
            state.statistics.peakBytesInUse = max(state.statistics.peakBytesInUse, state.statistics.bytesInUse)
            guard let buffer = state.free[bytes]?.popLast() else {
                state.statistics.systemAllocations += 1
                return nil
            }
            state.statistics.bytesCached -= bytes
            return buffer
        }
        let raw = reused ?? Self.systemAllocate(bytes: bytes)
        return raw.bindMemory(to: Float.self, capacity: bytes / MemoryLayout<Float>.stride)
    }

    func release(_ pointer: UnsafeMutablePointer<Float>, floats: Int) {
        let bytes = Self.roundedBytes(floats: floats)
        state.withLock { state in
            state.statistics.bytesInUse -= bytes
            state.statistics.bytesCached += bytes
            state.free[bytes, default: []].append(UnsafeMutableRawPointer(pointer))
        }
    }

    private static func roundedBytes(floats: Int) -> Int {
        let bytes = max(floats, 1) * MemoryLayout<Float>.stride
        return (bytes + alignment - 1) / alignment * alignment
    }

    private static func systemAllocate(bytes: Int) -> UnsafeMutableRawPointer {
        var pointer: UnsafeMutableRawPointer?
        guard posix_memalign(&pointer, alignment, bytes) == 0, let pointer else {
            fatalError("out of memory: could not allocate \(bytes) bytes for a tensor")
        }
        return pointer
    }
}
