import Foundation

/// Runs a program to completion, as users run it: its status and its stdout and stderr
/// together. Inherited MPI variables are dropped, so a test run under mpirun still starts
/// its own jobs.
public enum Subprocess {
    public static func run(_ executable: String, _ arguments: [String],
                           environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = Self.environment(adding: environment)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// This process's environment without the MPI variables, plus `extra`.
    static func environment(adding extra: [String: String]) -> [String: String] {
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
        variables.merge(extra) { $1 }
        return variables
    }
}
