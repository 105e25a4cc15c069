// Drives the HTML review page in headless Chromium for tests/test_review_page.py.
// usage: node review_page_driver.cjs PAGE.html OUTDIR ACTIONS.json
// ACTIONS: [{"click": selector} | {"select": [selector, value]} | {"fill": [selector, value]}]
// Writes OUTDIR/text and OUTDIR/decisions (the two downloads), OUTDIR/screenshot.png and
// OUTDIR/result.json (network requests made, page errors, suggested file names, counts).
"use strict";
const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run"];

async function main() {
  const [pagePath, outDir, actionsPath] = process.argv.slice(2);
  const actions = JSON.parse(fs.readFileSync(actionsPath, "utf8"));
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium", args: ARGS });
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const requests = [], errors = [], suggested = {};
    page.on("request", (r) => { if (!/^(file|blob|data):/.test(r.url())) requests.push(r.url()); });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    await page.goto("file://" + path.resolve(pagePath));
    for (const action of actions) {
      if (action.click) await page.click(action.click);
      if (action.select) await page.selectOption(action.select[0], action.select[1]);
      if (action.fill) await page.fill(action.fill[0], action.fill[1]);
    }
    for (const [button, name] of [["#download-text", "text"], ["#download-decisions", "decisions"]]) {
      const [download] = await Promise.all([page.waitForEvent("download"), page.click(button)]);
      await download.saveAs(path.join(outDir, name));
      suggested[name] = download.suggestedFilename();
    }
    await page.screenshot({ path: path.join(outDir, "screenshot.png") });
    const counts = await page.textContent("#counts");
    const documentText = await page.textContent("#document");
    fs.writeFileSync(path.join(outDir, "result.json"),
                     JSON.stringify({ requests, errors, suggested, counts, documentText }));
  } finally {
    await browser.close();
  }
}
main().catch((error) => { console.error(String(error && error.stack || error)); process.exit(1); });
