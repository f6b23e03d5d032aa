import Foundation

/// permessage-deflate (RFC 7692) as the native transport negotiates it.
///
/// The server always answers with `server_no_context_takeover`: every message
/// it sends is compressed on its own, so an event's compressed frame is the
/// same bytes for every subscriber with the same window and is compressed
/// once per event loop, not once per connection (the same "encode once" as
/// for plain frames). Messages from the client are inflated with the window
/// the agreement gives, keeping the client's context unless it offered
/// `client_no_context_takeover`.
struct PerMessageDeflate: Sendable, Equatable {
    /// LZ77 window of the server's messages (base-2 logarithm, 9…15).
    var serverWindowBits: Int32 = 15
    /// Window the client compresses with (9…15).
    var clientWindowBits: Int32 = 15
    /// The client resets its context after each message.
    var clientNoContextTakeover = false

    /// The `Sec-WebSocket-Extensions` value of the 101 response.
    var responseHeader: String {
        var parts = ["permessage-deflate", "server_no_context_takeover"]
        if clientNoContextTakeover { parts.append("client_no_context_takeover") }
        if clientWindowBits != 15 { parts.append("client_max_window_bits=\(clientWindowBits)") }
        if serverWindowBits != 15 { parts.append("server_max_window_bits=\(serverWindowBits)") }
        return parts.joined(separator: "; ")
    }

    /// The first permessage-deflate offer of the request's
    /// `Sec-WebSocket-Extensions` values that the server can accept, or nil
    /// (the connection then goes uncompressed, as RFC 7692 allows).
    /// `clientWindowLimit` caps the client's window when the client lets the
    /// server choose it (a bare `client_max_window_bits`): it bounds the
    /// memory of each connection's inflater.
    static func negotiate(_ headerValues: [String], clientWindowLimit: Int32 = 15) -> PerMessageDeflate? {
        for offer in headerValues.flatMap({ $0.split(separator: ",") }) {
            if let agreement = accept(offer, clientWindowLimit: clientWindowLimit) { return agreement }
        }
        return nil
    }

    private static func accept(_ offer: Substring, clientWindowLimit: Int32) -> PerMessageDeflate? {
        let items = offer.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard items.first?.lowercased() == "permessage-deflate" else { return nil }
        var agreement = PerMessageDeflate()
        var seen: Set<String> = []
        var clientMayLimit = false
        for item in items.dropFirst() {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \"")) }
            let name = pair[0].lowercased()
            // RFC 7692 §7: a parameter given twice, or unknown, makes the offer unacceptable.
            guard seen.insert(name).inserted else { return nil }
            let value = pair.count > 1 ? pair[1] : nil
            switch name {
            case "server_no_context_takeover":
                guard value == nil else { return nil }
            case "client_no_context_takeover":
                guard value == nil else { return nil }
                agreement.clientNoContextTakeover = true
            case "server_max_window_bits":
                // zlib cannot make a raw deflate stream with an 8-bit window.
                guard let bits = value.flatMap(Int32.init), (9...15).contains(bits) else { return nil }
                agreement.serverWindowBits = bits
            case "client_max_window_bits":
                if let value {
                    guard let bits = Int32(value), (8...15).contains(bits) else { return nil }
                    // An inflater with a 9-bit window reads streams made with an 8-bit one.
                    agreement.clientWindowBits = max(bits, 9)
                } else {
                    clientMayLimit = true
                }
            default:
                return nil
            }
        }
        if clientMayLimit, agreement.clientWindowBits == 15 {
            agreement.clientWindowBits = min(15, max(9, clientWindowLimit))
        }
        return agreement
    }
}

