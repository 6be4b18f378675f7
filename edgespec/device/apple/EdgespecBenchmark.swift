// The Core ML bundle's benchmark harness: times each converted model of coreml.json on this device
// with the compute units the plan assumed (the Neural Engine), and returns edgespec measurement
// records (JSON lines, docs/measurements.md) to feed back into the plan:
//
//     let lines = try EdgespecBenchmark.run(runs: 200, warmup: 20)
//     try lines.write(to: documents.appendingPathComponent("measurements.jsonl"), atomically: true, encoding: .utf8)
//     // then, beside the spec: edgespec plan deploy.yaml --measurements measurements.jsonl
//
// Percentiles are nearest-rank, as the other bundles' bench.py and trtexec take them; p95 needs 20
// runs and p99 100. Each timed call is one prediction on a random input of the model's own shape.

import CoreML
import Foundation

public enum EdgespecBenchmark {
    /// One record per model of coreml.json, as JSON lines.
    public static func run(runs: Int = 200, warmup: Int = 20, bundle: Bundle = .main) throws -> String {
        precondition(runs >= 1 && warmup >= 0, "runs must be at least 1 and warmup at least 0")
        let settings = try EdgespecSettings.load(from: bundle)
        var lines = ""
        for entry in settings.models {
            guard let url = bundle.url(forResource: entry.name, withExtension: "mlmodelc") else {
                throw EdgespecError.missingResource("\(entry.name).mlmodelc")
            }
            let configuration = MLModelConfiguration()
            configuration.computeUnits = settings.computeUnits
            let model = try MLModel(contentsOf: url, configuration: configuration)
            let input = try randomInput(for: model)
            for _ in 0..<warmup {
                _ = try model.prediction(from: input)
            }
            var times: [Double] = []
            times.reserveCapacity(runs)
            for _ in 0..<runs {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try model.prediction(from: input)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            lines += try record(settings: settings, entry: entry, times: times.sorted()) + "\n"
        }
        return lines
    }

    /// The nearest-rank percentile of ascending values (q in 0...100).
    public static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        let rank = max(1, Int((q / 100 * Double(sorted.count)).rounded(.up)))
        return sorted[rank - 1]
    }

    private static func randomInput(for model: MLModel) throws -> MLFeatureProvider {
        guard let constraint = model.modelDescription.inputDescriptionsByName["input"]?.multiArrayConstraint else {
            throw EdgespecError.badInput("the model has no multiarray input named input")
        }
        let array = try MLMultiArray(shape: constraint.shape, dataType: constraint.dataType)
        for i in 0..<array.count {
            array[i] = NSNumber(value: Double.random(in: -1...1))
        }
        return try MLDictionaryFeatureProvider(dictionary: ["input": MLFeatureValue(multiArray: array)])
    }

    private static func record(settings: EdgespecSettings, entry: EdgespecSettings.Model, times: [Double]) throws -> String {
        var fields: [String: Any] = [
            "schema": "edgespec-measurement/v1",
            "hardware": settings.hardware,
            "model": entry.model,
            "precision": entry.precision,
            "p50_ms": percentile(times, 50),
            "samples": times.count,
            "tool": "edgespec-bench",
            "notes": "Core ML \(entry.name) on \(settings.compute_units)",
        ]
        if times.count >= 20 { fields["p95_ms"] = percentile(times, 95) }
        if times.count >= 100 { fields["p99_ms"] = percentile(times, 99) }
        if let digest = entry.sha256 { fields["sha256"] = digest }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        fields["date"] = formatter.string(from: Date())
        let data = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
