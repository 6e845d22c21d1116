import ArgumentParser
import Distributed
import Foundation
import Training

/// How a command runs as the ranks of an MPI job, or as the single process when not started
/// by mpirun or srun: rank 0 prints and writes the files, every rank computes its share.
enum JobRanks {
    /// How long a failed rank waits for the others to fail too before it ends the job.
    static let agreementSeconds = 5.0

    /// Runs `body` with the job's communicator. An error is printed once and every rank
    /// exits with its status: when every rank fails (a bad input reaches them all, a run
    /// diverges on all alike) rank 0 reports it; when one rank fails alone, it reports it
    /// naming itself and ends the others, which would wait forever in their next collective.
    static func run<Command: ParsableCommand>(_ command: Command.Type, _ body: (Communicator) throws -> Void) throws {
        let communicator = World.communicator
        Console.reportFromRootOnly(communicator)
        do {
            try body(communicator)
        } catch let status as ExitCode {
            // Every rank ends with the same agreed status (a resumable stop): no abort.
            throw status
        } catch {
            let (message, status) = describe(error, command)
            if communicator.size == 1 || communicator.everyRankFails(waitingAtMost: agreementSeconds) {
                if communicator.isRoot { FileHandle.standardError.write(Data("Error: \(message)\n".utf8)) }
                throw ExitCode(status)
            }
            FileHandle.standardError.write(Data("Error: \(communicator.description): \(message)\n".utf8))
            communicator.abort(code: status)
        }
    }

    /// The host and the cores each rank runs on, in rank order, as "0 HOST (cpus 0-1), ..."
    /// (the node's own name, without a name lookup that an isolated node could wait on).
    static func hosts(_ communicator: Communicator) -> String {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count - 1) == 0 ? String(cString: name) : "?"
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let cpus = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }?
            .dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces) ?? "?"
        return communicator.allGather(text: "\(host) (cpus \(cpus))").enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", ")
    }

    /// The message and exit status of a failure.
    private static func describe<Command: ParsableCommand>(_ error: Error, _ command: Command.Type) -> (String, Int32) {
        if let divergence = error as? Divergence {
            return ("\(divergence). The run stopped before that step changed any weight; the checkpoints written before it are "
                    + "intact, but resuming with the same settings diverges again: lower the learning rates, check the teacher "
                    + "and the loss weights (exit status \(Divergence.exitStatus))", Divergence.exitStatus)
        }
        return (Command.message(for: error), Command.exitCode(for: error).rawValue)
    }
}
