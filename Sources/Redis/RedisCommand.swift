/// A command: its name and arguments, e.g. `["SET", "key", "value"]`.
///
/// Commands are sent as RESP arrays of bulk strings, so every argument is
/// binary-safe. The client does not know command semantics: it sends what it
/// is given and returns the reply.
public struct RedisCommand: Sendable, Hashable {
    public var arguments: [RedisArgument]

    public init(_ arguments: [RedisArgument]) {
        self.arguments = arguments
    }

    public init(_ name: String, _ arguments: RedisArgument...) {
        self.arguments = [RedisArgument(name)] + arguments
    }

    /// The command name, for logs (never the arguments: they may be secrets).
    public var name: String {
        guard let first = arguments.first, case .string(let text) = first.storage else { return "?" }
        return text.uppercased()
    }
}

extension RedisCommand: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: RedisArgument...) {
        self.arguments = elements
    }
}

extension RedisCommand: CustomStringConvertible {
    /// The command name and the number of arguments; arguments are left out
    /// because they may hold passwords or user data.
    public var description: String { "\(name) (\(arguments.count - 1) arguments)" }
}
