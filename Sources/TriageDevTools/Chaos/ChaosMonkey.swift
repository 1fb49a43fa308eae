public import ServiceLifecycle
import Synchronization

/// Kills worker processes at random and starts them again; injects broker faults.
public final class ChaosMonkey: Service, Sendable {
    public struct Figures: Sendable {
        public var kills = 0
        public var faults = 0
    }

    let cluster: DevProcessCluster
    let brokers: Int
    let killInterval: Double
    let faults: Bool
    private let random: Mutex<SplitMix64>
    private let state = Mutex(Figures())

    public init(cluster: DevProcessCluster, brokers: Int, killInterval: Double, faults: Bool, seed: UInt64) {
        self.cluster = cluster
        self.brokers = brokers
        self.killInterval = killInterval
        self.faults = faults
        random = Mutex(SplitMix64(seed: seed))
    }

    public var figures: Figures { state.withLock { $0 } }

    private func roll(_ range: ClosedRange<Double>) -> Double { random.withLock { Double.random(in: range, using: &$0) } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if self.killInterval > 0 { group.addTask { await self.killLoop() } }
                if self.faults { group.addTask { await self.faultLoop() } }
                group.addTask { while !Task.isCancelled { try? await Task.sleep(for: .seconds(60)) } }  // until shutdown
            }
        }
    }

    private func killLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(roll(killInterval * 0.5...killInterval * 1.5)))
            if Task.isCancelled { return }
            let workers = cluster.workers.filter(\.process.isRunning)
            guard !workers.isEmpty else { continue }
            let victim = workers[random.withLock { Int.random(in: 0..<workers.count, using: &$0) }].name
            cluster.kill(victim)
            state.withLock { $0.kills += 1 }
            let pause = roll(1...3)
            Task {
                try? await Task.sleep(for: .seconds(pause))
                try? self.cluster.restart(victim)
            }
        }
    }

    private func faultLoop() async {
        var step = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(roll(6...12)))
            if Task.isCancelled { return }
            let broker = Int(roll(1...Double(brokers)).rounded(.down))
            switch step % 4 {
            case 0 where brokers > 1:
                // A broker off the network for a few seconds (leaders on it move, clients reconnect).
                cluster.injectFault("down \(broker)")
                try? await Task.sleep(for: .seconds(roll(2...5)))
                cluster.injectFault("up \(broker)")
            case 1:
                // Round-trip spike.
                cluster.injectFault("rtt \(broker) \(Int(roll(200...800)))")
                try? await Task.sleep(for: .seconds(roll(2...4)))
                cluster.injectFault("rtt \(broker) 0")
            case 2:
                // Retriable request errors: NOT_LEADER_FOR_PARTITION (6) on produce, REQUEST_TIMED_OUT (7) on fetch.
                cluster.injectFault("fail produce 6 3")
                cluster.injectFault("fail fetch 7 3")
            default:
                // Group coordination trouble: COORDINATOR_NOT_AVAILABLE (15) on heartbeats and commits.
                // (Not REBALANCE_IN_PROGRESS on heartbeats: the member then joins again while the
                // mock coordinator still holds its pending Join/SyncGroup response, and librdkafka
                // 2.0.2's mock aborts on `!member->resp` in rd_kafka_mock_cgrp_member_add — it took
                // the whole embedded cluster down in one full run. Real rebalances come from the kills.)
                cluster.injectFault("fail heartbeat 15 2")
                cluster.injectFault("fail offset-commit 15 2")
            }
            step += 1
            state.withLock { $0.faults += 1 }
        }
    }

    /// Every broker up without delay, every worker running.
    public func heal() {
        if faults {
            for broker in 1...brokers {
                cluster.injectFault("up \(broker)")
                cluster.injectFault("rtt \(broker) 0")
            }
        }
        for child in cluster.workers where !child.process.isRunning { try? cluster.restart(child.name) }
    }
}
