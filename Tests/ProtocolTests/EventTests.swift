import Foundation
import Testing

@testable import Protocol

@Suite("Event")
struct EventTests {
    @Test("A draft given an offset becomes the event with every field kept")
    func draftWithOffset() throws {
        let stamp = utcDate(2026, 11, 22, 10, 30, 0)
        let draft = EventDraft(
            tenant: "acme", topic: try Topic("operation:op_1:progress"), event: "progress_updated", data: ["progress": 10],
            teamID: "frontend", timestamp: stamp)
        let offset = Offset(epoch: "e1", major: 7)
        let event = draft.with(offset: offset)
        #expect(event.tenant == "acme")
        #expect(event.topic == (try Topic("operation:op_1:progress")))
        #expect(event.event == "progress_updated")
        #expect(event.offset == offset)
        #expect(event.timestamp == stamp)
        #expect(event.data == ["progress": 10])
        #expect(event.teamID == "frontend")
        #expect(
            event
                == Event(
                    tenant: "acme", topic: try Topic("operation:op_1:progress"), event: "progress_updated", offset: offset,
                    timestamp: stamp, data: ["progress": 10], teamID: "frontend"))
    }

    @Test("Two offsets of one draft give different events")
    func offsetsDistinguish() throws {
        let draft = EventDraft(tenant: "t", topic: try Topic("a:b:c"), event: "e", data: nil)
        #expect(draft.with(offset: Offset(epoch: "e1", major: 1)) != draft.with(offset: Offset(epoch: "e1", major: 2)))
    }

    @Test("A draft defaults to no team and the current time")
    func draftDefaults() throws {
        let before = Date()
        let draft = EventDraft(tenant: "t", topic: try Topic("a:b:c"), event: "e", data: [:])
        let after = Date()
        #expect(draft.teamID == nil)
        #expect(draft.timestamp >= before && draft.timestamp <= after)
        #expect(Event(tenant: "t", topic: try Topic("a"), event: "e", offset: Offset(epoch: "e1", major: 1), timestamp: before, data: nil).teamID == nil)
    }

    @Test(
        "Valid event names: 1 to 64 bytes of [A-Za-z0-9_.-]",
        arguments: ["status_changed", "progress_updated", "a", "A.b-C_9", "deployment.finished", repeated("x", 64), "0", "-", "_", "."])
    func validNames(_ name: String) {
        #expect(EventName.isValid(name))
    }

    @Test(
        "Invalid event names",
        arguments: ["", repeated("x", 65), "status changed", "a:b", "a/b", "a*", "é", "🚀", "a\"b", "a\nb", "a\u{0}", "a,b", " a"])
    func invalidNames(_ name: String) {
        #expect(!EventName.isValid(name))
    }

    @Test("The event name limit is 64 bytes")
    func limit() {
        #expect(EventName.maxBytes == 64)
    }
}
