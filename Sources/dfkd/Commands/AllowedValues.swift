/// The values a numeric setting may take, checked before any work starts so that a bad
/// number is an error naming the setting instead of a trap, a hang or a diverged run.
/// Upper bounds keep a typo (an extra zero or three) from asking for terabytes.
struct AllowedValues: Sendable {
    let lowest: Double, highest: Double
    /// Whether the bounds themselves are allowed.
    let includesLowest: Bool, includesHighest: Bool
    let integral: Bool

    static func integers(_ range: ClosedRange<Int>) -> AllowedValues {
        AllowedValues(lowest: Double(range.lowerBound), highest: Double(range.upperBound), includesLowest: true, includesHighest: true,
                      integral: true)
    }

    /// Finite numbers from `lowest` (or above it) up to `highest`.
    static func numbers(from lowest: Double, including: Bool = true, below highest: Double = .infinity) -> AllowedValues {
        AllowedValues(lowest: lowest, highest: highest, includesLowest: including, includesHighest: false, integral: false)
    }

    static let counts = integers(1...1_000_000)
    static let seeds = integers(0...Int.max)
    /// Rates and weights, stored in single precision: finite there too.
    static let positive = numbers(from: 0, including: false, below: 1e30)
    static let nonNegative = numbers(from: 0, below: 1e30)
    /// Momenta and Adam's betas: 1 would never forget.
    static let decayFactor = numbers(from: 0, below: 1)

    func contains(_ value: Double) -> Bool {
        value.isFinite && (includesLowest ? value >= lowest : value > lowest) && (includesHighest ? value <= highest : value < highest)
            && (!integral || value.rounded() == value)
    }

    var description: String {
        let kind = integral ? "an integer" : "a finite number"
        let low = includesLowest ? "of at least \(Self.format(lowest))" : "greater than \(Self.format(lowest))"
        guard highest.isFinite, highest != Double(Int.max) else { return "\(kind) \(low)" }
        return "\(kind) \(low) and \(includesHighest ? "at most" : "below") \(Self.format(highest))"
    }

    static func format(_ value: Double) -> String {
        value.isFinite && value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    }

    /// Throws "SOURCE: NAME is VALUE, expected ..." unless `value` is allowed.
    func check(_ value: Double, name: String, source: String) throws {
        guard contains(value) else {
            throw CommandError("\(source.isEmpty ? "" : source + ": ")\(name) is \(Self.format(value)), expected \(description)")
        }
    }
}
