import TensorEngine
import XCTest

/// Fails unless every padding lane of a channel-blocked tensor (the lanes past its last
/// channel) holds zero, which the engine's kernels keep.
public func assertPaddingLanesZero(_ t: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    guard case .channelBlocked(let block) = t.layout else { return }
    let (n, c, pixels) = (t.shape[0], t.shape[1], t.rank == 4 ? t.shape[2] * t.shape[3] : 1)
    let blocks = (c + block - 1) / block
    for image in 0..<n {
        for pixel in 0..<pixels {
            for lane in (c - (blocks - 1) * block)..<block {
                let offset = ((image * blocks + blocks - 1) * pixels + pixel) * block + lane
                XCTAssertEqual(t.pointer[offset], 0, "padding lane \(lane) of \(what)", file: file, line: line)
            }
        }
    }
}

/// Runs `body` in plain, nChw8c and nChw16c layouts, each with the engine's vector kernels
/// allowed and not, passing a label that names the combination.
public func forEveryLayoutAndKernelSet(_ body: (_ layout: Layout, _ vector: Bool, _ what: String) -> Void) {
    for layout in [Layout.plain, .channelBlocked(8), .channelBlocked(16)] {
        for vector in [true, false] { body(layout, vector, "\(layout), \(vector ? "vector extensions" : "generic")") }
    }
}
