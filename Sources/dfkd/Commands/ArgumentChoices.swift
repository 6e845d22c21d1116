import ArgumentParser
import Data
import Distillation
import NeuralNetwork
import Training

// The closed choices of the command line: a value outside them is a usage error that lists
// the allowed ones, before any work starts. Config files and checkpoints name the same
// choices by the same raw values.
extension Architecture: ExpressibleByArgument {}
extension DatasetKind: ExpressibleByArgument {}
extension DistillationConfiguration.Method: ExpressibleByArgument {}
extension SupervisedConfiguration.OptimizerKind: ExpressibleByArgument {}
extension SupervisedConfiguration.ScheduleKind: ExpressibleByArgument {}
