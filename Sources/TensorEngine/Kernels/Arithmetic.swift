import CEngineKernels

/// Element-wise building blocks that backward itself needs (gradient sums and copies), on the
/// engine's C kernels where they compute.
/// They are not recorded; the differentiable ops are in Ops/.
enum Arithmetic {
    /// a + b as a new tensor, in a's layout.
    static func sum(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "cannot add gradients of shapes \(a.shape) and \(b.shape)")
        let right = b.layout == a.layout ? b : LayoutConversion.convert(b, to: a.layout)
        let out = Tensor(uninitializedShape: a.shape, layout: a.layout)
        dfkd_add(a.pointer, right.pointer, out.pointer, a.storageCount)
        return out
    }

    /// target += value, in place.
    static func addInPlace(_ target: Tensor, _ value: Tensor) {
        precondition(target.shape == value.shape, "cannot add shape \(value.shape) into \(target.shape)")
        let right = value.layout == target.layout ? value : LayoutConversion.convert(value, to: target.layout)
        dfkd_add_in_place(target.pointer, right.pointer, target.storageCount)
    }

    static func copy(_ a: Tensor) -> Tensor {
        let out = Tensor(uninitializedShape: a.shape, layout: a.layout)
        out.pointer.update(from: a.pointer, count: a.storageCount)
        return out
    }
}
