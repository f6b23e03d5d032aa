/// Which bench messages each connection should receive.
struct Expectation: Sendable {
    enum Mode: String, Sendable {
        /// connect scenario: no messages.
        case none
        /// every connection is on one topic and gets every message 0..<messages.
        case fanout
        /// connection i is on its own topic and gets the messages j with j % connections == i.
        case topics
    }

    var mode: Mode
    var connections: Int
    var messages: Int

    /// How many bench messages connection `index` should receive.
    func count(for index: Int) -> Int {
        switch self.mode {
        case .none:
            return 0
        case .fanout:
            return self.messages
        case .topics:
            return index < self.messages ? (self.messages - index + self.connections - 1) / self.connections : 0
        }
    }

    /// Position of `seq` in connection `index`'s bitmap, or nil if that connection should not get it.
    @inline(__always)
    func localIndex(seq: Int64, for index: Int) -> Int? {
        guard seq >= 0, seq < Int64(self.messages) else { return nil }
        switch self.mode {
        case .none:
            return nil
        case .fanout:
            return Int(seq)
        case .topics:
            let s = Int(seq)
            return s % self.connections == index ? s / self.connections : nil
        }
    }
}
