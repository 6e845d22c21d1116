// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "DataFreeKD",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dfkd", targets: ["dfkd"]),
        .library(name: "TensorEngine", targets: ["TensorEngine"]),
        .library(name: "NeuralNetwork", targets: ["NeuralNetwork"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Layer 1: C system libraries, each behind a shim header.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL",
                       providers: [.apt(["libdnnl-dev"])]),

        // Layer 2: tensors, kernels and reverse-mode autodiff.
        .target(name: "TensorEngine", dependencies: ["CBLAS", "CDNNL"]),

        // Layer 3: modules, layers, model building blocks, losses, optimizers, schedules.
        .target(name: "NeuralNetwork", dependencies: ["TensorEngine"]),

        // The command.
        .executableTarget(name: "dfkd", dependencies: [
            "TensorEngine", "NeuralNetwork",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "TensorEngineTests", dependencies: ["TensorEngine", "TestSupport"]),
        .testTarget(name: "NeuralNetworkTests", dependencies: ["NeuralNetwork", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["TensorEngine"], path: "Tests/TestSupport"),
    ]
)
