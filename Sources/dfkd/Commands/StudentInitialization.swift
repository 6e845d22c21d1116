import NeuralNetwork
import Storage

/// `distill --student-init`: a student that starts from an earlier stage's weights, as the
/// second stage of a binary student's training starts from the first's.
enum StudentInitialization {
    static func load(_ path: String, into student: Module, like teacher: ModelDescription) throws {
        let (model, description) = try ModelFile.load(path)
        guard description.classes == teacher.classes, description.inputShape == teacher.inputShape else {
            throw CommandError("--student-init \(path): a model of \(description.classes) classes on \(description.inputShape) inputs; "
                               + "the teacher has \(teacher.classes) classes on \(teacher.inputShape)")
        }
        var archive = StateArchive()
        model.archive(into: &archive, group: "state")
        do {
            try student.restore(from: archive, group: "state")
        } catch StateArchiveError.mismatch(_, let problems) {
            throw CommandError("--student-init \(path): its \(description.architecture.rawValue) weights do not fit the student:\n  "
                               + problems.joined(separator: "\n  "))
        }
    }
}
