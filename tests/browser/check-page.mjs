// Loads one report page (a file) in Debian's headless Chromium and prints, as JSON, what a
// reader sees: the rendered text (innerText), the number of script elements, the
// landmarks and table headers, and every request the page tried to make besides itself.
// Saves a full-page screenshot. Used by rosterctl's browser tests.
//
//   node check-page.mjs PAGE.html SCREENSHOT.png [CHROMIUM]
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const [page, screenshot, executable = "/usr/bin/chromium"] = process.argv.slice(2);
if (!page || !screenshot) {
  console.error("usage: node check-page.mjs PAGE.html SCREENSHOT.png [CHROMIUM]");
  process.exit(2);
}
const url = pathToFileURL(page).href;
const browser = await chromium.launch({
  executablePath: executable,
  // This machine's network is closed: no background connections, no sandbox as root.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const tab = await context.newPage();
  const requests = [];
  const consoleErrors = [];
  tab.on("request", (r) => { if (r.url() !== url) requests.push(r.url()); });
  tab.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  await tab.goto(url, { waitUntil: "load" });
  const seen = await tab.evaluate(() => ({
    title: document.title,
    text: document.body.innerText,
    scripts: document.querySelectorAll("script").length,
    main: document.querySelectorAll("main").length,
    header: document.querySelectorAll("header").length,
    footer: document.querySelectorAll("footer").length,
    columnHeaders: document.querySelectorAll("th[scope=col]").length,
    lang: document.documentElement.lang,
    bodyColor: getComputedStyle(document.body).color,
    bodyBackground: getComputedStyle(document.body).backgroundColor,
  }));
  // The first screen, as a reader opens it (the full page of a 1,000-error report is
  // taller than image viewers show).
  await tab.screenshot({ path: screenshot, fullPage: false });
  console.log(JSON.stringify({ ...seen, requests, consoleErrors }));
} finally {
  await browser.close();
}
