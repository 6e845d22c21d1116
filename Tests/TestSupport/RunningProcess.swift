import Foundation

/// A program started in the background, to be signalled while it runs: its output is
/// collected as it comes, so a test can wait for a line before it sends the signal.
public final class RunningProcess: @unchecked Sendable {  // `output` is read under `lock`
    private let process = Process()
    private let lock = NSLock()
    private var collected = Data()

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = Subprocess.environment(adding: environment)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.collected.append(data) }
        }
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var output: String { lock.withLock { String(decoding: collected, as: UTF8.self) } }

    /// Waits until the output contains `text` (true) or the process ends or `seconds` pass.
    public func wait(for text: String, seconds: Double = 120) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(text) { return true }
            if !process.isRunning { return output.contains(text) }
            usleep(10_000)
        }
        return false
    }

    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the end; the exit status, or 128 + the signal that ended it.
    public func finish() -> (status: Int32, output: String) {
        process.waitUntilExit()
        usleep(50_000)  // the last output may still be in the pipe's handler
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return (status, output)
    }
}
