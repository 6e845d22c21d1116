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
        for shard in set.shards where chosen.contains(where: { $0.count < perClass * pixels }) {
            let file = try HDF5Group.open(shard.path)
            let classes = shard.hasLabels ? try file.read("labels", as: Int64.self).values.map(Int.init)
                : SampleShardSet.predictedClasses(try file.read("logits", as: Float.self).values, classes: set.classes)
            let images = try file.read("images", as: Float.self).values
            for (row, label) in classes.enumerated() where (0..<set.classes).contains(label) && chosen[label].count < perClass * pixels {
                chosen[label] += images[(row * pixels)..<((row + 1) * pixels)]
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
