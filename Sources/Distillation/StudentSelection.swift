import NeuralNetwork
import TensorEngine

/// Which of a run's epochs' students it keeps, chosen without real images. After each epoch
/// the newest student meets the one picked so far on the present probe bank, both scored on
/// the same images; the closer to the teacher stays (the newer on a tie). One challenger and
/// one holder a epoch: the cost is two passes over the bank, whatever the student's size.
public final class StudentSelection {
    public enum Rule: String, CaseIterable, Sendable {
        /// The lower mean KL divergence from the teacher on the bank.
        case divergence
        /// The higher arg-max agreement with the teacher on the bank.
        case agreement
        /// The last epoch's student, as a run without a probe would keep.
        case last
    }

    /// The picked student: its epoch (counted from 1) and weights, and its score on the bank
    /// at the epoch it was last compared.
    public struct Pick {
        public let epoch: Int
        public let state: StateArchive
        public let score: ProbeScore
    }

    public let rule: Rule
    /// The images the students are measured on.
    public let bank: ProbeBank
    public private(set) var pick: Pick?
    /// Holds a picked student's weights while it is scored or written.
    private let holder: any Classifier

    /// `holder` is a spare instance of the student's architecture.
    public init(rule: Rule, bank: ProbeBank, holder: any Classifier) {
        self.rule = rule
        self.bank = bank
        self.holder = holder
        holder.eval()
        holder.freeze()
    }

    /// After epoch `epoch` (counted from 1): `student` challenges the pick on the bank. Returns
    /// the challenger's score.
    @discardableResult
    public func consider(_ student: any Classifier, epoch: Int) throws -> ProbeScore {
        let challenger = ProbeScore.of(student, on: bank)
        var keepsHolder = false
        if let pick, rule != .last {
            let holderScore = try score(pick.state, on: bank)
            keepsHolder = rule == .divergence ? holderScore.divergence < challenger.divergence : holderScore.agreement > challenger.agreement
            if keepsHolder { self.pick = Pick(epoch: pick.epoch, state: pick.state, score: holderScore) }
        }
        if !keepsHolder {
            var state = StateArchive()
            student.archive(into: &state, group: "student")
            pick = Pick(epoch: epoch, state: state, score: challenger)
        }
        return challenger
    }

    /// The picked student's weights in the spare instance (nil before any pick): what the run
    /// writes as its student.
    public func pickedStudent() throws -> (any Classifier)? {
        guard let pick else { return nil }
        try holder.restore(from: pick.state, group: "student")
        return holder
    }

    private func score(_ state: StateArchive, on bank: ProbeBank) throws -> ProbeScore {
        try holder.restore(from: state, group: "student")
        return ProbeScore.of(holder, on: bank)
    }

    // MARK: State

    /// The bank under `group/probes`, the pick's epoch, score and weights under `group/`.
    public func archive(into archive: inout StateArchive, group: String) {
        bank.archive(into: &archive, group: group + "/probes")
        guard let pick else { return }
        archive.add(group + "/epoch", scalar: pick.epoch)
        archive.add(group + "/agreement", scalar: pick.score.agreement)
        archive.add(group + "/divergence", scalar: pick.score.divergence)
        for entry in pick.state.entries { archive.add(group + "/" + entry.name, entry.values, shape: entry.shape) }
    }

    /// Restores what `archive(into:group:)` stored. A checkpoint of a run that kept no probe
    /// bank (before there was one) starts an empty bank: the pick is among the epochs to come.
    public func restore(from archive: StateArchive, group: String) throws {
        guard archive[group + "/probes/offered"] != nil else { return }
        try bank.restore(from: archive, group: group + "/probes")
        guard archive[group + "/epoch"] != nil else { pick = nil; return }
        try holder.restore(from: archive, group: group + "/student")
        var state = StateArchive()
        holder.archive(into: &state, group: "student")
        pick = Pick(epoch: try archive.integer(group + "/epoch"), state: state,
                    score: ProbeScore(agreement: try archive.double(group + "/agreement"), divergence: try archive.double(group + "/divergence")))
    }
}
