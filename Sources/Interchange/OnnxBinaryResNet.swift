import NeuralNetwork

extension OnnxGraph {
    /// The binary ResNet as standard ONNX ops: RSign as Add and Sign, the binarised weights
    /// computed in the graph from the real ones (Abs, ReduceMean per output channel, Sign,
    /// Mul), so the initializers stay the model file's state; RPReLU as Sub, PRelu and Add.
    func binaryResNet(_ model: BinaryResNet, _ x: String) -> String {
        var y = batchNorm(model.bn1, "bn1", conv(model.conv1, "conv1", x))
        for (stageName, stage) in [("layer1", model.layer1), ("layer2", model.layer2), ("layer3", model.layer3), ("layer4", model.layer4)] {
            for (index, layer) in stage.layers.enumerated() {
                let block = layer as! BinaryBlock
                for (unitName, unit) in [("unit1", block.unit1), ("unit2", block.unit2)] {
                    y = binaryUnit(unit, "\(stageName).\(index).\(unitName)", y)
                }
            }
        }
        return head(y, model.linear, "linear")
    }

    private func binaryUnit(_ unit: BinaryUnit, _ name: String, _ x: String) -> String {
        let signs = node("Sign", [node("Add", [x, weight(name + ".input_shift", unit.inputShift)])])
        let real = weight(name + ".conv.weight", unit.conv.weight)
        let weights = unit.binaryWeights
            ? node("Mul", [node("ReduceMean", [node("Abs", [real])], [.ints("axes", [1, 2, 3]), .int("keepdims", 1)]), node("Sign", [real])])
            : real
        let residual = batchNorm(unit.bn, name + ".bn", conv(unit.conv, signs, weightInput: weights))
        var shortcut = x
        if let layers = unit.shortcut?.layers {
            var index = 0
            if let pool = layers.first as? AvgPool2d {
                shortcut = node("AveragePool", [shortcut], [.ints("kernel_shape", [pool.kernel, pool.kernel]), .ints("strides", [pool.stride, pool.stride])])
                index = 1
            }
            shortcut = batchNorm(layers[index + 1] as! BatchNorm2d, "\(name).shortcut.\(index + 1)",
                                 conv(layers[index] as! Conv2d, "\(name).shortcut.\(index)", shortcut))
        }
        let shifted = node("Sub", [node("Add", [residual, shortcut]), weight(name + ".activation_shift", unit.activationShift)])
        return node("Add", [node("PRelu", [shifted, weight(name + ".slope", unit.slope)]), weight(name + ".output_shift", unit.outputShift)])
    }
}
