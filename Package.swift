// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "DataFreeKD",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dfkd", targets: ["dfkd"]),
        .library(name: "TensorEngine", targets: ["TensorEngine"]),
        .library(name: "NeuralNetwork", targets: ["NeuralNetwork"]),
        .library(name: "Data", targets: ["Data"]),
        .library(name: "Distributed", targets: ["Distributed"]),
        .library(name: "Storage", targets: ["Storage"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Distillation", targets: ["Distillation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        // Layer 1: C system libraries, each behind a shim header.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL",
                       providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CStdio", path: "Sources/CStdio"),
        .systemLibrary(name: "CLibz", path: "Sources/CLibz", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),

        // Compute kernels in C, for AVX2 and FMA chosen at run time in a generic x86-64 build.
        .target(name: "CEngineKernels"),

        // Layer 2: tensors, kernels and reverse-mode autodiff.
        .target(name: "TensorEngine", dependencies: ["CBLAS", "CDNNL", "CEngineKernels"]),

        // Layer 3: modules, layers, model building blocks, losses, optimizers, schedules.
        .target(name: "NeuralNetwork", dependencies: ["TensorEngine"]),

        // Layer 4: dataset readers, the built-in dataset, augmentation, batching.
        .target(name: "Data", dependencies: ["TensorEngine", "CLibz"]),

        // Layer 5: the communicator (MPI or the single process) and the collectives of data parallelism.
        .target(name: "Distributed", dependencies: ["NeuralNetwork", "CMPI"]),

        // Layer 6: HDF5 model files and PNG images.
        .target(name: "Storage", dependencies: ["NeuralNetwork", "CHDF5", "CPNG", "CLibz"]),

        // Layer 7: supervised training and evaluation, progress and metrics.
        .target(name: "Training", dependencies: ["NeuralNetwork", "Data", "Distributed", "Storage", "CStdio"]),

        // Layer 7: the data-free distillation methods.
        .target(name: "Distillation", dependencies: ["NeuralNetwork", "Data", "Distributed", "Storage", "Training"]),

        // Layer 6: PyTorch checkpoints (zip and pickle, read without Python), safetensors and ONNX.
        .target(name: "Interchange", dependencies: ["NeuralNetwork", .product(name: "ZIPFoundation", package: "ZIPFoundation")]),

        // The command.
        .executableTarget(name: "dfkd", dependencies: [
            "TensorEngine", "NeuralNetwork", "Data", "Distributed", "Storage", "Training", "Distillation", "Interchange",
            .product(name: "Yams", package: "Yams"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "TensorEngineTests", dependencies: ["TensorEngine", "CEngineKernels", "TestSupport"]),
        .testTarget(name: "NeuralNetworkTests", dependencies: ["NeuralNetwork", "TestSupport"]),
        .testTarget(name: "DataTests", dependencies: ["Data", "NeuralNetwork", "TestSupport"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "NeuralNetwork", "TestSupport"]),
        .testTarget(name: "InterchangeTests", dependencies: ["Interchange", "NeuralNetwork", "TestSupport",
                                                              .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        .testTarget(name: "CommandTests", dependencies: ["TestSupport", "NeuralNetwork", "Storage", "Training", "Interchange"]),
        .testTarget(name: "DistillationTests", dependencies: ["Distillation", "Training", "TestSupport", "NeuralNetwork", "TensorEngine"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "Storage", "TestSupport"]),
        // Multi-rank checks that DistributedTests runs under mpirun.
        .executableTarget(name: "MPIChecks", dependencies: ["Data", "Distributed", "Distillation", "NeuralNetwork", "Training"], path: "Tests/MPIChecks"),
        .target(name: "TestSupport", dependencies: ["TensorEngine"], path: "Tests/TestSupport"),
    ]
)
