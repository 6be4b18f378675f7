// OTLP/HTTP JSON metrics from the app to the spec's telemetry endpoint (<endpoint>/v1/metrics), with
// the names, buckets and resource attributes edgespec's device routers export, so a rollout's
// queries read phones and fleets alike. Cumulative temporality; exports that fail are kept (at most
// spool_limit of them, oldest dropped first) and sent once the endpoint answers again.
// sample_rate applies per app install: an install outside the sample exports nothing.

import Foundation

public final class EdgespecTelemetry {
    static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
    static let confidenceBuckets: [Double] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]

    private struct Histogram {
        var counts: [UInt64]
        var sum = 0.0
        var count: UInt64 = 0
    }

    private let lock = NSLock()
    private let endpoint: URL
    private let headers: [String: String]
    private let resource: [String: String]
    private let target: String
    private let package: String
    private let interval: TimeInterval
    private let spoolLimit: Int
    private let sampled: Bool
    private let start = UInt64(Date().timeIntervalSince1970 * 1e9)
    private var sums: [String: UInt64] = [:]  // "name\u{1f}workload\u{1f}k=v" -> count
    private var histograms: [String: Histogram] = [:]
    private var spool: [Data] = []
    private var timer: Timer?

    init(settings: EdgespecSettings, config: EdgespecSettings.Telemetry, headers: [String: String]) {
        let base = URL(string: config.endpoint)!
        endpoint = base.appendingPathComponent("v1").appendingPathComponent("metrics")
        self.headers = headers
        target = settings.target
        package = "\(settings.deployment.name)@\(settings.deployment.version)"
        interval = TimeInterval(config.interval_s)
        spoolLimit = config.spool_limit
        sampled = Double.random(in: 0..<1) < config.sample_rate
        let instance = UserDefaults.standard.string(forKey: "edgespec.instance") ?? UUID().uuidString
        UserDefaults.standard.set(instance, forKey: "edgespec.instance")
        resource = ["service.name": "edgespec-app-\(settings.target)", "service.version": package,
                    "service.instance.id": instance, "edgespec.hardware": settings.hardware]
        if sampled {
            timer = Timer.scheduledTimer(withTimeInterval: interval, repeats: true) { [weak self] _ in
                Task { await self?.export() }
            }
        }
    }

    func count(_ name: String, workload: String, _ labels: [String: String]) {
        guard sampled else { return }
        let key = ([name, workload] + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
            .joined(separator: "\u{1f}")
        lock.lock(); sums[key, default: 0] += 1; lock.unlock()
    }

    func observeLatency(workload: String, _ seconds: Double) {
        observe("edgespec_request_duration_seconds", workload: workload, seconds, EdgespecTelemetry.latencyBuckets)
    }

    func observeConfidence(workload: String, _ value: Double) {
        observe("edgespec_confidence", workload: workload, value, EdgespecTelemetry.confidenceBuckets)
    }

    private func observe(_ name: String, workload: String, _ value: Double, _ bounds: [Double]) {
        guard sampled else { return }
        let key = "\(name)\u{1f}\(workload)"
        lock.lock()
        var h = histograms[key] ?? Histogram(counts: Array(repeating: 0, count: bounds.count + 1))
        h.counts[bounds.firstIndex { value <= $0 } ?? bounds.count] += 1
        h.sum += value
        h.count += 1
        histograms[key] = h
        lock.unlock()
    }

    private func attributes(_ pairs: [(String, String)]) -> [[String: Any]] {
        pairs.map { ["key": $0.0, "value": ["stringValue": $0.1]] }
    }

    /// An ExportMetricsServiceRequest (OTLP/JSON) of everything counted so far.
    func request() -> Data {
        let now = String(UInt64(Date().timeIntervalSince1970 * 1e9)), started = String(start)
        var metrics: [String: [String: Any]] = [:]
        var points: [String: [[String: Any]]] = [:]
        lock.lock()
        for (key, value) in sums.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "\u{1f}").map(String.init)
            var labels = [("workload", parts[1]), ("target", target), ("package", package)]
            for part in parts.dropFirst(2) {
                let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
                labels.append((kv[0], kv.count > 1 ? kv[1] : ""))
            }
            metrics[parts[0]] = ["name": "\(parts[0])_total"]
            points[parts[0], default: []].append(["attributes": attributes(labels), "startTimeUnixNano": started,
                                                  "timeUnixNano": now, "asInt": String(value)])
        }
        for (key, h) in histograms.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "\u{1f}").map(String.init)
            let bounds = parts[0].hasSuffix("_seconds") ? EdgespecTelemetry.latencyBuckets : EdgespecTelemetry.confidenceBuckets
            metrics[parts[0]] = parts[0].hasSuffix("_seconds") ? ["name": parts[0], "unit": "s"] : ["name": parts[0]]
            points[parts[0], default: []].append([
                "attributes": attributes([("workload", parts[1]), ("target", target), ("package", package)]),
                "startTimeUnixNano": started, "timeUnixNano": now, "count": String(h.count), "sum": h.sum,
                "bucketCounts": h.counts.map(String.init), "explicitBounds": bounds])
        }
        lock.unlock()
        let listed: [[String: Any]] = metrics.keys.sorted().map { name in
            var m = metrics[name]!
            if m["name"] as? String == "\(name)_total" {
                m["sum"] = ["aggregationTemporality": 2, "isMonotonic": true, "dataPoints": points[name]!]
            } else {
                m["histogram"] = ["aggregationTemporality": 2, "dataPoints": points[name]!]
            }
            return m
        }
        let body: [String: Any] = ["resourceMetrics": [[
            "resource": ["attributes": attributes(resource.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })],
            "scopeMetrics": [["scope": ["name": "edgespec.app"], "metrics": listed]]]]]
        return (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
    }

    /// Sends what the spool holds, oldest first, then the current totals; keeps what fails.
    public func export() async {
        guard sampled else { return }
        lock.lock()
        spool.append(request())
        if spool.count > spoolLimit { spool.removeFirst(spool.count - spoolLimit) }
        let pending = spool
        lock.unlock()
        var sent = 0
        for body in pending {
            var r = URLRequest(url: endpoint)
            r.httpMethod = "POST"
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
            for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
            guard let answered = try? await URLSession.shared.upload(for: r, from: body),
                  let http = answered.1 as? HTTPURLResponse, (200..<300).contains(http.statusCode) else { break }
            sent += 1
        }
        lock.lock(); spool.removeFirst(min(sent, spool.count)); lock.unlock()
    }
}
