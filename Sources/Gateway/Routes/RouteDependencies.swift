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
}
