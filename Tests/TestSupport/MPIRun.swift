import Foundation

/// Runs a program as `ranks` MPI ranks on this machine through mpirun (as root, more ranks
/// than cores allowed), or alone when `ranks` is nil.
public enum MPIRun {
    public static func run(_ program: String, _ arguments: [String], ranks: Int?,
                           environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        if let ranks {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
            process.arguments = ["-n", "\(ranks)", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none",
                                 "-x", "OMP_NUM_THREADS=1", program] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
        }
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
        variables.merge(environment) { $1 }
        process.environment = variables
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
