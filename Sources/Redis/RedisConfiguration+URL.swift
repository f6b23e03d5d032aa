import NIOSSL

extension RedisConfiguration {
    /// Reads a Redis URL into a configuration with default timeouts and limits:
    ///
    ///     redis://[[user]:password@]host[:port][/database]
    ///     rediss://…                      TLS, certificate verified against the system roots
    ///     rediss://…?ca_file=/path.pem    TLS, verified against this CA bundle
    ///     rediss://…?verify=none          TLS without certificate verification (tests only)
    ///
    /// The port defaults to 6379 and the database to 0. An IPv6 host goes in
    /// brackets (`redis://[::1]:6379`). User and password are percent-decoded;
    /// a password alone is written `:password@`. Anything else, including
    /// unknown query parameters, fails with ``RedisError/Code/invalidURL``.
    public init(url: String) throws(RedisError) {
        self.init()
        var rest = Substring(url)
        if rest.hasPrefix("redis://") {
            rest = rest.dropFirst("redis://".count)
        } else if rest.hasPrefix("rediss://") {
            rest = rest.dropFirst("rediss://".count)
            tls = .makeClientConfiguration()
        } else {
            throw .invalidURL("a Redis URL starts with redis:// or rediss://")
        }
        var query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            try parseCredentials(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        try parseHostAndPort(rest)
        if !path.isEmpty {
            guard path.allSatisfy(\.isASCIIDigit), let database = Int(path) else {
                throw .invalidURL("the path of a Redis URL is a database number, not '\(path)'")
            }
            self.database = database
        }
        if let query {
            try parseQuery(query)
        }
    }

    private mutating func parseCredentials(_ userInfo: Substring) throws(RedisError) {
        guard let colon = userInfo.firstIndex(of: ":") else {
            throw .invalidURL("credentials in a Redis URL are user:password@ or :password@")
        }
        let user = try Self.percentDecoded(userInfo[..<colon])
        username = user.isEmpty ? nil : user
        password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
    }

    private mutating func parseHostAndPort(_ authority: Substring) throws(RedisError) {
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .invalidURL("an IPv6 host misses its ']'") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidURL("unexpected '\(after)' after the host") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
        }
        guard !host.isEmpty else { throw .invalidURL("a Redis URL needs a host") }
        guard !host.contains(where: { $0 == " " || $0 == "%" || $0 == "@" }) else {
            throw .invalidURL("'\(host)' is not a host name")
        }
        if let portText {
            guard portText.allSatisfy(\.isASCIIDigit), let port = Int(portText), (1...65535).contains(port) else {
                throw .invalidURL("'\(portText)' is not a port")
            }
            self.port = port
        }
    }

    private mutating func parseQuery(_ query: Substring) throws(RedisError) {
        for item in query.split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0]
            let value = try parts.count > 1 ? Self.percentDecoded(parts[1]) : ""
            guard tls != nil else { throw .invalidURL("'\(key)' needs a rediss:// URL") }
            switch key {
            case "ca_file":
                guard !value.isEmpty else { throw .invalidURL("ca_file needs a path") }
                tls?.trustRoots = .file(value)
            case "verify":
                switch value {
                case "full": tls?.certificateVerification = .fullVerification
                case "ca": tls?.certificateVerification = .noHostnameVerification
                case "none": tls?.certificateVerification = .none
                default: throw .invalidURL("verify is full, ca or none, not '\(value)'")
                }
            default:
                throw .invalidURL("unknown URL parameter '\(key)'")
            }
        }
    }

    static func percentDecoded(_ text: Substring) throws(RedisError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw .invalidURL("bad percent-encoding in '\(text)'")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
