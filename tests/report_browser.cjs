// Loads a report page in Debian's Chromium through playwright-core (no browser download) and
// prints what a reviewer's browser would see: console errors and warnings, page errors, every
// request besides the page itself, the topology's nodes and the budget bars in the DOM; it also
// takes a full-page screenshot. Usage: node report_browser.cjs TOOLS_DIR PAGE.html SHOT.png
const path = require("path");
const [, , tools, file, shot] = process.argv;
const { chromium } = require(path.join(tools, "playwright-core"));

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  const page = await browser.newPage();
  const url = "file://" + path.resolve(file);
  const console_ = [];
  const requests = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") console_.push(m.text());
  });
  page.on("pageerror", (e) => console_.push(String(e)));
  page.on("request", (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  await page.goto(url, { waitUntil: "load" });
  const nodes = await page.$$eval("[data-node]", (els) => els.map((e) => e.getAttribute("data-node")));
  const bars = await page.$$eval("svg.bar", (els) => els.map((e) => e.getAttribute("data-workload")));
  const title = await page.title();
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify({ console: console_, requests, nodes, bars, title }));
  await browser.close();
})().catch((e) => {
  console.error(String(e));
  process.exit(1);
});
