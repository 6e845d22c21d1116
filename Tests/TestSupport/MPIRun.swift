/// Runs a program as `ranks` MPI ranks on this machine through mpirun (as root, more ranks
/// than cores allowed), or alone when `ranks` is nil.
public enum MPIRun {
    public static func run(_ program: String, _ arguments: [String], ranks: Int?) throws -> (status: Int32, output: String) {
        guard let ranks else { return try Subprocess.run(program, arguments) }
        return try Subprocess.run("/usr/bin/mpirun", ["-n", "\(ranks)", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none",
                                                      "-x", "OMP_NUM_THREADS=1", program] + arguments)
    }
}
