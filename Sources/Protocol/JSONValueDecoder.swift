/// Decodes `Decodable` types from a parsed `JSONValue` (see `JSONParser`),
/// with the same errors as JSONDecoder (`DecodingError` with coding paths),
/// so routes that describe decoding errors keep working. A `JSONValue` field
/// is taken as it is, without the trial decoding a generic decoder needs.
public struct JSONValueDecoder: Sendable {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try T(from: ValueDecoder(value: value, codingPath: []))
    }

    /// Parses `bytes` and decodes `T` from them.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: error.description, underlyingError: error))
        }
        return try decode(type, from: value)
    }
}

/// A decoder positioned on one value of the tree.
struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw mismatch([String: JSONValue].self) }
        return KeyedDecodingContainer(KeyedContainer<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw mismatch([JSONValue].self) }
        return UnkeyedContainer(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(value: value, codingPath: codingPath)
    }

    func mismatch(_ type: Any.Type) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "expected \(type), found \(value.kindName)"))
    }
}

extension JSONValue {
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Primitive decoding shared by the three containers.
enum Primitive {
    static func decode<T: Decodable>(_ type: T.Type, _ value: JSONValue, path: [any CodingKey]) throws -> T {
        func mismatch() -> DecodingError {
            .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), found \(value.kindName)"))
        }
        if type == JSONValue.self { return value as! T }
        switch value {
        case .string(let text):
            if type == String.self { return text as! T }
        case .bool(let flag):
            if type == Bool.self { return flag as! T }
        case .number(let number):
            if type == Double.self { return number as! T }
            if type == Float.self { return Float(number) as! T }
            if let integer = try integer(type, number, path: path) { return integer }
        case .null:
            if type == String.self || type == Bool.self || type == Double.self || type == Int.self {
                throw DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "found null"))
            }
        default:
            break
        }
        if type == String.self || type == Bool.self || type == Double.self || type == Float.self || isInteger(type) {
            throw mismatch()
        }
        return try T(from: ValueDecoder(value: value, codingPath: path))
    }

    static func isInteger(_ type: Any.Type) -> Bool {
        type == Int.self || type == Int64.self || type == Int32.self || type == Int16.self || type == Int8.self || type == UInt.self
            || type == UInt64.self || type == UInt32.self || type == UInt16.self || type == UInt8.self
    }

    static func integer<T>(_ type: T.Type, _ number: Double, path: [any CodingKey]) throws -> T? {
        guard isInteger(type) else { return nil }
        func exact<I: FixedWidthInteger>(_: I.Type) throws -> T {
            guard number == number.rounded(.towardZero), let value = I(exactly: number) else {
                throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "\(number) is not a valid \(I.self)"))
            }
            return value as! T
        }
        switch type {
        case is Int.Type: return try exact(Int.self)
        case is Int64.Type: return try exact(Int64.self)
        case is Int32.Type: return try exact(Int32.self)
        case is Int16.Type: return try exact(Int16.self)
        case is Int8.Type: return try exact(Int8.self)
        case is UInt.Type: return try exact(UInt.self)
        case is UInt64.Type: return try exact(UInt64.self)
        case is UInt32.Type: return try exact(UInt32.self)
        case is UInt16.Type: return try exact(UInt16.self)
        default: return try exact(UInt8.self)
        }
    }
}

struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func value(_ key: Key) throws -> JSONValue {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        try value(key) == .null
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try Primitive.decode(type, try value(key), path: codingPath + [key])
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = members[key.stringValue], value != .null || type == JSONValue.self else { return nil }
        return try Primitive.decode(type, value, path: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: try value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: try value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: .object(members), codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

struct IndexKey: CodingKey {
    var stringValue: String { String(intValue!) }
    var intValue: Int?
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

struct UnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(items: [JSONValue], codingPath: [any CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next<T>(_ type: T.Type) throws -> (JSONValue, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "array ended"))
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, path) = try next(type)
        return try Primitive.decode(type, value, path: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, path) = try next([String: JSONValue].self)
        return try ValueDecoder(value: value, codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, path) = try next([JSONValue].self)
        return try ValueDecoder(value: value, codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, path) = try next(JSONValue.self)
        return ValueDecoder(value: value, codingPath: path)
    }
}

struct SingleContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try Primitive.decode(type, value, path: codingPath)
    }
}
