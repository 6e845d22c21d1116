import CDNNL

/// The oneDNN CPU engine and stream the whole process shares. Primitives execute one at a
/// time on the calling thread's stream; oneDNN parallelises inside each with OpenMP.
final class DNNL: @unchecked Sendable {
    static let shared = DNNL()

    let engine: dnnl_engine_t
    let stream: dnnl_stream_t

    private init() {
        Runtime.configureFromEnvironment()
        var engine: dnnl_engine_t?
        DNNL.check(dnnl_engine_create(&engine, dnnl_cpu, 0), "creating the oneDNN CPU engine")
        var stream: dnnl_stream_t?
        DNNL.check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "creating a oneDNN stream")
        self.engine = engine!
        self.stream = stream!
    }

    /// oneDNN rejects only descriptors the engine built wrongly, so a failure is a bug, not
    /// bad user input.
    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        guard status == dnnl_success else {
            fatalError("oneDNN failed (status \(status.rawValue)) while \(what())")
        }
    }
}

/// oneDNN memory descriptors for the engine's layouts.
enum MemoryDescriptor {
    static func make(dims: [Int], tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        var dnnlDims = dims64(dims)
        let status = withUnsafeMutableBytes(of: &dnnlDims) { raw in
            dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), raw.baseAddress!.assumingMemoryBound(to: Int64.self), dnnl_f32, tag)
        }
        DNNL.check(status, "describing a tensor of dims \(dims)")
        return md
    }

    static func make(shape: [Int], layout: Layout) -> dnnl_memory_desc_t {
        make(dims: shape, tag: tag(rank: shape.count, layout: layout))
    }

    static func any(dims: [Int]) -> dnnl_memory_desc_t { make(dims: dims, tag: dnnl_format_tag_any) }

    static func tag(rank: Int, layout: Layout) -> dnnl_format_tag_t {
        switch (layout, rank) {
        case (.plain, 1): dnnl_a
        case (.plain, 2): dnnl_ab
        case (.plain, 3): dnnl_abc
        case (.plain, 4): dnnl_abcd
        case (.plain, 5): dnnl_abcde
        case (.channelBlocked(8), 4): dnnl_aBcd8b
        case (.channelBlocked(16), 4): dnnl_aBcd16b
        default: fatalError("no oneDNN format for rank \(rank) in layout \(layout)")
        }
    }

    /// The engine layout that `md` describes, if it is one the engine's kernels understand.
    static func layout(of md: dnnl_memory_desc_t, shape: [Int]) -> Layout? {
        var candidates: [Layout] = [.plain]
        if shape.count == 4 { candidates += [.channelBlocked(8), .channelBlocked(16)] }
        return candidates.first { candidate in
            var expected = make(shape: shape, layout: candidate)
            var actual = md
            return dnnl_memory_desc_equal(&expected, &actual) == 1
        }
    }

    static func bytes(_ md: dnnl_memory_desc_t) -> Int {
        var copy = md
        return dnnl_memory_desc_get_size(&copy)
    }

    static func dims64(_ dims: [Int]) -> dnnl_dims_t {
        var out: dnnl_dims_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &out) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: Int64.self)
            for (i, d) in dims.enumerated() { p[i] = Int64(d) }
        }
        return out
    }
}

/// Calls `body` with a pointer to `dims` as oneDNN's int64 dims array.
func withDims<R>(_ dims: [Int], _ body: (UnsafePointer<Int64>) -> R) -> R {
    var value = MemoryDescriptor.dims64(dims)
    return withUnsafeBytes(of: &value) { body($0.baseAddress!.assumingMemoryBound(to: Int64.self)) }
}
