/// Waiters in arrival order, each under an id: `append` and `popFirst` are O(1) amortized and a
/// cancelled waiter is taken out by id without moving the others.
///
/// An endpoint's gate can hold every delivery of a backlog (a record starts its delivery when it
/// is read; tens of thousands after an outage); an array's `removeFirst` per freed slot moved all
/// of them each time.
struct WaiterQueue<Element> {
    private var entries: [(id: UInt64, element: Element)?] = []
    /// Entries before it were taken.
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func append(_ element: Element, id: UInt64) {
        entries.append((id, element))
        count += 1
    }

    /// The longest-waiting element, taken out; `nil` when empty.
    mutating func popFirst() -> Element? {
        while head < entries.count {
            let entry = entries[head]
            entries[head] = nil
            head += 1
            if let entry {
                count -= 1
                compactIfWorthIt()
                return entry.element
            }
        }
        return nil
    }

    /// The element waiting under `id`, taken out; `nil` if it is not waiting (any more).
    mutating func remove(id: UInt64) -> Element? {
        for index in head..<entries.count where entries[index]?.id == id {
            let element = entries[index]!.element
            entries[index] = nil
            count -= 1
            compactIfWorthIt()
            return element
        }
        return nil
    }

    private mutating func compactIfWorthIt() {
        if count == 0 {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64 && head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
