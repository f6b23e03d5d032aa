// Entry point of hub-bench, a load generator for the Operations Hub (see Benchmarks/README.md).
import ArgumentParser

do {
    var command = try HubBench.parseAsRoot()
    if let scenario = command as? any ScenarioCommand {
        try await BenchRunner.runAndExit(try scenario.settings())
    } else if let scenario = command as? any OperationsScenarioCommand {
        try await scenario.runAndExit()
    } else {
        try command.run()
    }
} catch {
    HubBench.exit(withError: error)
}
