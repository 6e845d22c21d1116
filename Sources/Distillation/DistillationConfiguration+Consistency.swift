extension DistillationConfiguration {
    /// What makes this configuration impossible to run, each as a sentence naming the
    /// settings (their config-file keys); empty when it can run. The range of each value
    /// is the command's to check; these are the combinations. `teacherHasBatchNorms` is
    /// nil when the teacher is not known yet (show-config).
    public func inconsistencies(teacherHasBatchNorms: Bool?, ranks: Int = 1) -> [String] {
        var found: [String] = []
        let studentTerms = kdWeight > 0 || logL2Weight > 0 || l1Weight > 0 || studentCrossEntropyWeight > 0
        if studentSteps > 0 && !studentTerms {
            found.append("the student step has no loss term: set kd, log-l2, l1 or ce-student above 0 (or student-steps: 0)")
        }
        if method != .noise && generatorSteps > 0 {
            let adversarialTerms = adversarial && (kdWeight > 0 || logL2Weight > 0 || l1Weight > 0)
            let statistics = statisticsWeight > 0 && teacherHasBatchNorms != false
            let generatorTerms = adversarialTerms || generatorCrossEntropyWeight > 0 || statistics || contrastWeight > 0
                || oneHotWeight > 0 || entropyWeight > 0 || activationWeight > 0 || totalVariationWeight > 0
            if !generatorTerms {
                found.append("the generator step has no loss term: set adversarial with kd, log-l2 or l1, or ce-generator, contrast, "
                             + "one-hot, entropy, activation, total-variation, or bns (with a teacher that has batch norms) above 0")
            }
        }
        if studentReusesGeneratorBatch && generatorSteps == 0 && studentSteps > 0 {
            found.append("reuse-generator-batch needs generator-steps of at least 1")
        }
        if studentReusesGeneratorBatch && studentStepsFirst {
            found.append("reuse-generator-batch and student-steps-first: the student steps would come before the images they reuse")
        }
        if !generatorMilestones.isEmpty && !generatorMilestoneFractions.isEmpty {
            found.append("generator-milestones and generator-milestone-fractions are both set: give the generator's milestones "
                         + "in epochs or as fractions of the run, not both (set the other to [])")
        }
        if studentSteps == 0 && realPasses == 0 {
            found.append("student-steps is 0 and real-passes is 0: the student would never train")
        }
        if batchSize < ranks {
            found.append("batch \(batchSize) cannot be shared by \(ranks) ranks (each needs at least one sample)")
        }
        if realPasses > 0 && realBatchSize < ranks {
            found.append("real-batch \(realBatchSize) cannot be shared by \(ranks) ranks (each needs at least one sample)")
        }
        return found
    }
}
