// The app side of an edgespec Core ML bundle: the converted models on the Neural Engine, and per
// workload what the plan chose (on-device, or a cascade that escalates to the remote tier when the
// model is unsure). Settings come from coreml.json in the app's bundle; this code is the same for
// every deployment.
//
//     let runtime = try EdgespecRuntime(remote: URL(string: "https://infer.example.com/v1/infer"),
//                                       remoteToken: token, telemetryHeaders: ["Authorization": "Bearer ..."])
//     let answer = try await runtime.workload("checkout").infer(input)   // input: MLMultiArray
//     let answer = try await runtime.workload("checkout").infer(image: jpeg, contentType: "image/jpeg")
//
// Where the spec declares an image input, infer(image:) decodes it as edgespec's gateways do (RGB,
// resized to the input's size, scaled to [0, 1] and normalised for float inputs, NCHW or NHWC), and
// a cascade forwards the image as it came, the bytes the plan's network figures count. A cascade
// calls the remote tier over HTTPS only (a plain http:// remote is refused unless it is this device
// itself), as edgespec's device routers do; if the remote fails or times out, the local answer
// comes back with `degraded == true`.

import CoreGraphics
import CoreML
import Foundation
import ImageIO

public enum EdgespecError: Error, CustomStringConvertible {
    case missingResource(String)
    case unknownWorkload(String)
    case badInput(String)
    case badOutput(String)
    case insecureRemote(String)

    public var description: String {
        switch self {
        case .missingResource(let name): return "edgespec: \(name) is not in the app's bundle (add it to the target)"
        case .unknownWorkload(let name): return "edgespec: no workload \(name) in coreml.json"
        case .badInput(let why): return "edgespec: input: \(why)"
        case .badOutput(let why): return "edgespec: output: \(why)"
        case .insecureRemote(let url): return "edgespec: \(url) is not https (inputs never cross a network in clear text)"
        }
    }
}

/// coreml.json, as the runtime reads it.
public struct EdgespecSettings: Decodable {
    public struct Deployment: Decodable {
        public let name: String
        public let version: String
    }

    public struct Model: Decodable {
        public let name: String
        public let model: String
        public let precision: String
        public let sha256: String?  // the declared digest of the source the model was converted from
    }

    /// An image input (the spec's `input.encoding`), as the gateways decode it.
    public struct Image: Decodable {
        public let encoding: String
        public let layout: String  // "NCHW" | "NHWC"
        public let channels: Int
        public let height: Int
        public let width: Int
        public let dtype: String
        public let mean: [Double]?
        public let std: [Double]?
        public let max_bytes: Int
    }

    public struct Workload: Decodable {
        public let workload: String
        public let mode: String  // "on-device" | "cascade"
        public let model: String
        public let input: Image?
        public let confidence_below: Double?
        public let offline: String?
        public let remote_target: String?
        public let remote_timeout_ms: Int?
    }

    public struct Telemetry: Decodable {
        public let endpoint: String
        public let interval_s: Int
        public let sample_rate: Double
        public let spool_limit: Int
    }

    public let target: String
    public let hardware: String
    public let compute_units: String
    public let deployment: Deployment
    public let models: [Model]
    public let workloads: [Workload]
    public let telemetry: Telemetry?

    public static func load(from bundle: Bundle = .main) throws -> EdgespecSettings {
        guard let url = bundle.url(forResource: "coreml", withExtension: "json") else {
            throw EdgespecError.missingResource("coreml.json")
        }
        return try JSONDecoder().decode(EdgespecSettings.self, from: Data(contentsOf: url))
    }

    /// The compute units the plan's figures assume: the Neural Engine, with the CPU for the ops it
    /// cannot run.
    public var computeUnits: MLComputeUnits {
        switch compute_units {
        case "CPU_ONLY": return .cpuOnly
        case "CPU_AND_GPU": return .cpuAndGPU
        case "ALL": return .all
        default: return .cpuAndNeuralEngine
        }
    }
}

/// One converted model (Xcode compiles <name>.mlpackage into <name>.mlmodelc in the app's bundle),
/// called with a typed input and output: one MLMultiArray in ("input"), one out ("output").
public final class EdgespecModel {
    public let name: String
    private let model: MLModel

    public init(named name: String, computeUnits: MLComputeUnits, bundle: Bundle = .main) throws {
        guard let url = bundle.url(forResource: name, withExtension: "mlmodelc") else {
            throw EdgespecError.missingResource("\(name).mlmodelc")
        }
        let configuration = MLModelConfiguration()
        configuration.computeUnits = computeUnits
        self.name = name
        self.model = try MLModel(contentsOf: url, configuration: configuration)
    }

    public func predict(_ input: MLMultiArray) throws -> MLMultiArray {
        let features = try MLDictionaryFeatureProvider(dictionary: ["input": MLFeatureValue(multiArray: input)])
        let result = try model.prediction(from: features)
        guard let output = result.featureValue(for: "output")?.multiArrayValue else {
            throw EdgespecError.badOutput("\(name) has no multiarray named output")
        }
        return output
    }
}

/// What a workload answered, and where.
public struct EdgespecAnswer {
    public enum Source: String { case local, remote }
    public let source: Source
    /// The local model's output (on-device, or a cascade that did not escalate or could not).
    public let output: MLMultiArray?
    /// The remote tier's answer (JSON), when the cascade escalated and it answered.
    public let remote: Data?
    public let confidence: Double?
    /// The remote was wanted but failed or timed out: this is the local answer.
    public let degraded: Bool
}

/// The top-class probability of an output; logits go through a softmax first (whose top is
/// 1 / sum(exp(s - max))), as edgespec's routers compute it. One pass over the output.
public func edgespecConfidence(_ output: MLMultiArray) -> Double {
    let n = output.count
    if n == 0 { return 0 }
    var top = -Double.infinity, low = Double.infinity, sum = 0.0
    for i in 0..<n {
        let s = output[i].doubleValue
        top = max(top, s); low = min(low, s); sum += s
    }
    if low < 0 || top > 1 || abs(sum - 1) > 1e-3 {
        var z = 0.0
        for i in 0..<n { z += exp(output[i].doubleValue - top) }
        return 1 / z
    }
    return top
}

public final class EdgespecWorkload {
    public let settings: EdgespecSettings.Workload
    private let model: EdgespecModel
    private let remote: URL?
    private let remoteToken: String?
    private let telemetry: EdgespecTelemetry?
    private let session: URLSession

    init(settings: EdgespecSettings.Workload, model: EdgespecModel, remote: URL?, remoteToken: String?,
         telemetry: EdgespecTelemetry?) throws {
        if let remote = remote, remote.scheme != "https",
           !(remote.scheme == "http" && ["127.0.0.1", "localhost", "::1"].contains(remote.host ?? "")) {
            throw EdgespecError.insecureRemote(remote.absoluteString)
        }
        self.settings = settings
        self.model = model
        self.remote = remote
        self.remoteToken = remoteToken
        self.telemetry = telemetry
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = Double(settings.remote_timeout_ms ?? 1000) / 1000
        self.session = URLSession(configuration: configuration)
    }

    /// An encoded image (JPEG or PNG) as the model's input tensor, decoded as the gateways decode it.
    public func tensor(fromImage data: Data) throws -> MLMultiArray {
        guard let spec = settings.input else { throw EdgespecError.badInput("\(settings.workload) takes a tensor") }
        guard data.count <= spec.max_bytes,
              let source = CGImageSourceCreateWithData(data as CFData, nil),
              let image = CGImageSourceCreateImageAtIndex(source, 0, nil) else {
            throw EdgespecError.badInput("not a readable image of at most \(spec.max_bytes) bytes")
        }
        let (w, h, c) = (spec.width, spec.height, spec.channels)
        var pixels = [UInt8](repeating: 0, count: w * h * 4)
        let drawn: Bool = pixels.withUnsafeMutableBytes { buffer in
            guard let context = CGContext(data: buffer.baseAddress, width: w, height: h, bitsPerComponent: 8,
                                          bytesPerRow: w * 4, space: CGColorSpaceCreateDeviceRGB(),
                                          bitmapInfo: CGImageAlphaInfo.noneSkipLast.rawValue) else { return false }
            context.interpolationQuality = .high
            context.draw(image, in: CGRect(x: 0, y: 0, width: w, height: h))
            return true
        }
        if !drawn { throw EdgespecError.badInput("cannot draw the image at \(w)x\(h)") }
        let shape = spec.layout == "NCHW" ? [1, c, h, w] : [1, h, w, c]
        let array = try MLMultiArray(shape: shape.map { NSNumber(value: $0) },
                                     dataType: spec.dtype == "float16" ? .float16 : .float32)
        for y in 0..<h {
            for x in 0..<w {
                let p = (y * w + x) * 4
                for ch in 0..<c {
                    // one channel: the luma of the RGB pixel (ITU-R 601-2, as Pillow's "L")
                    var v = c == 1 ? 0.299 * Double(pixels[p]) + 0.587 * Double(pixels[p + 1]) + 0.114 * Double(pixels[p + 2])
                                   : Double(pixels[p + ch])
                    if spec.dtype != "uint8" {
                        v /= 255
                        if let mean = spec.mean, let std = spec.std { v = (v - mean[ch]) / std[ch] }
                    }
                    let index = spec.layout == "NCHW" ? (ch * h + y) * w + x : p / 4 * c + ch
                    array[index] = NSNumber(value: v)
                }
            }
        }
        return array
    }

    /// An image workload: decoded on the device; a cascade forwards the image itself.
    public func infer(image: Data, contentType: String) async throws -> EdgespecAnswer {
        try await infer(try tensor(fromImage: image), escalating: (image, contentType))
    }

    /// Runs the workload as planned: the local model, then (cascade, below the threshold) the remote tier.
    public func infer(_ input: MLMultiArray) async throws -> EdgespecAnswer {
        try await infer(input, escalating: nil)
    }

    private func infer(_ input: MLMultiArray, escalating image: (Data, String)?) async throws -> EdgespecAnswer {
        let start = Date()
        let output: MLMultiArray
        do {
            output = try model.predict(input)
        } catch {
            telemetry?.count("edgespec_errors", workload: settings.workload, ["stage": "local"])
            throw error
        }
        let confidence = edgespecConfidence(output)
        telemetry?.observeConfidence(workload: settings.workload, confidence)
        var answer = EdgespecAnswer(source: .local, output: output, remote: nil, confidence: confidence, degraded: false)
        if settings.mode == "cascade", let threshold = settings.confidence_below, confidence < threshold {
            telemetry?.count("edgespec_escalations", workload: settings.workload, [:])
            do {
                let data = try await escalate(input, image: image)
                answer = EdgespecAnswer(source: .remote, output: nil, remote: data, confidence: confidence, degraded: false)
            } catch {
                telemetry?.count("edgespec_errors", workload: settings.workload, ["stage": "remote"])
                answer = EdgespecAnswer(source: .local, output: output, remote: nil, confidence: confidence, degraded: true)
            }
        }
        let outcome = answer.degraded ? "degraded" : answer.source.rawValue
        telemetry?.count("edgespec_requests", workload: settings.workload, ["outcome": outcome])
        telemetry?.observeLatency(workload: settings.workload, Date().timeIntervalSince(start))
        return answer
    }

    /// POST /v1/infer with the image as it came or the raw input tensor (little-endian, the model's
    /// dtype and shape), as the device routers send it to a remote gateway.
    private func escalate(_ input: MLMultiArray, image: (Data, String)?) async throws -> Data {
        guard let remote = remote else { throw EdgespecError.badInput("no remote URL configured for the cascade") }
        var request = URLRequest(url: remote)
        request.httpMethod = "POST"
        request.setValue(image?.1 ?? "application/octet-stream", forHTTPHeaderField: "Content-Type")
        if let token = remoteToken { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let body = image?.0 ?? input.withUnsafeBytes { Data($0) }
        let (data, response) = try await session.upload(for: request, from: body)
        guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
            throw EdgespecError.badOutput("the remote tier answered \((response as? HTTPURLResponse)?.statusCode ?? 0)")
        }
        return data
    }
}

/// Every workload of coreml.json, its models loaded once.
public final class EdgespecRuntime {
    public let settings: EdgespecSettings
    public let telemetry: EdgespecTelemetry?
    private var workloads: [String: EdgespecWorkload] = [:]

    /// remote: the cascade's remote tier (its gateway's /v1/infer), known once it is deployed;
    /// telemetryHeaders: what the OTLP endpoint needs (its token), kept out of the bundle.
    public init(bundle: Bundle = .main, remote: URL? = nil, remoteToken: String? = nil,
                telemetryHeaders: [String: String] = [:]) throws {
        let loaded = try EdgespecSettings.load(from: bundle)
        settings = loaded
        telemetry = loaded.telemetry.map { EdgespecTelemetry(settings: loaded, config: $0, headers: telemetryHeaders) }
        var models: [String: EdgespecModel] = [:]
        for w in loaded.workloads {
            if models[w.model] == nil {
                models[w.model] = try EdgespecModel(named: w.model, computeUnits: loaded.computeUnits, bundle: bundle)
            }
            workloads[w.workload] = try EdgespecWorkload(settings: w, model: models[w.model]!, remote: remote,
                                                         remoteToken: remoteToken, telemetry: telemetry)
        }
    }

    public func workload(_ name: String) throws -> EdgespecWorkload {
        guard let found = workloads[name] else { throw EdgespecError.unknownWorkload(name) }
        return found
    }
}
