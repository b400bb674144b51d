/// A value that can be sent as one command argument.
public protocol RedisArgument: Sendable {
    func append(to command: inout RedisCommand)
}

extension String: RedisArgument {
    public func append(to command: inout RedisCommand) { command.append(self) }
}

extension Substring: RedisArgument {
    public func append(to command: inout RedisCommand) { command.append(self.utf8) }
}

extension Array: RedisArgument where Element == UInt8 {
    public func append(to command: inout RedisCommand) { command.append(self) }
}

extension ArraySlice: RedisArgument where Element == UInt8 {
    public func append(to command: inout RedisCommand) { command.append(self) }
}

extension Int: RedisArgument {
    public func append(to command: inout RedisCommand) { command.append(self) }
}

extension Int64: RedisArgument {
    public func append(to command: inout RedisCommand) { command.append(String(self)) }
}

extension Double: RedisArgument {
    public func append(to command: inout RedisCommand) {
        if self == .infinity {
            command.append("+inf")
        } else if self == -.infinity {
            command.append("-inf")
        } else {
            command.append(String(self))
        }
    }
}

extension RedisCommand {
    public init(_ name: String, arguments: [any RedisArgument]) {
        self.init(name)
        for argument in arguments { argument.append(to: &self) }
    }

    public mutating func append(argument: some RedisArgument) {
        argument.append(to: &self)
    }
}
