import CoreMetrics
import Foundation
import Hub
import Operations
import Prometheus

/// What the routes need, passed in explicitly (no globals).
struct RouteDependencies: Sendable {
    let core: RealtimeCore
    let configuration: HubConfiguration
    let verifier: TokenVerifier
    let prometheus: PrometheusCollectorRegistry
    let startedAt: Date
    let version: String
    let operations: OperationService
    /// `embedded` or `distributed`.
    let mode: String
    /// Redis reachable now (nil in embedded mode).
    let redisReady: (@Sendable () -> Bool)?
    /// Long-polls parked on this node (`hub_operation_waiters`).
    let operationWaiters: Meter
    /// The JSON of operations answered last (`GET /operations/{id}`, long-polls).
    let encodedOperations: EncodedOperations
}
