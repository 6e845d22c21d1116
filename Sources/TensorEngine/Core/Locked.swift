import Synchronization

/// A value behind a mutex; the engine's shared caches use it so that tests and tools may
/// call the engine from more than one thread.
final class Locked<Value>: @unchecked Sendable {
    private let mutex = Mutex<Void>(())
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        try mutex.withLock { _ in try body(&value) }
    }
}
