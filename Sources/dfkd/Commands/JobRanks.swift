import ArgumentParser
import Distributed
import Foundation
import Training

/// How a command runs as the ranks of an MPI job, or as the single process when not started
/// by mpirun or srun: rank 0 prints and writes the files, every rank computes its share.
enum JobRanks {
    /// Runs `body` with the job's communicator. An error on one rank of several is printed
    /// (naming the rank) and ends every rank: the others would wait forever in their next
    /// collective.
    static func run<Command: ParsableCommand>(_ command: Command.Type, _ body: (Communicator) throws -> Void) throws {
        let communicator = World.communicator
        Console.reportFromRootOnly(communicator)
        guard communicator.size > 1 else { return try body(communicator) }
        do {
            try body(communicator)
        } catch let status as ExitCode {
            // Every rank ends with the same agreed status (a resumable stop): no abort.
            throw status
        } catch {
            FileHandle.standardError.write(Data("Error: \(communicator.description): \(Command.message(for: error))\n".utf8))
            communicator.abort(code: Command.exitCode(for: error).rawValue)
        }
    }
}
