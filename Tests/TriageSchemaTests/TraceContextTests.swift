import Testing
import TriageSchema

@Suite("W3C trace context")
struct TraceContextTests {
    @Test func parsesValidHeadersAndRejectsInvalidOnes() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let context = TraceContext(traceparent: header)
        #expect(context?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(context?.spanID == "00f067aa0ba902b7")
        #expect(context?.flags == 1)
        #expect(context?.traceparent == header)
        #expect(TraceContext(traceparent: " \(header)\t") == context, "padding is trimmed")
        #expect(
            TraceContext(traceparent: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01")?.traceID
                == "4bf92f3577b34da6a3ce929d0e0e4736")
        for bad in [
            "", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            #expect(TraceContext(traceparent: bad) == nil, "\(bad)")
        }
        // A future version may add fields after the four known ones.
        #expect(
            TraceContext(traceparent: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later")?.traceID
                == "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test func childrenKeepTheTraceAndGetANewSpan() {
        let root = TraceContext.newTrace()
        #expect(TraceContext(traceparent: root.traceparent) == root)
        let child = root.child()
        #expect(child.traceID == root.traceID)
        #expect(child.spanID != root.spanID)
        #expect(TraceContext.newTrace().traceID != root.traceID)
    }
}
