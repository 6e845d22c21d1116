import Data
import Storage
import TensorEngine

/// Pictures of a sample shard set: for every class, a grid of its first samples in the
/// set's order, eight to a row. A sample's class is its conditional label or, for an
/// unconditional generator's, the class its stored teacher logits give.
public enum SampleExport {
    public static func classGrids(of set: SampleShardSet, perClass: Int) throws -> [Image8] {
        let pixels = set.imageShape.reduce(1, *)
        var chosen = [[Float]](repeating: [], count: set.classes)
        func missing() -> Bool { chosen.contains { $0.count < perClass * pixels } }
        for shard in set.shards where missing() {
            let file = try HDF5Group.open(shard.path)
            for start in stride(from: 0, to: shard.rows, by: SampleShardSet.rowsPerBlock) where missing() {
                let rows = start..<min(shard.rows, start + SampleShardSet.rowsPerBlock)
                let classes = shard.hasLabels ? try file.readRows("labels", rows, as: Int64.self).map(Int.init)
                    : SampleShardSet.predictedClasses(try file.readRows("logits", rows, as: Float.self), classes: set.classes)
                let images = try file.readRows("images", rows, as: Float.self)
                for (row, label) in classes.enumerated() where (0..<set.classes).contains(label) && chosen[label].count < perClass * pixels {
                    chosen[label] += images[(row * pixels)..<((row + 1) * pixels)]
                }
            }
        }
        let normalization = Normalization(mean: set.shards[0].normalizationMean, std: set.shards[0].normalizationStd)
        let perRow = min(8, perClass)
        return chosen.map { values in
            let count = values.count / pixels
            return SampleGrid.layout(Tensor(shape: [count] + set.imageShape, values: values), rows: (0..<count).map { $0 / perRow },
                                     classes: max(1, (perClass + perRow - 1) / perRow), perClass: perRow, normalization: normalization)
        }
    }
}
