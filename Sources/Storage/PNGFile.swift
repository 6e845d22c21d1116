import CPNG
import Foundation

/// An 8-bit grey or RGB image, rows top to bottom, pixels interleaved.
public struct Image8: Sendable, Equatable {
    public let width: Int, height: Int, channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(channels == 1 || channels == 3, "an image has 1 (grey) or 3 (RGB) channels, not \(channels)")
        precondition(pixels.count == width * height * channels, "\(pixels.count) pixel values for a \(width)x\(height)x\(channels) image")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An image of one value everywhere.
    public init(width: Int, height: Int, channels: Int, filledWith value: UInt8) {
        self.init(width: width, height: height, channels: channels, pixels: [UInt8](repeating: value, count: width * height * channels))
    }
}

/// PNG files through libpng, written atomically like every other output.
public enum PNGFile {
    public static func write(_ image: Image8, to path: String) throws {
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        guard let buffer = dfkd_png_encode(image.pixels, UInt32(image.width), UInt32(image.height), UInt32(image.channels),
                                           &size, &message, message.count) else {
            throw StorageError(file: path, "libpng could not encode the \(image.width)x\(image.height) image: \(String(nulTerminated: message))")
        }
        defer { free(buffer) }
        let bytes = Data(bytes: buffer, count: size)
        try AtomicFile.write(path) { temporary in
            do { try bytes.write(to: URL(fileURLWithPath: temporary)) } catch {
                throw StorageError(file: path, "cannot write the PNG: \(error.localizedDescription)")
            }
        }
    }

    /// Reads a PNG as `channels` (1 or 3) 8-bit channels, converting as libpng does.
    public static func read(_ path: String, channels: Int) throws -> Image8 {
        var width: UInt32 = 0, height: UInt32 = 0
        var message = [CChar](repeating: 0, count: 256)
        guard let pixels = dfkd_png_decode(path, UInt32(channels), &width, &height, &message, message.count) else {
            throw StorageError(file: path, "is not a readable PNG: \(String(nulTerminated: message))")
        }
        defer { free(pixels) }
        let count = Int(width) * Int(height) * channels
        return Image8(width: Int(width), height: Int(height), channels: channels,
                      pixels: Array(UnsafeBufferPointer(start: pixels, count: count)))
    }
}
