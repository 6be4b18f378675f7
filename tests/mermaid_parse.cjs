// Parses Mermaid sources with the real Mermaid parser (mermaid's own browser bundle from
// tools/node_modules, in Debian's Chromium through playwright-core). Reads a JSON list of sources
// on stdin, prints a JSON list of {ok, error}. Usage: node mermaid_parse.cjs TOOLS_DIR < sources.json
const path = require("path");
const [, , tools] = process.argv;
const { chromium } = require(path.join(tools, "playwright-core"));

(async () => {
  const sources = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  const page = await browser.newPage();
  await page.setContent("<!DOCTYPE html><html><body></body></html>");
  await page.addScriptTag({ path: path.join(tools, "mermaid", "dist", "mermaid.min.js") });
  const results = await page.evaluate(async (all) => {
    const out = [];
    for (const src of all) {
      try {
        await mermaid.parse(src);
        out.push({ ok: true });
      } catch (e) {
        out.push({ ok: false, error: String(e && e.message ? e.message : e) });
      }
    }
    return out;
  }, sources);
  console.log(JSON.stringify(results));
  await browser.close();
})().catch((e) => {
  console.error(String(e));
  process.exit(1);
});
