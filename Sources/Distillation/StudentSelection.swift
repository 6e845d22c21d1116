import Foundation
import NeuralNetwork
import TensorEngine

/// Which of a run's epochs' students it keeps, chosen without real images. After each epoch
/// the newest student challenges the one kept so far on the present probe bank, both scored on
/// the same images. One challenger and one holder an epoch: the cost is two passes over the
/// bank, whatever the student's size.
public final class StudentSelection {
    public enum Rule: String, CaseIterable, Sendable {
        /// The holder stays only if it agrees with the teacher's arg-max on significantly more
        /// of the bank's images than the challenger (McNemar's test on the images where the two
        /// differ, z above `significance`): the newest student unless an earlier one is
        /// measurably closer to the teacher.
        case agreement
        /// The lower mean KL divergence from the teacher on the bank.
        case divergence
        /// The last epoch's student, as a run without a probe would keep.
        case last
    }

    /// The z of McNemar's test above which the holder stays (one-sided, about 2.3% by chance).
    public static let significance = 2.0

    /// The picked student: its epoch (counted from 1) and weights, and its score on the bank
    /// at the epoch it was last compared.
    public struct Pick {
        public let epoch: Int
        public let state: StateArchive
        public let score: ProbeScore
    }

    public let rule: Rule
    /// The images the students are measured on (shared by the selections of one run).
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
        if let pick, rule != .last {
            try holder.restore(from: pick.state, group: "student")
            let held = ProbeScore.of(holder, on: bank)
            if Self.holderStays(held, against: challenger, rule: rule) {
                self.pick = Pick(epoch: pick.epoch, state: pick.state, score: held)
                return challenger
            }
        }
        var state = StateArchive()
        student.archive(into: &state, group: "student")
        pick = Pick(epoch: epoch, state: state, score: challenger)
        return challenger
    }

    /// Whether the holder, scored `held`, stays against a challenger scored `challenger`.
    public static func holderStays(_ held: ProbeScore, against challenger: ProbeScore, rule: Rule) -> Bool {
        switch rule {
        case .agreement:
            let onlyHolder = zip(held.agreeing, challenger.agreeing).filter { $0 && !$1 }.count
            let onlyChallenger = zip(held.agreeing, challenger.agreeing).filter { !$0 && $1 }.count
            return Double(onlyHolder - onlyChallenger) > significance * Double(onlyHolder + onlyChallenger).squareRoot()
        case .divergence: return !challenger.divergence.isFinite || held.divergence < challenger.divergence
        case .last: return false
        }
    }

    /// The picked student's weights in the spare instance (nil before any pick): what the run
    /// writes as its student.
    public func pickedStudent() throws -> (any Classifier)? {
        guard let pick else { return nil }
        try holder.restore(from: pick.state, group: "student")
        return holder
    }

    // MARK: State

    /// The pick's epoch, score and weights under `group/` (nothing before the first pick).
    public func archive(into archive: inout StateArchive, group: String) {
        guard let pick else { return }
        archive.add(group + "/epoch", scalar: pick.epoch)
        archive.add(group + "/agreement", scalar: pick.score.agreement)
        archive.add(group + "/divergence", scalar: pick.score.divergence)
        for entry in pick.state.entries { archive.add(group + "/" + entry.name, entry.values, shape: entry.shape) }
    }

    /// Restores what `archive(into:group:)` stored. The per-image agreements are not stored:
    /// the next comparison measures the holder again.
    public func restore(from archive: StateArchive, group: String) throws {
        guard archive[group + "/epoch"] != nil else { pick = nil; return }
        try holder.restore(from: archive, group: group + "/student")
        var state = StateArchive()
        holder.archive(into: &state, group: "student")
        pick = Pick(epoch: try archive.integer(group + "/epoch"), state: state,
                    score: ProbeScore(agreement: try archive.double(group + "/agreement"), divergence: try archive.double(group + "/divergence")))
    }
}
