/// Arithmetic on sizes that a file declares: a damaged or hostile header must end in an
/// error naming it, never in an overflow trap.
public enum CheckedArithmetic {
    /// The product of `factors`; nil when one is negative or the product does not fit in Int.
    public static func product(_ factors: [Int]) -> Int? {
        var result = 1
        for factor in factors {
            guard factor >= 0 else { return nil }
            let (next, overflow) = result.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            result = next
        }
        return result
    }

    /// `a * b + c`; nil when it does not fit in Int.
    public static func multiplyAdd(_ a: Int, _ b: Int, _ c: Int) -> Int? {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { return nil }
        let (sum, carry) = product.addingReportingOverflow(c)
        return carry ? nil : sum
    }
}
