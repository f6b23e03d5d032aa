extension Duration {
    /// Whole milliseconds, at least `minimum`: for `PX`, `BLOCK`, `PEXPIRE` and the like.
    public func milliseconds(atLeast minimum: Int64 = 0) -> Int64 {
        let (seconds, attoseconds) = components
        return max(minimum, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
