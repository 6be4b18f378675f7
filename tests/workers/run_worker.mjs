// Runs a built Worker bundle in workerd (through miniflare) with a stub Workers AI binding, sends
// the requests given as JSON, and prints the responses as JSON. Used by tests/test_emit_workers.py.
//   node run_worker.mjs MINIFLARE_MAIN BUNDLE COMPAT_DATE REQUESTS_JSON [TOKEN]
// TOKEN, when given, is the Worker's EDGESPEC_TOKEN secret (as `wrangler secret put` would set it).
import { pathToFileURL } from "node:url";

const [miniflareMain, bundle, compatibilityDate, requestsJson, token] = process.argv.slice(2);
const { Miniflare } = await import(pathToFileURL(miniflareMain).href);

const stub = `
import { WorkerEntrypoint } from "cloudflare:workers";
export class AiStub extends WorkerEntrypoint {
  async run(model, inputs) {
    if (inputs.prompt === "slow") await new Promise((resolve) => setTimeout(resolve, 5000));
    if (inputs.prompt === "fail") throw new Error("upstream failure");
    return { response: "stub answer", model, inputs };
  }
}
export default { fetch() { return new Response("ai stub"); } };
`;

const mf = new Miniflare({
  workers: [
    { name: "main", modules: true, scriptPath: bundle, compatibilityDate,
      bindings: token === undefined ? {} : { EDGESPEC_TOKEN: token },
      serviceBindings: { AI: { name: "ai-stub", entrypoint: "AiStub" } } },
    { name: "ai-stub", modules: true, script: stub, compatibilityDate },
  ],
});
const results = [];
try {
  for (const r of JSON.parse(requestsJson)) {
    const response = await mf.dispatchFetch(`http://localhost${r.path}`, {
      method: r.method, body: r.body === undefined ? undefined : r.body,
      headers: r.headers || {},
    });
    results.push({ status: response.status, body: await response.json() });
  }
} finally {
  await mf.dispose();
}
console.log(JSON.stringify(results));
