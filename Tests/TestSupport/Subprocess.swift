import Foundation

/// Runs a program to completion, as users run it: its status and its stdout and stderr
/// together. Inherited MPI variables are dropped, so a test run under mpirun still starts
/// its own jobs.
public enum Subprocess {
    /// With `timeout`, a program still running after that many seconds is killed with its
    /// whole process group (timeout(1) starts one: mpirun and its ranks go too) and the
    /// status is 124, as timeout(1) gives.
    /// `workingDirectory` nil runs it in this process's.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           timeout: Double? = nil, workingDirectory: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        if let timeout {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = ["--signal=KILL", String(timeout), executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.environment = Self.environment(adding: environment)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // timeout(1) reports a KILLed program as 128 + 9.
        return (timeout != nil && process.terminationStatus == 137 ? 124 : process.terminationStatus, output)
    }

    /// This process's environment without the MPI variables, plus `extra`.
    static func environment(adding extra: [String: String]) -> [String: String] {
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
        variables.merge(extra) { $1 }
        return variables
    }
}
