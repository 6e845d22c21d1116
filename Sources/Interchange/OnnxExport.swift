import Foundation
import NeuralNetwork
import TensorEngine

/// A classifier as an ONNX inference graph (opset 13) on normalised inputs, its weights as
/// initializers under their state names. Batch norms are kept as BatchNormalization nodes in
/// inference mode (running statistics): in the pre-activation Wide ResNets most of them
/// precede a ReLU and a convolution, where folding is not exact, and kept nodes keep the
/// graph's initializers the model file's own.
public enum OnnxExport {
    public static let opset = 13
    public static let batchNormNote = "kept: BatchNormalization nodes in inference mode, running statistics"

    /// The model's ONNX bytes; `metadata` becomes the model's metadata_props.
    public static func model(_ network: Module, inputShape: [Int], classes: Int, metadata: [String: String]) throws -> [UInt8] {
        let graph = OnnxGraph()
        let input = "input"
        let last: String
        if let lenet = network as? LeNet5 {
            last = graph.lenet(lenet, input)
        } else if let wrn = network as? WideResNet {
            last = graph.wideResNet(wrn, input)
        } else if let resnet = network as? ResNet {
            last = graph.resNet(resnet, input)
        } else if let vgg = network as? VGG {
            last = graph.vgg(vgg, input)
        } else if let mobileNet = network as? MobileNetV2 {
            last = graph.mobileNetV2(mobileNet, input)
        } else if let binary = network as? BinaryResNet {
            last = graph.binaryResNet(binary, input)
        } else {
            throw InterchangeError(file: "\(type(of: network))", "is not a model of the zoo; ONNX export covers the zoo's architectures")
        }
        let logits = graph.node("Identity", [last], named: "logits")
        var writer = ProtobufWriter()
        writer.integer(1, 8)                                       // ir_version
        writer.text(2, "dfkd")                                     // producer_name
        writer.message(7) { graph.encode(into: &$0, input: input, inputShape: inputShape, output: logits, classes: classes) }
        writer.message(8) { $0.text(1, ""); $0.integer(2, opset) }  // opset_import: the default domain
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            writer.message(14) { $0.text(1, key); $0.text(2, value) }
        }
        return writer.bytes
    }
}

/// The nodes and initializers of a graph under construction; each node's output is named
/// after its op and position.
final class OnnxGraph {
    enum Attribute {
        case int(String, Int), ints(String, [Int]), float(String, Float)
    }

    private var nodes: [(op: String, inputs: [String], output: String, attributes: [Attribute])] = []
    private var initializers: [(name: String, tensor: Tensor)] = []

    func node(_ op: String, _ inputs: [String], _ attributes: [Attribute] = [], named: String? = nil) -> String {
        let output = named ?? "\(op.lowercased())_\(nodes.count)"
        nodes.append((op, inputs, output, attributes))
        return output
    }

    func weight(_ name: String, _ tensor: Tensor) -> String {
        initializers.append((name, tensor))
        return name
    }

    func conv(_ conv: Conv2d, _ name: String, _ x: String) -> String {
        self.conv(conv, x, weightInput: weight(name + ".weight", conv.weight), bias: conv.bias.map { weight(name + ".bias", $0) })
    }

    /// `conv`'s geometry on `x`, with weights from the graph value `weightInput`.
    func conv(_ conv: Conv2d, _ x: String, weightInput: String, bias: String? = nil) -> String {
        let (g, shape) = (conv.geometry, conv.weight.shape)
        return node("Conv", [x, weightInput] + (bias.map { [$0] } ?? []),
                    [.ints("kernel_shape", [shape[2], shape[3]]), .ints("strides", [g.stride, g.stride]),
                     .ints("pads", Array(repeating: g.padding, count: 4)), .int("group", g.groups)])
    }

    func batchNorm(_ bn: BatchNorm2d, _ name: String, _ x: String) -> String {
        guard let scale = bn.weight, let shift = bn.bias else {
            preconditionFailure("the zoo's batch norms are affine")
        }
        return node("BatchNormalization", [x, weight(name + ".weight", scale), weight(name + ".bias", shift),
                                           weight(name + ".running_mean", bn.runningMean), weight(name + ".running_var", bn.runningVariance)],
                    [.float("epsilon", bn.epsilon)])
    }

    func linear(_ linear: Linear, _ name: String, _ x: String) -> String {
        node("Gemm", [x, weight(name + ".weight", linear.weight)] + (linear.bias.map { [weight(name + ".bias", $0)] } ?? []), [.int("transB", 1)])
    }

    func relu(_ x: String) -> String { node("Relu", [x]) }

    func lenet(_ model: LeNet5, _ x: String) -> String {
        let pool: [Attribute] = [.ints("kernel_shape", [2, 2]), .ints("strides", [2, 2])]
        func stage(_ index: Int, _ conv: Conv2d, _ x: String) -> String {
            let y = self.conv(conv, "conv\(index + 1)", x)
            return relu(model.norms.isEmpty ? y : batchNorm(model.norms[index], "bn\(index + 1)", y))
        }
        let a = node("MaxPool", [stage(0, model.conv1, x)], pool)
        let b = node("MaxPool", [stage(1, model.conv2, a)], pool)
        let flat = node("Flatten", [stage(2, model.conv3, b)], [.int("axis", 1)])
        return linear(model.fc2, "fc2", relu(linear(model.fc1, "fc1", flat)))
    }

    func wideResNet(_ model: WideResNet, _ x: String) -> String {
        var y = conv(model.conv1, "conv1", x)
        for (groupName, group) in [("block1", model.block1), ("block2", model.block2), ("block3", model.block3)] {
            for (index, layer) in group.layer.layers.enumerated() {
                let block = layer as! WideResNetBlock
                let name = "\(groupName).layer.\(index)"
                let activated = relu(batchNorm(block.bn1, name + ".bn1", y))
                let residual = conv(block.conv2, name + ".conv2", relu(batchNorm(block.bn2, name + ".bn2", conv(block.conv1, name + ".conv1", activated))))
                let shortcut = block.convShortcut.map { conv($0, name + ".convShortcut", activated) } ?? y
                y = node("Add", [shortcut, residual])
            }
        }
        return head(relu(batchNorm(model.bn1, "bn1", y)), model.fc, "fc")
    }

    /// The global average pool, flattened, then the classifier.
    func head(_ x: String, _ classifier: Linear, _ name: String) -> String {
        linear(classifier, name, node("Flatten", [node("GlobalAveragePool", [x])], [.int("axis", 1)]))
    }

    /// A Sequential of a conv and a batch norm (a shortcut).
    private func convBatchNorm(_ sequential: Sequential, _ name: String, _ x: String) -> String {
        batchNorm(sequential.layers[1] as! BatchNorm2d, name + ".1", conv(sequential.layers[0] as! Conv2d, name + ".0", x))
    }

    func resNet(_ model: ResNet, _ x: String) -> String {
        var y = relu(batchNorm(model.bn1, "bn1", conv(model.conv1, "conv1", x)))
        for (stageName, stage) in [("layer1", model.layer1), ("layer2", model.layer2), ("layer3", model.layer3), ("layer4", model.layer4)] {
            for (index, layer) in stage.layers.enumerated() {
                let block = layer as! ResNetBlock
                let name = "\(stageName).\(index)"
                let residual = batchNorm(block.bn2, name + ".bn2", conv(block.conv2, name + ".conv2",
                                                                         relu(batchNorm(block.bn1, name + ".bn1", conv(block.conv1, name + ".conv1", y)))))
                y = relu(node("Add", [residual, block.shortcut.map { convBatchNorm($0, name + ".shortcut", y) } ?? y]))
            }
        }
        return head(y, model.linear, "linear")
    }

    func vgg(_ model: VGG, _ x: String) -> String {
        var y = x
        for (index, layer) in model.featureLayers.layers.enumerated() {
            let name = "features.\(index)"
            switch layer {
            case let conv as Conv2d: y = self.conv(conv, name, y)
            case let bn as BatchNorm2d: y = batchNorm(bn, name, y)
            case is ReLU: y = relu(y)
            case let pool as MaxPool2d:
                y = node("MaxPool", [y], [.ints("kernel_shape", [pool.kernel, pool.kernel]), .ints("strides", [pool.stride, pool.stride]),
                                          .ints("pads", Array(repeating: pool.padding, count: 4))])
            default: preconditionFailure("VGG holds only convolutions, batch norms, ReLUs and max pools")
            }
        }
        return head(y, model.classifier, "classifier")
    }

    func mobileNetV2(_ model: MobileNetV2, _ x: String) -> String {
        var y = relu(batchNorm(model.bn1, "bn1", conv(model.conv1, "conv1", x)))
        for (index, layer) in model.layers.layers.enumerated() {
            let block = layer as! InvertedResidual
            let name = "layers.\(index)"
            let expanded = relu(batchNorm(block.bn1, name + ".bn1", conv(block.conv1, name + ".conv1", y)))
            let filtered = relu(batchNorm(block.bn2, name + ".bn2", conv(block.conv2, name + ".conv2", expanded)))
            let out = batchNorm(block.bn3, name + ".bn3", conv(block.conv3, name + ".conv3", filtered))
            // The residual only at stride 1, as the block's forward adds it.
            y = block.conv2.geometry.stride != 1 ? out : node("Add", [out, block.shortcut.map { convBatchNorm($0, name + ".shortcut", y) } ?? y])
        }
        return head(relu(batchNorm(model.bn2, "bn2", conv(model.conv2, "conv2", y))), model.linear, "linear")
    }

    func encode(into writer: inout ProtobufWriter, input: String, inputShape: [Int], output: String, classes: Int) {
        for node in nodes {
            writer.message(1) { message in
                node.inputs.forEach { message.text(1, $0) }
                message.text(2, node.output)
                message.text(3, node.output)
                message.text(4, node.op)
                for attribute in node.attributes {
                    message.message(5) { field in
                        switch attribute {
                        case .int(let name, let value): field.text(1, name); field.integer(3, value); field.integer(20, 2)
                        case .ints(let name, let values): field.text(1, name); values.forEach { field.integer(8, $0) }; field.integer(20, 7)
                        case .float(let name, let value): field.text(1, name); field.float(2, value); field.integer(20, 1)
                        }
                    }
                }
            }
        }
        writer.text(2, "dfkd")
        for (name, tensor) in initializers {
            writer.message(5) { message in
                tensor.shape.forEach { message.integer(1, $0) }
                message.integer(2, 1)                                  // FLOAT
                message.text(8, name)
                message.data(9, tensor.toArray().withUnsafeBytes { Array($0) })
            }
        }
        func valueInfo(_ field: Int, _ name: String, _ dimensions: [Int?]) {
            writer.message(field) { info in
                info.text(1, name)
                info.message(2) { type in
                    type.message(1) { tensorType in
                        tensorType.integer(1, 1)
                        tensorType.message(2) { shape in
                            for dimension in dimensions {
                                shape.message(1) { if let dimension { $0.integer(1, dimension) } else { $0.text(2, "batch") } }
                            }
                        }
                    }
                }
            }
        }
        valueInfo(11, input, [nil] + inputShape)
        valueInfo(12, output, [nil, classes])
    }
}
